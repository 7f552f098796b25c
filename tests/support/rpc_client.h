// A JSON-RPC client over a ChildProcess running `studyhub-sandbox serve`.
#pragma once

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "rpc/framing.h"
#include "support/child_process.h"

namespace studyhub::testing {

using nlohmann::json;
using namespace std::chrono_literals;

std::string binary_path();          // the studyhub-sandbox under test
std::string protocol_dir();         // the repository's protocol/ folder

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class RpcClient {
 public:
  // Starts `studyhub-sandbox [extra_global_args] serve [serve_args]` with a private state dir.
  explicit RpcClient(std::vector<std::string> serve_args = {},
                     std::map<std::string, std::string> env = {});
  // Closes the server's input and lets it end its work (a running build is cancelled), so no
  // build outlives the test; kills it only if it does not exit in time.
  ~RpcClient();

  void send(const json& message);
  void send_raw(std::string_view bytes) { child_.write(bytes); }
  json request(int id, std::string method, json params = json::object(),
               std::chrono::milliseconds timeout = 5s);  // send + await answer
  void notify(std::string method, json params = json::object());
  void initialize();

  // Next message from the server, or nullopt after the timeout / at end of output.
  std::optional<json> next(std::chrono::milliseconds timeout = 5s);
  // Next response with this id; notifications met meanwhile are kept in `seen`.
  std::optional<json> response(const json& id, std::chrono::milliseconds timeout = 5s);

  ChildProcess& process() { return child_; }
  std::deque<json> seen;  // notifications received while waiting for a response

 private:
  TempDir state_;
  ChildProcess child_;
  rpc::FrameReader reader_;
  std::deque<json> ready_;
};

}  // namespace studyhub::testing
