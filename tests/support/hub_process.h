// A real `studyhub-sandbox hub serve` (or `hub worker`) as a child process for tests: on a free
// loopback port, its log in a file (so a chatty hub never blocks on a full pipe), stopped with
// SIGTERM when the test ends.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/fs_helpers.h"
#include "support/http_client.h"
#include "support/rpc_client.h"

namespace studyhub::testing {

class HubProcess {
 public:
  // `hub serve --database D --data DATA --port 0 --log-level info [flags]` (mode "worker": `hub worker`).
  HubProcess(const std::string& database, const std::string& data_dir, std::vector<std::string> flags = {},
             std::map<std::string, std::string> env = {}, const std::string& mode = "serve");
  ~HubProcess();

  const std::string& url() const { return url_; }  // "" for a worker
  pid_t pid() const { return child_->pid(); }
  std::string log() const;
  // SIGTERM, then waits; answers the exit status (nullopt when it did not exit in time).
  std::optional<int> terminate(std::chrono::seconds wait = std::chrono::seconds(40));
  void kill9();

 private:
  std::unique_ptr<ChildProcess> child_;
  std::string url_, log_path_;
  TempDir tmp_;
  bool gone_ = false;
};

// `hub user add NAME` against the database; answers the token.
std::string hub_user_add(const std::string& database, const std::string& name);

// One request to a hub's API: method, path ("/v1/…"), the token (or ""), a body.
struct ApiAnswer {
  long status = 0;
  nlohmann::json body;
  std::map<std::string, std::string> headers;
};
ApiAnswer hub_api(const std::string& base, const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body = "", const std::vector<std::string>& headers = {});

}  // namespace studyhub::testing
