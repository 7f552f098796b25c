// The session in-process over real pipes: dispatch, concurrency, cancellation, progress.
#include "rpc/session.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <set>
#include <thread>

using namespace studyhub::rpc;
using namespace std::chrono_literals;

namespace {

class PipeSession {
 public:
  explicit PipeSession(std::function<void(Session&)> setup) {
    REQUIRE(::pipe(to_server_) == 0);
    REQUIRE(::pipe(from_server_) == 0);
    session_ = std::make_unique<Session>(to_server_[0], from_server_[1]);
    setup(*session_);
    thread_ = std::thread([this] { exit_status = session_->run(); });
  }
  ~PipeSession() {
    close_input();
    thread_.join();
    ::close(to_server_[0]);
    ::close(from_server_[1]);
    ::close(from_server_[0]);
  }
  void close_input() {
    if (to_server_[1] >= 0) ::close(to_server_[1]);
    to_server_[1] = -1;
  }
  void send(const json& m) {
    std::string f = encode_frame(m.dump());
    REQUIRE(::write(to_server_[1], f.data(), f.size()) == static_cast<ssize_t>(f.size()));
  }
  void request(json id, std::string method, json params = json::object()) {
    send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
  }
  json next(std::chrono::milliseconds timeout = 5s) {
    FrameReader::Callbacks cb{.on_message = [&](std::string b) { ready_.push_back(json::parse(b)); },
                              .on_error = [](std::string e) { FAIL("bad frame: " << e); }};
    while (ready_.empty()) {
      pollfd p{from_server_[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return nullptr;
      char buf[4096];
      ssize_t n = ::read(from_server_[0], buf, sizeof buf);
      if (n <= 0) return nullptr;
      reader_.feed(std::string_view(buf, static_cast<size_t>(n)), cb);
    }
    json m = ready_.front();
    ready_.pop_front();
    return m;
  }
  void initialize() {
    request(0, "initialize", {{"capabilities", json::object()}});
    REQUIRE(next().contains("result"));
  }
  std::atomic<int> exit_status{-1};

 private:
  int to_server_[2]{-1, -1}, from_server_[2]{-1, -1};
  std::unique_ptr<Session> session_;
  std::thread thread_;
  FrameReader reader_;
  std::deque<json> ready_;
};

// Waits until cancelled (or 10 s, so a broken cancel fails the test instead of hanging it).
Reply wait_for_cancel(RequestContext& ctx) {
  for (int i = 0; i < 1000 && !ctx.cancelled(); ++i) std::this_thread::sleep_for(10ms);
  if (ctx.cancelled()) return RpcError{code::kRequestCancelled, "cancelled", nullptr};
  return json("not cancelled");
}

}  // namespace

TEST_CASE("a slow request does not block reading — cancel answers it with -32800") {
  PipeSession s([](Session& session) {
    session.on_request("test/slow", Runs::on_worker, wait_for_cancel);
    session.on_request("test/echo", Runs::inline_on_reader,
                       [](RequestContext& ctx) -> Reply { return ctx.params; });
  });
  s.initialize();
  s.request(7, "test/slow");
  s.request(8, "test/echo", {{"x", 1}});
  json echo = s.next();
  CHECK(echo["id"] == 8);
  CHECK(echo["result"]["x"] == 1);
  s.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 7}}}});
  json cancelled = s.next();
  CHECK(cancelled["id"] == 7);
  CHECK(cancelled["error"]["code"] == code::kRequestCancelled);
}

TEST_CASE("cancelling an unknown or finished request is harmless") {
  PipeSession s([](Session&) {});
  s.initialize();
  s.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 99}}}});
  s.send({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"nope", 1}}}});
  s.request(1, "shutdown");
  CHECK(s.next()["id"] == 1);
}

TEST_CASE("answers from many worker threads never interleave") {
  PipeSession s([](Session& session) {
    session.on_request("test/big", Runs::on_worker, [](RequestContext& ctx) -> Reply {
      return json{{"fill", std::string(20000 + ctx.id.get<int>(), 'a' + ctx.id.get<int>() % 26)}};
    });
  });
  s.initialize();
  const int n = 200;
  for (int i = 1; i <= n; ++i) s.request(i, "test/big");
  std::set<int> ids;
  for (int i = 1; i <= n; ++i) {
    json r = s.next();
    REQUIRE(r.is_object());
    int id = r["id"];
    CHECK(r["result"]["fill"].get<std::string>() == std::string(20000 + id, 'a' + id % 26));
    ids.insert(id);
  }
  CHECK(ids.size() == n);
}

TEST_CASE("a handler that throws yields -32603 and the session lives on") {
  PipeSession s([](Session& session) {
    session.on_request("test/throw", Runs::on_worker,
                       [](RequestContext&) -> Reply { throw std::runtime_error("boom"); });
  });
  s.initialize();
  s.request(3, "test/throw");
  json r = s.next();
  CHECK(r["error"]["code"] == code::kInternalError);
  CHECK(r["error"]["message"].get<std::string>().find("boom") != std::string::npos);
  s.request(4, "shutdown");
  CHECK(s.next()["result"].is_null());
}

TEST_CASE("work-done progress: begin, reports with percentages, end, for the client's token") {
  PipeSession s([](Session& session) {
    session.on_request("test/progress", Runs::on_worker, [](RequestContext& ctx) -> Reply {
      auto p = ctx.progress();
      p->begin("Working", "start", 0, true);
      p->report("half", 50);
      p->report("backwards", 20);  // never reported as a decrease
      p->end("done");
      return json(true);
    });
  });
  s.initialize();
  s.request(5, "test/progress", {{"workDoneToken", "tok-1"}});
  std::vector<json> progress;
  json r;
  while ((r = s.next()).contains("method")) progress.push_back(r);
  REQUIRE(progress.size() == 4);
  for (auto& p : progress) {
    CHECK(p["method"] == "$/progress");
    CHECK(p["params"]["token"] == "tok-1");
  }
  CHECK(progress[0]["params"]["value"]["kind"] == "begin");
  CHECK(progress[0]["params"]["value"]["title"] == "Working");
  CHECK(progress[1]["params"]["value"]["percentage"] == 50);
  CHECK(progress[2]["params"]["value"]["percentage"] == 50);
  CHECK(progress[3]["params"]["value"]["kind"] == "end");
  CHECK(r["id"] == 5);
}

TEST_CASE("without a token, progress sends nothing") {
  PipeSession s([](Session& session) {
    session.on_request("test/progress", Runs::on_worker, [](RequestContext& ctx) -> Reply {
      auto p = ctx.progress();
      p->begin("Working", "", 0, false);
      p->end("");
      return json(true);
    });
  });
  s.initialize();
  s.request(5, "test/progress");
  CHECK(s.next()["id"] == 5);
}

TEST_CASE("end of input cancels running work and exits cleanly") {
  std::atomic<bool> saw_cancel{false};
  {
    PipeSession s([&](Session& session) {
      session.on_request("test/slow", Runs::on_worker, [&](RequestContext& ctx) -> Reply {
        Reply r = wait_for_cancel(ctx);
        saw_cancel = ctx.cancelled();
        return r;
      });
    });
    s.initialize();
    s.request(1, "test/slow");
    std::this_thread::sleep_for(50ms);
    s.close_input();
    for (int i = 0; i < 500 && s.exit_status == -1; ++i) std::this_thread::sleep_for(10ms);
    CHECK(s.exit_status == 0);
  }
  CHECK(saw_cancel);
}

TEST_CASE("a duplicate id in flight is refused") {
  PipeSession s([](Session& session) { session.on_request("test/slow", Runs::on_worker, wait_for_cancel); });
  s.initialize();
  s.request(1, "test/slow");
  s.request(1, "test/slow");
  json r = s.next();
  CHECK(r["error"]["code"] == code::kInvalidRequest);
  CHECK(r["error"]["message"].get<std::string>().find("already in use") != std::string::npos);
}
