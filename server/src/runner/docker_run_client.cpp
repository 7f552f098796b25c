#include "runner/docker_run_client.h"

#include <atomic>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/text.h"
#include "core/wait.h"
#include "net/http.h"

namespace studyhub::runner {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// What one request to one builder saw, for its progress steps.
struct Watch {
  const RunObserver* observer = nullptr;
  std::string host;
  bool uploaded = false;
  Clock::time_point upload_done;
  int last_upload_percent = -1;
  int64_t last_wait_second = -1;
  Clock::time_point last_download_report;

  void step(const std::string& name, const std::string& message, int percent) const {
    if (observer->on_step) observer->on_step(name, message, percent);
  }

  // libcurl reports at least once a second even when nothing moves, which is what makes the
  // "building … s" ticks timely.
  void progress(const net::Progress& p) {
    auto now = Clock::now();
    if (!uploaded) {
      if (p.upload_total == 0) return;
      int percent = static_cast<int>(p.upload_now * 100 / p.upload_total);
      if (percent != last_upload_percent) {
        last_upload_percent = percent;
        step("upload", "sending " + human_bytes(p.upload_total) + " to " + host, percent);
      }
      if (p.upload_now >= p.upload_total) {
        uploaded = true;
        upload_done = now;
        step("build", "building on " + host, 0);
      }
      return;
    }
    if (p.download_now == 0) {
      auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - upload_done).count();
      if (waited != last_wait_second) {
        last_wait_second = waited;
        step("build", "building on " + host + "… " + std::to_string(waited) + " s", 0);
      }
      return;
    }
    if (now - last_download_report >= std::chrono::milliseconds(200) ||
        (p.download_total > 0 && p.download_now == p.download_total)) {
      last_download_report = now;
      int percent = p.download_total > 0 ? static_cast<int>(p.download_now * 100 / p.download_total) : 0;
      step("download", "receiving the answer (" + human_bytes(p.download_now) + ")", percent);
    }
  }
};

// How one request to one builder ended.
struct Attempt {
  Result<RunResult> result;
  enum class Next { done, other_builder, busy } next = Next::done;  // the last two: no build can have started
  std::optional<int> retry_after;                                    // seconds, with `busy`
};

Attempt failure(std::string message, Attempt::Next next = Attempt::Next::done) {
  return {Error{std::move(message)}, next, std::nullopt};
}

// The {"error", "message"} of a docker-run error body, when it is one.
std::pair<std::string, std::string> error_body(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return {};
  auto text = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return {text("error"), text("message")};
}

std::string excerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 120)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  return out + (body.size() > 120 ? "…" : "");
}

Attempt interpret_status(const net::Response& r, const std::string& host, const DockerRunConfig& config, uint64_t sent) {
  auto [code, message] = error_body(r.body);
  std::string detail = !message.empty() ? message : excerpt(r.body);
  long status = r.status;
  if (status == 401)
    return failure(host + " rejected the access token (401); set the right one in STUDYHUB_SANDBOX_TOKEN or with "
                          "\"Studyhub: Set docker-run Access Token\"");
  if (status == 413)
    return failure(host + " refused the request as too large (413) at " + human_bytes(sent) +
                   "; leave big assets out with .sandboxignore, or ask the operator to raise the service's body limit");
  if (code == kTimeLimitCode)
    return failure("the build ran longer than " + host +
                   " allows (limits.execution_time); its RUN_MAX_EXECUTION_TIME is too low for an npm build — ask "
                   "its operator to raise it (a React build needs minutes; 900 s is safe)");
  if (code == kOutputLimitCode)
    return failure("the build's output was larger than " + host +
                   " allows (limits.read.size); its RUN_MAX_OUTPUT_SIZE must hold the base64 site plus the npm "
                   "log — ask its operator to raise it (64 MiB is safe)");
  if (code == "docker.container.create")
    return failure(host + " could not start a container from the image '" + config.image + "' (" + detail +
                   "); is the image pulled there? Set dockerRun.image to one it has");
  if (code == "access_token") return failure(host + " rejected the access token (" + detail + ")");
  if (status == 503)
    return {Error{host + " is busy (HTTP 503" + (detail.empty() ? "" : ": " + detail) + "); try again later"},
            Attempt::Next::busy, r.retry_after()};
  if (status == 502 || status == 504)
    return failure(host + " is unavailable (HTTP " + std::to_string(status) + (detail.empty() ? "" : ": " + detail) +
                       "); try again later",
                   Attempt::Next::other_builder);
  if (status >= 300 && status < 400)
    return failure(host + " answered with a redirect (HTTP " + std::to_string(status) +
                   "), which is not followed so the access token reaches no other host; set dockerRun.url to the "
                   "final address");
  return failure(host + " answered HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code) +
                 (detail.empty() ? "" : ": " + detail));
}

Attempt interpret_transport(const net::TransportError& e, const std::string& host, const DockerRunConfig& config) {
  using net::Failure;
  switch (e.kind) {
    case Failure::cancelled:
      return {cancelled_error()};
    case Failure::refused:
      return failure("cannot connect to " + host + " (" + e.detail + "); is the docker-run service running there?",
                     Attempt::Next::other_builder);
    case Failure::resolve:
      return failure("cannot find the host " + host + " (DNS lookup failed); check the docker-run URL");
    case Failure::connect_timeout:
      return failure("cannot connect to " + host + " within " + std::to_string(config.connect_timeout.count()) +
                     " s; check the URL and the network");
    case Failure::timeout:
      return failure(host + " did not answer within " + std::to_string(config.timeout.count()) +
                     " s; raise dockerRun.timeoutSeconds in .studyhub-sandbox.json if its builds need longer");
    case Failure::too_large:
      return failure(host + "'s answer is larger than " + human_bytes(config.max_response_bytes) +
                     "; the built site is too big to take back");
    case Failure::tls:
      return failure("the secure connection to " + host + " failed (" + e.detail +
                     "); check that the URL's certificate is valid for that name");
    case Failure::broken:
      return failure("the connection to " + host + " broke before the whole answer arrived (" + e.detail +
                     "); the build may have run — publish again, and if it keeps happening check the service and "
                     "any proxy or load balancer in between");
    case Failure::other:
      break;
  }
  return failure("the request to " + host + " failed: " + e.detail);
}

Attempt attempt_once(const std::string& body, const std::string& url, const DockerRunConfig& config,
                     const RunObserver& observer) {
  const std::string host = url_host(url);
  Watch watch{.observer = &observer, .host = host};
  auto answer = net::perform({.method = "POST",
                              .url = url + "/run",
                              .headers = {"X-Access-Token: " + config.token, "Content-Type: application/json",
                                          "Accept: application/json"},
                              .body = body,
                              .timeout = config.timeout,
                              .connect_timeout = config.connect_timeout,
                              .max_response_bytes = config.max_response_bytes,
                              .on_data = {},
                              .on_progress = [&](const net::Progress& p) { watch.progress(p); },
                              .stop = observer.stop});
  if (!answer) return interpret_transport(answer.error(), host, config);
  if (answer->status != 200) return interpret_status(answer.value(), host, config, body.size());
  json j = json::parse(answer->body, nullptr, false);
  if (j.is_discarded()) {
    if (answer->body.empty()) return failure(host + " answered with an empty body instead of a run result");
    return failure(host + "'s answer is not JSON (it starts \"" + excerpt(answer->body).substr(0, 40) +
                   "\"); is the URL a docker-run service?");
  }
  auto result = run_result_from_json(j);
  if (!result) return failure(host + "'s answer is not a code-runner result: " + result.error().message);
  return {std::move(result.value())};
}

// Requests are spread over a fleet: each client starts at the next builder.
std::atomic<size_t> next_builder{0};

}  // namespace

std::string docker_run_request_body(const std::string& image, const Payload& payload) {
  return json{{"image", image}, {"payload", to_json(payload)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

DockerRunClient::DockerRunClient(DockerRunConfig config) : config_(std::move(config)) {}

std::string DockerRunClient::where() const {
  if (config_.urls.empty()) return "the docker-run service";
  std::string first = url_host(config_.urls.front());
  return config_.urls.size() == 1 ? first : first + " (and " + std::to_string(config_.urls.size() - 1) + " more builders)";
}

Result<RunResult> DockerRunClient::run(const Payload& payload, const RunObserver& observer) {
  if (config_.urls.empty()) return Error{"no docker-run URL is set"};
  std::string body = docker_run_request_body(config_.image, payload);
  if (body.size() > config_.max_request_bytes)
    return Error{"the build request is " + human_bytes(body.size()) + ", over the " + human_bytes(config_.max_request_bytes) +
                 " a docker-run service accepts (its JSON body limit); leave big assets out with .sandboxignore, or "
                 "raise dockerRun.maxRequestBytes in .studyhub-sandbox.json if your service takes more"};
  const size_t n = config_.urls.size();
  const size_t first = next_builder++ % n;
  std::mt19937 jitter(std::random_device{}());
  auto busy_deadline = Clock::now() + config_.max_busy_wait * 5;  // Retry-After waits, all told
  auto say = [&](const std::string& message) {
    if (observer.on_step) observer.on_step("upload", message, 0);
  };
  auto wait = [&](std::chrono::milliseconds how_long) { return wait_for(observer.stop, how_long); };
  for (int round = 0;; ++round) {
    // One pass over the fleet: a builder that refuses connections or is busy passes the request on.
    Attempt last{Error{"no builder answered"}};
    std::optional<int> shortest_busy;
    for (size_t k = 0; k < n; ++k) {
      const std::string& url = config_.urls[(first + k) % n];
      last = attempt_once(body, url, config_, observer);
      if (last.next == Attempt::Next::done) return std::move(last.result);
      if (last.next == Attempt::Next::busy)
        shortest_busy = std::min(shortest_busy.value_or(INT32_MAX), last.retry_after.value_or(1));
      if (k + 1 < n) say(last.result.error().message + " — trying " + url_host(config_.urls[(first + k + 1) % n]));
    }
    if (shortest_busy && Clock::now() < busy_deadline) {
      // Every builder is busy: come back when the soonest said, with jitter so a crowd of clients
      // does not return at the same instant, within a bound.
      int base = std::clamp(*shortest_busy, 1, static_cast<int>(config_.max_busy_wait.count()));
      auto pause = std::chrono::milliseconds(base * 1000 + static_cast<int>(jitter() % static_cast<unsigned>(base * 250 + 1)));
      char when[48];
      std::snprintf(when, sizeof when, "%.1f", static_cast<double>(pause.count()) / 1000.0);
      say((n == 1 ? "builder busy" : "all " + std::to_string(n) + " builders busy") + std::string(", retrying in ") + when + " s");
      if (!wait(pause)) return cancelled_error();
      continue;
    }
    if (shortest_busy || round >= config_.retries) return std::move(last.result);
    auto pause = config_.first_backoff * (1 << round);
    char when[96];
    std::snprintf(when, sizeof when, " — trying again in %.1f s (attempt %d of %d)",
                  static_cast<double>(pause.count()) / 1000.0, round + 2, config_.retries + 1);
    say(last.result.error().message + when);
    if (!wait(pause)) return cancelled_error();
  }
}

}  // namespace studyhub::runner
