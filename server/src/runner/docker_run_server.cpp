#include "runner/docker_run_server.h"

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/digest.h"
#include "core/version.h"
#include "host/tcp_listen.h"
#include "runner/local_runner.h"

namespace studyhub::runner {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using nlohmann::json;
using Response = http::response<http::string_body>;

namespace {


// One build at a time, first come first served; a bounded number may wait.
class BuildGate {
 public:
  explicit BuildGate(size_t max_waiting) : max_waiting_(max_waiting) {}

  std::optional<uint64_t> enter() {
    std::lock_guard lock(mutex_);
    if (line_.size() > max_waiting_) return std::nullopt;
    line_.push_back(++last_);
    return last_;
  }
  bool wait_turn(uint64_t ticket, std::stop_token stop) {
    std::unique_lock lock(mutex_);
    return changed_.wait(lock, stop, [&] { return line_.front() == ticket; });
  }
  void leave(uint64_t ticket) {
    std::lock_guard lock(mutex_);
    std::erase(line_, ticket);
    changed_.notify_all();
  }
  size_t waiting() const {
    std::lock_guard lock(mutex_);
    return line_.empty() ? 0 : line_.size() - 1;
  }
  void record(std::chrono::milliseconds took) {
    std::lock_guard lock(mutex_);
    recent_.push_back(took);
    if (recent_.size() > 10) recent_.pop_front();
  }
  // When a refused client should come back: the builds in line (and the running one) times the
  // recent average build time, between 1 s and 10 min.
  int retry_after_seconds() const {
    std::lock_guard lock(mutex_);
    std::chrono::milliseconds average{5000};
    if (!recent_.empty()) {
      average = std::chrono::milliseconds(0);
      for (auto d : recent_) average += d;
      average /= static_cast<int>(recent_.size());
    }
    auto wait = average * static_cast<int>(std::max<size_t>(1, line_.size()));
    return static_cast<int>(std::clamp<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(wait).count() + 1, 1, 600));
  }

 private:
  size_t max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<uint64_t> line_;  // front: the running build
  uint64_t last_ = 0;
  std::deque<std::chrono::milliseconds> recent_;  // the last builds' durations
};

struct Shared {
  RunnerServiceOptions options;
  BuildGate gate{options.max_queue};
  // Build threads in flight and their stop sources, so stop() can end them and wait.
  std::mutex builds_mutex;
  std::condition_variable builds_done;
  std::vector<std::stop_source> builds;
  bool stopping = false;

  explicit Shared(RunnerServiceOptions o) : options(std::move(o)) {}
  void log(const std::string& line) const {
    if (options.access_log) options.access_log(line);
  }
};

Response json_response(http::status status, const json& body, unsigned version, bool keep_alive) {
  Response res{status, version};
  res.set(http::field::server, std::string(kServerName) + "-runner/" + kVersion);
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

json error_body(std::string_view code, std::string_view message) { return {{"error", code}, {"message", message}}; }

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared) : stream_(std::move(socket)), shared_(std::move(shared)) {}

  void start() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read, shared_from_this())); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(shared_->options.max_request_bytes);
    parser_->header_limit(64 * 1024);
    // docker-run drops a client that takes over 60 s to send its request.
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) {
      shared_->log("refused a request over " + std::to_string(shared_->options.max_request_bytes) + " bytes (413)");
      return send(json_response(http::status::payload_too_large,
                                error_body("request.size", "the request is larger than this runner's limit of " +
                                                               std::to_string(shared_->options.max_request_bytes) +
                                                               " bytes (--max-request-size)"),
                                11, false));
    }
    if (ec) return close();
    started_ = std::chrono::steady_clock::now();
    handle(parser_->release());
  }

  void send(Response&& res) {
    auto sp = std::make_shared<Response>(std::move(res));
    stream_.expires_after(std::chrono::seconds(60));
    http::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
      if (ec || sp->need_eof()) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  void respond(const http::request<http::string_body>& req, http::status status, const json& body) {
    shared_->log(std::string(req.method_string()) + " " + std::string(req.target()) + " " +
                 std::to_string(static_cast<int>(status)));
    send(json_response(status, body, req.version(), req.keep_alive()));
  }

  bool authorized(const http::request<http::string_body>& req) {
    auto it = req.find("X-Access-Token");
    return it != req.end() && secret_matches(std::string(it->value()), shared_->options.token);
  }

  void handle(http::request<http::string_body> req) {
    std::string_view target(req.target().data(), req.target().size());
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    bool known = target == "/" || target == "/version" || target == "/run";
    if (!known) return respond(req, http::status::not_found, error_body("route.not_found", "Route not found"));
    bool get = req.method() == http::verb::get;
    if ((target == "/run" && req.method() != http::verb::post) || (target != "/run" && !get))
      return respond(req, http::status::method_not_allowed, error_body("route.method", "Method not allowed"));
    if (target == "/")
      return respond(req, http::status::ok,
                     {{"name", "docker-run"},
                      {"version", kVersion},
                      {"description", "studyhub-sandbox runner: the docker-run API, building on this machine"}});
    if (!authorized(req))
      return respond(req, http::status::unauthorized, error_body("access_token", "Missing or wrong access token"));
    if (target == "/version") {
      const auto& o = shared_->options;
      json sandbox{{"isolated", o.isolate}};
      if (o.isolate)
        sandbox.update({{"support", o.support.describe()},
                        {"cgroup", o.support.cgroup},
                        {"network", o.sandbox.network == SandboxOptions::Network::install ? "install"
                                    : o.sandbox.network == SandboxOptions::Network::none  ? "none"
                                                                                          : "all"},
                        {"memoryBytes", o.support.memory_limit ? json(o.sandbox.memory_bytes) : json(nullptr)},
                        {"maxProcesses", o.sandbox.max_processes},
                        {"diskBytes", o.sandbox.disk_bytes}});
      return respond(req, http::status::ok,
                     {{"runner", {{"name", kServerName}, {"version", kVersion}, {"builds", "local"}}},
                      {"sandbox", sandbox},
                      {"queue", {{"waiting", shared_->gate.waiting()}, {"max", o.max_queue}}}});
    }

    json body = json::parse(req.body(), nullptr, false);
    if (!body.is_object() || !body.contains("image") || !body["image"].is_string() || !body.contains("payload"))
      return respond(req, http::status::bad_request,
                     error_body("request.parse", "Failed to parse request body: expected {\"image\": string, \"payload\": object}"));
    auto payload = payload_from_json(body["payload"]);
    if (!payload)
      return respond(req, http::status::bad_request,
                     error_body(payload.error().code.empty() ? "request.parse" : payload.error().code, payload.error().message));
    std::string image = body["image"].get<std::string>();
    const auto& images = shared_->options.images;
    if (!images.empty() && std::find(images.begin(), images.end(), image) == images.end())
      return respond(req, http::status::bad_request,
                     error_body("docker.container.create", "No such image: " + image + " (this runner accepts " +
                                                                 std::to_string(images.size()) + " images; see --image)"));
    start_build(std::move(req), std::move(payload.value()), image);
  }

  void start_build(http::request<http::string_body> req, Payload payload, std::string image);
  Response build(const http::request<http::string_body>& req, const Payload& payload, const std::string& image,
                 uint64_t ticket, std::stop_token stop);

  // While a build runs the connection is only watched: a read that ends means the client left.
  void watch_disconnect() {
    stream_.async_read_some(net::buffer(probe_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!self->building_) return;
      if (ec) {
        self->client_gone_ = true;
        self->stop_.request_stop();
        return;
      }
      self->watch_disconnect();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  std::chrono::steady_clock::time_point started_;
  std::array<char, 1> probe_{};
  bool building_ = false, client_gone_ = false;  // strand only
  std::stop_source stop_;
};

void Session::start_build(http::request<http::string_body> req, Payload payload, std::string image) {
  auto ticket = shared_->gate.enter();
  if (!ticket) {
    int retry = shared_->gate.retry_after_seconds();
    shared_->log("POST /run 503 (queue full: " + std::to_string(shared_->options.max_queue) + " waiting; Retry-After " +
                 std::to_string(retry) + ")");
    auto res = json_response(http::status::service_unavailable,
                             error_body("limits.capacity", std::to_string(shared_->options.max_queue) +
                                                               " builds are already waiting; try again in " +
                                                               std::to_string(retry) + " s"),
                             req.version(), req.keep_alive());
    res.set(http::field::retry_after, std::to_string(retry));
    return send(std::move(res));
  }
  {
    std::lock_guard lock(shared_->builds_mutex);
    if (shared_->stopping) stop_.request_stop();
    shared_->builds.push_back(stop_);
  }
  building_ = true;
  stream_.expires_never();
  watch_disconnect();
  std::thread([self = shared_from_this(), req = std::move(req), payload = std::move(payload), image, t = *ticket]() mutable {
    auto shared = self->shared_;
    auto stop = self->stop_;
    Response res = self->build(req, payload, image, t, stop.get_token());
    net::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
      self->building_ = false;
      beast::error_code ec;
      self->stream_.socket().cancel(ec);  // ends the watch
      if (self->client_gone_) return self->close();
      self->send(std::move(res));
    });
    self.reset();  // the posted handler owns the session now
    std::lock_guard lock(shared->builds_mutex);
    std::erase_if(shared->builds, [&](const std::stop_source& s) { return s == stop; });
    shared->builds_done.notify_all();
  }).detach();
}

Response Session::build(const http::request<http::string_body>& req, const Payload& payload, const std::string& image,
                        uint64_t ticket, std::stop_token stop) {
  struct Leave {
    BuildGate& gate;
    uint64_t ticket;
    ~Leave() { gate.leave(ticket); }
  } leave{shared_->gate, ticket};
  const auto& o = shared_->options;
  auto reply = [&](http::status status, const json& body, const std::string& note) {
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    char took[32];
    std::snprintf(took, sizeof took, "%.1f s", seconds);
    shared_->log("POST /run " + std::to_string(static_cast<int>(status)) + " (" + took + ", " +
                 std::to_string(payload.files.size()) + " files, image " + image + note + ")");
    return json_response(status, body, req.version(), req.keep_alive());
  };
  if (!shared_->gate.wait_turn(ticket, stop)) return reply(http::status::service_unavailable, error_body("cancelled", "client left"), ", left while queued");

  // Same dependencies, same folder: npm's node_modules carries over between builds of one app.
  std::string deps_key = image + "\n" + payload.language + "\n";
  for (const auto& f : payload.files)
    if (f.name == "package.json" || f.name == "package-lock.json") deps_key += f.name + "\n" + f.content + "\n";
  fs::path work_dir = o.state_dir / "runner" / "work" / sha256_hex(deps_key).substr(0, 24);
  std::optional<SandboxRun> sandbox;
  if (o.isolate)
    // A fresh folder each time and no node_modules kept: builds of different clients never share
    // anything a build could have planted.
    sandbox = SandboxRun{.cache_dir = std::nullopt,
                         .options = o.sandbox, .support = o.support, .limits = {}};
  auto build_started = std::chrono::steady_clock::now();
  auto run = run_local(payload, {.work_dir = work_dir,
                                 .limits = {.timeout = o.max_execution, .output_cap = o.max_output_bytes},
                                 .stop = stop,
                                 .on_log = [](std::string_view) {},
                                 .extra_env = {},
                                 .pid_file = o.state_dir / "runner" / "build.pid",
                                 .sandbox = sandbox});
  shared_->gate.record(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - build_started));
  if (!run) {
    const Error& e = run.error();
    if (e.cancelled) return reply(http::status::service_unavailable, error_body("cancelled", "client left"), ", client left: build stopped");
    if (e.code == kTimeLimitCode)
      return reply(http::status::bad_request,
                   error_body(kTimeLimitCode, "Max execution time exceeded (" + std::to_string(o.max_execution.count()) +
                                                  " s, RUN_MAX_EXECUTION_TIME)"), "");
    if (e.code == kOutputLimitCode)
      return reply(http::status::bad_request,
                   error_body(kOutputLimitCode, "Max output size exceeded (" + std::to_string(o.max_output_bytes) +
                                                    " bytes, RUN_MAX_OUTPUT_SIZE)"), "");
    if (e.code == "request.files") return reply(http::status::bad_request, error_body(e.code, e.message), "");
    // The reason names this machine's folders: it goes to the runner's log, not to the client.
    shared_->log("build failed on this runner: " + e.message);
    return reply(http::status::internal_server_error,
                 error_body("coderunner.run", "the runner could not run the build; its operator finds why in the runner's log"),
                 "");
  }
  // The Studyhub fork strips every newline from stdout; so does this runner.
  std::erase(run->stdout_text, '\n');
  return reply(http::status::ok, to_json(run.value()), run->error.empty() ? "" : ", " + run->error);
}

class Listener : public RunnerService {
 public:
  explicit Listener(RunnerServiceOptions o)
      : ioc_(2), acceptor_(net::make_strand(ioc_)), shared_(std::make_shared<Shared>(std::move(o))) {}

  Status listen() {
    const auto& o = shared_->options;
    auto bound = host::listen_on(acceptor_, o.address, o.port, "choose another port with --port or SERVER_LISTEN_PORT");
    if (!bound) return bound;
    port_ = acceptor_.local_endpoint().port();
    return ok_status();
  }
  uint16_t port() const override { return port_; }

  void run() override {
    host::accept_sessions<Session>(acceptor_, ioc_, shared_);
    host::run_on_threads(ioc_, 2);
    // Builds of clients still connected are stopped too: nobody would receive their result.
    std::unique_lock lock(shared_->builds_mutex);
    shared_->stopping = true;
    for (auto& s : shared_->builds) s.request_stop();
    shared_->builds_done.wait(lock, [&] { return shared_->builds.empty(); });
  }
  void stop() override { ioc_.stop(); }

 private:
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<RunnerService>> RunnerService::start(RunnerServiceOptions options) {
  if (options.token.empty())
    return Error{"the runner needs an access token: set STUDYHUB_SANDBOX_TOKEN (or API_ACCESS_TOKEN, as docker-run reads it)"};
  runner::stop_orphaned_build(options.state_dir / "runner" / "build.pid");
  auto listener = std::make_unique<Listener>(std::move(options));
  auto ok = listener->listen();
  if (!ok) return ok.error();
  return std::unique_ptr<RunnerService>(std::move(listener));
}

}  // namespace studyhub::runner
