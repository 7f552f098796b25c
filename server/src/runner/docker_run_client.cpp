#include "runner/docker_run_client.h"

#include <curl/curl.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/text.h"
#include "core/version.h"

namespace studyhub::runner {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// What one transfer saw, filled in by libcurl's callbacks.
struct Transfer {
  const RunObserver* observer = nullptr;
  std::string host;
  std::string body;
  uint64_t max_body = 0;
  bool body_too_large = false;
  bool uploaded = false;
  Clock::time_point upload_done;
  int last_upload_percent = -1;
  int64_t last_wait_second = -1;
  Clock::time_point last_download_report;

  void step(const std::string& name, const std::string& message, int percent) const {
    if (observer->on_step) observer->on_step(name, message, percent);
  }
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->body.size() + n > t->max_body) {
    t->body_too_large = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

// libcurl calls this at least once a second even when nothing moves, which is what makes cancel
// and the "building … s" ticks timely.
int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(user);
  if (t->observer->stop.stop_requested()) return 1;
  auto now = Clock::now();
  if (!t->uploaded) {
    if (ultotal <= 0) return 0;
    int percent = static_cast<int>(ulnow * 100 / ultotal);
    if (percent != t->last_upload_percent) {
      t->last_upload_percent = percent;
      t->step("upload", "sending " + human_bytes(static_cast<uint64_t>(ultotal)) + " to " + t->host, percent);
    }
    if (ulnow >= ultotal) {
      t->uploaded = true;
      t->upload_done = now;
      t->step("build", "building on " + t->host, 0);
    }
    return 0;
  }
  if (dlnow == 0) {
    auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - t->upload_done).count();
    if (waited != t->last_wait_second) {
      t->last_wait_second = waited;
      t->step("build", "building on " + t->host + "… " + std::to_string(waited) + " s", 0);
    }
    return 0;
  }
  if (now - t->last_download_report >= std::chrono::milliseconds(200) || (dltotal > 0 && dlnow == dltotal)) {
    t->last_download_report = now;
    int percent = dltotal > 0 ? static_cast<int>(dlnow * 100 / dltotal) : 0;
    t->step("download", "receiving the answer (" + human_bytes(static_cast<uint64_t>(dlnow)) + ")", percent);
  }
  return 0;
}

struct Attempt {
  Result<RunResult> result;
  bool retryable = false;  // the request cannot have started a build
};

Attempt failure(std::string message, bool retryable = false) { return {Error{std::move(message)}, retryable}; }

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

Attempt interpret_status(long status, const Transfer& t, const DockerRunConfig& config, uint64_t sent) {
  const std::string& host = t.host;
  auto [code, message] = error_body(t.body);
  std::string detail = !message.empty() ? message : excerpt(t.body);
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
  if (status == 502 || status == 503 || status == 504)
    return failure(host + " is unavailable (HTTP " + std::to_string(status) + (detail.empty() ? "" : ": " + detail) +
                       "); try again later",
                   /*retryable=*/true);
  if (status >= 300 && status < 400)
    return failure(host + " answered with a redirect (HTTP " + std::to_string(status) +
                   "), which is not followed so the access token reaches no other host; set dockerRun.url to the "
                   "final address");
  return failure(host + " answered HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code) +
                 (detail.empty() ? "" : ": " + detail));
}

Attempt interpret_curl_error(CURLcode rc, const Transfer& t, const DockerRunConfig& config, const char* errbuf,
                             CURL* curl) {
  const std::string& host = t.host;
  std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
      return {cancelled_error(), false};
    case CURLE_COULDNT_CONNECT:
      return failure("cannot connect to " + host + " (" + why + "); is the docker-run service running there?",
                     /*retryable=*/true);
    case CURLE_COULDNT_RESOLVE_HOST:
      return failure("cannot find the host " + host + " (DNS lookup failed); check the docker-run URL");
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connected = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected);
      if (connected == 0)
        return failure("cannot connect to " + host + " within " + std::to_string(config.connect_timeout.count()) +
                       " s; check the URL and the network");
      return failure(host + " did not answer within " + std::to_string(config.timeout.count()) +
                     " s; raise dockerRun.timeoutSeconds in .studyhub-sandbox.json if its builds need longer");
    }
    case CURLE_WRITE_ERROR:
      if (t.body_too_large)
        return failure(host + "'s answer is larger than " + human_bytes(config.max_response_bytes) +
                       "; the built site is too big to take back");
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return failure("the secure connection to " + host + " failed (" + why +
                     "); check that the URL's certificate is valid for that name");
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
      return failure("the connection to " + host + " broke before the whole answer arrived (" + why +
                     "); the build may have run — publish again, and if it keeps happening check the service and "
                     "any proxy or load balancer in between");
    default:
      break;
  }
  return failure("the request to " + host + " failed: " + why);
}

Attempt attempt_once(const std::string& body, const DockerRunConfig& config, const std::string& host,
                     const RunObserver& observer) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return failure("cannot start an HTTP request (libcurl failed to initialise)");
  CURL* c = curl.get();
  Transfer t{.observer = &observer, .host = host, .body = {}, .max_body = config.max_response_bytes};

  std::string url = config.url + "/run";
  std::string token_header = "X-Access-Token: " + config.token;
  curl_slist* raw_headers = curl_slist_append(nullptr, token_header.c_str());
  raw_headers = curl_slist_append(raw_headers, "Content-Type: application/json");
  raw_headers = curl_slist_append(raw_headers, "Accept: application/json");
  raw_headers = curl_slist_append(raw_headers, "Expect:");  // no 100-continue round trip
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers, curl_slist_free_all);
  std::string agent = std::string(kServerName) + "/" + kVersion;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  if (url.starts_with("http:")) curl_easy_setopt(c, CURLOPT_NOPROXY, "*");  // a plain proxy would read the token
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.connect_timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config.timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);  // minutes of silence while it builds
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    if (observer.stop.stop_requested()) return {cancelled_error(), false};
    return interpret_curl_error(rc, t, config, errbuf, c);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return interpret_status(status, t, config, body.size());

  json j = json::parse(t.body, nullptr, false);
  if (j.is_discarded()) {
    if (t.body.empty()) return failure(host + " answered with an empty body instead of a run result");
    return failure(host + "'s answer is not JSON (it starts \"" + excerpt(t.body).substr(0, 40) +
                   "\"); is the URL a docker-run service?");
  }
  auto result = run_result_from_json(j);
  if (!result) return failure(host + "'s answer is not a code-runner result: " + result.error().message);
  return {std::move(result.value()), false};
}

}  // namespace

std::string docker_run_request_body(const std::string& image, const Payload& payload) {
  return json{{"image", image}, {"payload", to_json(payload)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

DockerRunClient::DockerRunClient(DockerRunConfig config) : config_(std::move(config)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

std::string DockerRunClient::where() const { return url_host(config_.url); }

Result<RunResult> DockerRunClient::run(const Payload& payload, const RunObserver& observer) {
  const std::string host = where();
  std::string body = docker_run_request_body(config_.image, payload);
  if (body.size() > config_.max_request_bytes)
    return Error{"the build request is " + human_bytes(body.size()) + ", over the " + human_bytes(config_.max_request_bytes) +
                 " a docker-run service accepts (its JSON body limit); leave big assets out with .sandboxignore, or "
                 "raise dockerRun.maxRequestBytes in .studyhub-sandbox.json if your service takes more"};
  for (int attempt = 0;; ++attempt) {
    Attempt a = attempt_once(body, config_, host, observer);
    if (!a.retryable || attempt >= config_.retries) return std::move(a.result);
    auto wait = config_.first_backoff * (1 << attempt);
    if (observer.on_step) {
      char when[96];
      std::snprintf(when, sizeof when, " — trying again in %.1f s (attempt %d of %d)",
                    static_cast<double>(wait.count()) / 1000.0, attempt + 2, config_.retries + 1);
      observer.on_step("upload", a.result.error().message + when, 0);
    }
    for (auto until = Clock::now() + wait; Clock::now() < until;) {
      if (observer.stop.stop_requested()) return cancelled_error();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace studyhub::runner
