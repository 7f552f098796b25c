#include "rpc/session.h"

#include <unistd.h>

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace studyhub::rpc {

std::unique_ptr<WorkDoneProgress> RequestContext::progress() const {
  json token = params.is_object() ? params.value("workDoneToken", json()) : json();
  if (!token.is_string() && !token.is_number_integer()) token = nullptr;
  return std::make_unique<WorkDoneProgress>(&session->writer(), std::move(token));
}

Session::Session(int in_fd, int out_fd, SessionOptions options)
    : in_fd_(in_fd),
      writer_(out_fd),
      options_(options),
      reader_(FrameReader::Options{.max_body_bytes = options.max_message_bytes}),
      pool_(std::make_unique<boost::asio::thread_pool>(std::max(1u, options.worker_threads))) {}

Session::~Session() {
  pool_->join();
}

void Session::on_request(std::string method, Runs runs, RequestHandler handler) {
  requests_[std::move(method)] = Method{runs, std::move(handler)};
}

void Session::on_notification(std::string method, NotificationHandler handler) {
  notifications_[std::move(method)] = std::move(handler);
}

void Session::on_initialize(std::function<Reply(const json&)> handler) {
  initialize_ = std::move(handler);
}

void Session::notify(std::string_view method, json params) {
  writer_.send(make_notification(method, std::move(params)));
}

void Session::log_message(MessageType type, std::string_view text) {
  notify("window/logMessage", json{{"type", static_cast<int>(type)}, {"message", text}});
}

json Session::in_flight() const {
  std::lock_guard lock(running_mutex_);
  json out = json::array();
  for (const auto& [key, r] : running_) out.push_back({{"id", json::parse(key)}, {"method", r.method}});
  return out;
}

int Session::run() {
  FrameReader::Callbacks callbacks{
      .on_message = [this](std::string body) { handle_body(std::move(body)); },
      .on_error =
          [this](std::string problem) {
            log::warn("framing: " + problem);
            log_message(MessageType::warning, "studyhub-sandbox: " + problem);
          },
  };
  std::string buffer(64 * 1024, '\0');
  while (!exit_requested_) {
    ssize_t n = ::read(in_fd_, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      log::error(std::string("reading the client's messages failed: ") + std::strerror(errno));
      break;
    }
    if (n == 0) {
      if (reader_.mid_message()) log::warn("input ended in the middle of a message");
      log::info("end of input: the client is gone, shutting down");
      break;
    }
    reader_.feed(std::string_view(buffer.data(), static_cast<size_t>(n)), callbacks);
  }
  {
    std::lock_guard lock(running_mutex_);
    for (auto& [id, r] : running_) r.stop.request_stop();
  }
  pool_->join();
  if (!exit_requested_) return 0;  // end of input is a clean exit
  return phase_ == Phase::shutting_down ? 0 : 1;
}

void Session::handle_body(std::string body) {
  json message = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) {
    log::warn("parse error in a " + std::to_string(body.size()) + "-byte message");
    writer_.send(make_error(nullptr, {code::kParseError, "the message is not valid JSON", nullptr}));
    return;
  }
  Incoming in = classify(message);
  switch (in.kind) {
    case Incoming::Kind::invalid:
      writer_.send(make_error(in.id, in.error));
      return;
    case Incoming::Kind::response:
      log::debug("ignoring a response from the client; this server sends no requests");
      return;
    case Incoming::Kind::notification:
      handle_notification(in);
      return;
    case Incoming::Kind::request:
      handle_request(std::move(in));
      return;
  }
}

void Session::handle_notification(const Incoming& in) {
  if (in.method == "exit") {
    exit_requested_ = true;
    return;
  }
  if (phase_ == Phase::uninitialized) return;  // LSP: notifications before initialize are dropped
  if (in.method == "initialized") return;
  if (in.method == "$/cancelRequest") {
    if (in.params.is_object()) {
      auto id = in.params.find("id");
      if (id != in.params.end() && (id->is_number_integer() || id->is_string())) {
        cancel(*id);
        return;
      }
    }
    log::warn("$/cancelRequest without a valid params.id was ignored");
    return;
  }
  auto found = notifications_.find(in.method);
  if (found == notifications_.end()) {
    log::debug("ignoring notification " + in.method);
    return;
  }
  try {
    found->second(in.params);
  } catch (const std::exception& e) {
    log::error("notification " + in.method + " failed: " + e.what());
  }
}

void Session::cancel(const json& id) {
  std::lock_guard lock(running_mutex_);
  auto it = running_.find(id.dump());
  if (it == running_.end()) {
    log::debug("cancel for " + id.dump() + " which is not running");
    return;
  }
  it->second.stop.request_stop();
}

void Session::finish(const json& id, Reply reply) {
  {
    std::lock_guard lock(running_mutex_);
    running_.erase(id.dump());
  }
  writer_.send(reply.ok() ? make_result(id, std::move(reply).value()) : make_error(id, reply.error()));
}

namespace {
// Handlers report failure as values; an exception is a bug, reported as -32603, never a crash.
Reply call_guarded(const RequestHandler& handler, RequestContext& ctx) {
  try {
    if (ctx.cancelled()) return RpcError{code::kRequestCancelled, "the request was cancelled", nullptr};
    return handler(ctx);
  } catch (const std::exception& e) {
    log::error(ctx.method + " failed with an internal error: " + e.what());
    return RpcError{code::kInternalError, "internal error in " + ctx.method + ": " + e.what(), nullptr};
  }
}
}  // namespace

void Session::handle_request(Incoming in) {
  if (in.method == "initialize") {
    if (phase_ != Phase::uninitialized) {
      writer_.send(make_error(in.id, {code::kInvalidRequest, "initialize may be sent only once", nullptr}));
      return;
    }
    if (!in.params.is_object()) {
      writer_.send(make_error(in.id, {code::kInvalidParams, "params must be an object", nullptr}));
      return;
    }
    Reply reply = initialize_ ? initialize_(in.params) : Reply(json::object());
    if (reply.ok()) phase_ = Phase::running;
    writer_.send(reply.ok() ? make_result(in.id, std::move(reply).value()) : make_error(in.id, reply.error()));
    return;
  }
  if (phase_ == Phase::uninitialized) {
    writer_.send(make_error(in.id, {code::kServerNotInitialized,
                                    "the server is not initialized; send initialize first", nullptr}));
    return;
  }
  if (phase_ == Phase::shutting_down) {
    writer_.send(make_error(in.id, {code::kInvalidRequest,
                                    "the server is shutting down; only exit is accepted now", nullptr}));
    return;
  }
  if (in.method == "shutdown") {
    phase_ = Phase::shutting_down;
    {
      std::lock_guard lock(running_mutex_);
      for (auto& [id, r] : running_) r.stop.request_stop();
    }
    writer_.send(make_result(in.id, nullptr));
    return;
  }
  auto found = requests_.find(in.method);
  if (found == requests_.end()) {
    writer_.send(make_error(in.id, {code::kMethodNotFound, "unknown method '" + in.method + "'", nullptr}));
    return;
  }
  auto ctx = std::make_shared<RequestContext>();
  ctx->id = in.id;
  ctx->method = in.method;
  ctx->params = in.params.is_null() ? json::object() : std::move(in.params);
  ctx->session = this;
  {
    std::lock_guard lock(running_mutex_);
    auto [it, inserted] = running_.try_emplace(in.id.dump(), Running{in.method, {}});
    if (!inserted) {
      writer_.send(make_error(in.id, {code::kInvalidRequest,
                                      "request id " + in.id.dump() + " is already in use", nullptr}));
      return;
    }
    ctx->stop = it->second.stop.get_token();
  }
  const RequestHandler& handler = found->second.handler;
  if (found->second.runs == Runs::inline_on_reader) {
    finish(ctx->id, call_guarded(handler, *ctx));
    return;
  }
  boost::asio::post(*pool_, [this, ctx, &handler] { finish(ctx->id, call_guarded(handler, *ctx)); });
}

}  // namespace studyhub::rpc
