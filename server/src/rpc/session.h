// A JSON-RPC 2.0 session over a pair of file descriptors with LSP framing and lifecycle.
//
// The reading thread never waits for a request to finish: handlers registered to run on a
// worker execute on a small pool, each with a stop_token that $/cancelRequest trips. Quick
// handlers run inline, in arrival order. Whatever thread answers, MessageWriter keeps frames whole.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <unordered_map>

#include "core/error.h"
#include "rpc/framing.h"
#include "rpc/message.h"
#include "rpc/progress.h"
#include "rpc/writer.h"

namespace boost::asio {
class thread_pool;
}

namespace studyhub::rpc {

class Session;

// What a handler sees of its request.
struct RequestContext {
  json id;
  std::string method;
  json params;  // always an object or array (an empty object when absent)
  std::stop_token stop;
  Session* session = nullptr;

  bool cancelled() const { return stop.stop_requested(); }
  // Progress bound to params.workDoneToken (inactive when the client gave none).
  std::unique_ptr<WorkDoneProgress> progress() const;
};

using Reply = Result<json, RpcError>;
using RequestHandler = std::function<Reply(RequestContext&)>;
using NotificationHandler = std::function<void(const json& params)>;

enum class Runs { inline_on_reader, on_worker };

struct SessionOptions {
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  // Each running or waiting publish holds one (it blocks until its job is done), so this bounds
  // how many publishes one session can have in flight before further requests wait unreported.
  unsigned worker_threads = 16;
};

class Session {
 public:
  Session(int in_fd, int out_fd, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Registration happens before run().
  void on_request(std::string method, Runs runs, RequestHandler handler);
  void on_notification(std::string method, NotificationHandler handler);
  // Builds the initialize result from the client's initialize params.
  void on_initialize(std::function<Reply(const json& params)> handler);

  // Serves until exit or end of input; returns the process exit status LSP prescribes.
  int run();

  // Server-to-client traffic, callable from any thread.
  void notify(std::string_view method, json params);
  void log_message(MessageType type, std::string_view text);
  MessageWriter& writer() { return writer_; }

  // Requests currently being handled: [{id, method}], for sandbox/status.
  json in_flight() const;

 private:
  enum class Phase { uninitialized, running, shutting_down };

  void handle_body(std::string body);
  void handle_request(Incoming in);
  void handle_notification(const Incoming& in);
  void cancel(const json& id);
  void finish(const json& id, Reply reply);

  int in_fd_;
  MessageWriter writer_;
  SessionOptions options_;
  FrameReader reader_;
  std::unique_ptr<boost::asio::thread_pool> pool_;

  struct Method {
    Runs runs;
    RequestHandler handler;
  };
  std::map<std::string, Method, std::less<>> requests_;
  std::map<std::string, NotificationHandler, std::less<>> notifications_;
  std::function<Reply(const json&)> initialize_;

  Phase phase_ = Phase::uninitialized;
  bool exit_requested_ = false;

  struct Running {
    std::string method;
    std::stop_source stop;
  };
  mutable std::mutex running_mutex_;
  std::unordered_map<std::string, Running> running_;  // keyed by id.dump()
};

}  // namespace studyhub::rpc
