#include "hub_client/hub_client.h"

#include <algorithm>
#include <random>
#include <thread>

#include "core/text.h"
#include "core/wait.h"
#include "net/http.h"

namespace studyhub::hub_client {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTokenHint = "STUDYHUB_SANDBOX_HUB_TOKEN (or \"Studyhub: Set Hub Access Token\" in VS Code)";
constexpr uint64_t kUploadBatchBytes = 64u << 20;  // blobs held in memory at once while uploading

std::chrono::milliseconds with_jitter(int seconds) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  return std::chrono::milliseconds(seconds * 1000 + static_cast<int>(rng() % 500));
}

std::string seconds_text(std::chrono::milliseconds ms) { return std::to_string((ms.count() + 999) / 1000) + " s"; }

std::string url_path_segment(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out.push_back(static_cast<char>(c));
    else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

HubClient::HubClient(runner::HubConfig config, Notices notices) : config_(std::move(config)), notices_(std::move(notices)) {}

std::string HubClient::host() const { return net::url_host(config_.url, "the hub"); }

Error HubClient::api_error(const Answer& a, const std::string& what) const {
  std::string code = a.body.is_object() ? a.body.value("error", "") : "";
  std::string message = a.body.is_object() ? a.body.value("message", "") : "";
  const std::string h = "the hub at " + host();
  if (a.status == 401)
    return Error{"the hub refused the token (" + (code.empty() ? std::string("401") : code) + "): set a new one with " +
                     kTokenHint,
                 false, "auth"};
  if (a.status == 413) return Error{h + " refused " + what + " as too large: " + message, false, code};
  if (a.status == 429) return Error{h + " refused " + what + ": " + message, false, code};
  if (a.status == 503) return Error{h + " is busy (" + message + "); try again later", false, code};
  if (!a.body.is_object() || code.empty())
    return Error{h + " answered " + what + " with HTTP " + std::to_string(a.status) +
                     " and something that is not the hub's API; check the hub URL (a proxy in between?)",
                 false, "protocol"};
  return Error{message.empty() ? h + " refused " + what + " (" + code + ")" : message, false, code};
}

Result<HubClient::Answer> HubClient::call(const Call& c, std::stop_token stop) const {
  std::vector<std::string> headers{"Authorization: Bearer " + config_.token, "Accept: application/json"};
  if (!c.body.empty()) headers.push_back("Content-Type: application/json");
  headers.insert(headers.end(), c.headers.begin(), c.headers.end());
  const std::string h = "the hub at " + host();
  auto busy_deadline = Clock::now() + 5min;
  for (int attempt = 0;; ++attempt) {
    auto r = net::perform({.method = c.method,
                           .url = config_.url + c.path,
                           .headers = headers,
                           .body = c.body,
                           .timeout = 120s,
                           .connect_timeout = config_.connect_timeout,
                           .max_response_bytes = 64u << 20,
                           .stop = stop});
    if (!r) {
      using net::Failure;
      const auto& e = r.error();
      if (e.kind == Failure::cancelled) return cancelled_error();
      bool transient = e.kind == Failure::refused || e.kind == Failure::broken || e.kind == Failure::connect_timeout;
      if (transient && c.retry && attempt < 4) {
        auto wait = std::chrono::milliseconds(500 << attempt);
        if (notices_.note) notices_.note(h + " cannot be reached (" + e.detail + "); retrying in " + seconds_text(wait));
        if (!wait_for(stop, wait)) return cancelled_error();
        continue;
      }
      switch (e.kind) {
        case Failure::refused:
          return Error{"cannot reach the hub at " + host() + " (" + e.detail + "); is it running, and is the hub URL right?",
                       false, "unreachable"};
        case Failure::resolve:
          return Error{"cannot find the hub's host " + host() + " (DNS lookup failed); check the hub URL", false, "unreachable"};
        case Failure::connect_timeout:
          return Error{"cannot connect to the hub at " + host() + " within " +
                           std::to_string(config_.connect_timeout.count()) + " s; check the URL and the network",
                       false, "unreachable"};
        case Failure::tls:
          return Error{"the secure connection to the hub at " + host() + " failed (" + e.detail +
                           "); check that its certificate is valid for that name",
                       false, "tls"};
        case Failure::timeout:
          return Error{h + " did not answer within 120 s; try again", false, "timeout"};
        default:
          return Error{"the connection to the hub at " + host() + " failed (" + e.detail + "); try again", false,
                       "unreachable"};
      }
    }
    if (r->status == 503 && c.retry && Clock::now() < busy_deadline) {
      auto wait = with_jitter(std::clamp(r->retry_after().value_or(2), 1, 60));
      if (notices_.note) notices_.note("the hub is busy, retrying in " + seconds_text(wait));
      if (!wait_for(stop, wait)) return cancelled_error();
      continue;
    }
    if (r->status >= 300 && r->status < 400)
      return Error{h + " answered with a redirect (HTTP " + std::to_string(r->status) +
                       "), which is not followed so the token reaches no other host; set the hub URL to the final address",
                   false, "redirect"};
    Answer a{r->status, r->body.empty() ? json() : json::parse(r->body, nullptr, false)};
    if (a.body.is_discarded()) a.body = json();
    return a;
  }
}

Status HubClient::check(std::stop_token stop) const {
  auto a = call({.method = "GET", .path = "/"}, stop);
  if (!a) return a.error();
  if (a->status != 200 || !a->body.is_object() || a->body.value("name", "") != "studyhub-hub")
    return Error{host() + " is not a studyhub hub (GET / answered HTTP " + std::to_string(a->status) +
                     "); check the hub URL",
                 false, "protocol"};
  int api = a->body.value("api", 0);
  if (api != kApiVersion)
    return Error{"the hub at " + host() + " speaks API version " + std::to_string(api) + " and this studyhub-sandbox " +
                     std::to_string(kApiVersion) + "; update the older of the two (the hub is " +
                     a->body.value("version", std::string("unknown")) + ")",
                 false, "version"};
  return ok_status();
}

Result<std::vector<std::string>> HubClient::missing(const std::vector<std::string>& oids, std::stop_token stop) const {
  auto a = call({.method = "POST", .path = "/v1/blobs/missing", .body = json{{"blobs", oids}}.dump()}, stop);
  if (!a) return a.error();
  if (a->status != 200) return api_error(a.value(), "the file list");
  std::vector<std::string> out;
  if (a->body.contains("missing") && a->body["missing"].is_array())
    for (const auto& o : a->body["missing"])
      if (o.is_string()) out.push_back(o.get<std::string>());
  return out;
}

Status HubClient::upload(const std::vector<Blob>& blobs, const std::function<void(uint64_t, uint64_t)>& progress,
                         std::stop_token stop) const {
  uint64_t total = 0, done = 0;
  for (const auto& b : blobs) total += b.size;
  if (progress) progress(0, total);
  const std::string auth = "Authorization: Bearer " + config_.token;
  for (size_t start = 0; start < blobs.size();) {
    // A batch of blobs in memory at a time, however large the snapshot.
    size_t end = start;
    uint64_t batch_bytes = 0;
    while (end < blobs.size() && (end == start || batch_bytes + blobs[end].size <= kUploadBatchBytes))
      batch_bytes += blobs[end++].size;
    std::vector<std::string> bodies;
    for (size_t i = start; i < end; ++i) {
      auto bytes = blobs[i].read();
      if (!bytes) return bytes.error();
      bodies.push_back(std::move(bytes.value()));
    }
    std::vector<size_t> pending(end - start);
    for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
    for (int round = 0; !pending.empty(); ++round) {
      std::vector<net::Request> requests;
      for (size_t i : pending)
        requests.push_back({.method = "PUT",
                            .url = config_.url + "/v1/blobs/" + blobs[start + i].oid,
                            .headers = {auth, "Content-Type: application/octet-stream", "Accept: application/json"},
                            .body = bodies[i],
                            .timeout = 10min,
                            .connect_timeout = config_.connect_timeout,
                            .stop = stop});
      uint64_t before = done;
      auto results = net::perform_all(requests, 4, [&](uint64_t sent) {
        if (progress) progress(std::min(total, before + sent), total);
      }, stop);
      if (stop.stop_requested()) return cancelled_error();
      std::vector<size_t> again;
      std::optional<int> busy;
      for (size_t k = 0; k < results.size(); ++k) {
        size_t i = pending[k];
        const auto& r = results[k];
        bool transient = !r ? (r.error().kind == net::Failure::refused || r.error().kind == net::Failure::broken)
                            : r->status == 503;
        if (transient && round < 4) {
          again.push_back(i);
          if (r && r->status == 503) busy = r->retry_after().value_or(2);
          continue;
        }
        if (!r) return Error{"cannot upload to the hub at " + host() + " (" + r.error().detail + "); try again", false, "unreachable"};
        if (r->status != 200 && r->status != 201) {
          Answer a{r->status, json::parse(r->body, nullptr, false)};
          if (a.body.is_discarded()) a.body = json();
          return api_error(a, "the file " + blobs[start + i].oid.substr(0, 12));
        }
        done += blobs[start + i].size;
      }
      if (progress) progress(done, total);
      pending = std::move(again);
      if (!pending.empty()) {
        auto wait = busy ? with_jitter(std::clamp(*busy, 1, 60)) : std::chrono::milliseconds(500 << round);
        if (notices_.note)
          notices_.note((busy ? std::string("the hub is busy") : "the hub at " + host() + " cannot be reached") +
                        ", retrying " + std::to_string(pending.size()) + " uploads in " + seconds_text(wait));
        if (!wait_for(stop, wait)) return cancelled_error();
      }
    }
    start = end;
  }
  return ok_status();
}

Result<json> HubClient::create_deployment(const std::string& site, const std::string& snapshot_id,
                                          const std::string& files_json, const std::string& request_key,
                                          std::stop_token stop) const {
  auto a = call({.method = "POST",
                 .path = "/v1/sites/" + url_path_segment(site) + "/deployments",
                 .body = "{\"snapshotId\":" + json(snapshot_id).dump() + ",\"files\":" + files_json + "}",
                 .retry = true,  // the Idempotency-Key makes a retry answer the same deployment
                 .headers = {"Idempotency-Key: " + request_key}},
                stop);
  if (!a) return a.error();
  if (a->status == 200 || a->status == 201) return a->body;
  if (a->status == 400 && a->body.is_object() && a->body.value("error", "") == "blobs.missing")
    return Error{"the hub lacks some files", false, "blobs.missing"};
  return api_error(a.value(), "the deployment");
}

Result<json> HubClient::deployment(int64_t id, std::stop_token stop) const {
  auto a = call({.method = "GET", .path = "/v1/deployments/" + std::to_string(id)}, stop);
  if (!a) return a.error();
  if (a->status != 200) return api_error(a.value(), "the deployment");
  return a->body;
}

Result<json> HubClient::cancel(int64_t id) const {
  auto a = call({.method = "POST", .path = "/v1/deployments/" + std::to_string(id) + "/cancel"}, {});
  if (!a) return a.error();
  if (a->status != 200) return api_error(a.value(), "the cancel");
  return a->body;
}

Status HubClient::follow(int64_t id, int64_t since, const std::function<void(const json&)>& on_line,
                         std::stop_token stop) const {
  std::string partial;
  auto r = net::perform({.method = "GET",
                         .url = config_.url + "/v1/deployments/" + std::to_string(id) + "/events?since=" + std::to_string(since),
                         .headers = {"Authorization: Bearer " + config_.token, "Accept: application/x-ndjson"},
                         .connect_timeout = config_.connect_timeout,
                         // The hub writes an empty line after 15 s of quiet: 45 s of nothing is a dead link.
                         .idle_timeout = 45s,
                         .on_data =
                             [&](std::string_view piece) {
                               partial.append(piece);
                               size_t start = 0;
                               for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
                                 std::string_view line(partial.data() + start, nl - start);
                                 if (line.empty()) continue;
                                 json j = json::parse(line, nullptr, false);
                                 if (j.is_object()) on_line(j);
                               }
                               partial.erase(0, start);
                               return true;
                             },
                         .stop = stop});
  if (!r) {
    if (r.error().kind == net::Failure::cancelled) return cancelled_error();
    return Error{"the event stream from the hub at " + host() + " broke (" + r.error().detail + ")", false, "stream"};
  }
  if (r->status != 200) {
    Answer a{r->status, json::parse(r->body, nullptr, false)};
    if (a.body.is_discarded()) a.body = json();
    if (r->status == 503) return Error{"the hub is busy", false, "busy"};
    // Every stream this user may hold at once is open (other publishes, or ones just ended).
    if (r->status == 429) return Error{"the hub is following as many of your publishes as it allows", false, "busy"};
    return api_error(a, "the event stream");
  }
  return ok_status();
}

Result<json> HubClient::sites(std::stop_token stop) const {
  auto a = call({.method = "GET", .path = "/v1/sites"}, stop);
  if (!a) return a.error();
  if (a->status != 200) return api_error(a.value(), "the site list");
  return a->body;
}

Result<json> HubClient::site(const std::string& name, std::stop_token stop) const {
  auto a = call({.method = "GET", .path = "/v1/sites/" + url_path_segment(name)}, stop);
  if (!a) return a.error();
  if (a->status != 200) return api_error(a.value(), "the site " + name);
  return a->body;
}

Result<json> HubClient::rollback(const std::string& name, const std::optional<std::string>& snapshot_id,
                                 std::stop_token stop) const {
  json body = json::object();
  if (snapshot_id) body["snapshotId"] = *snapshot_id;
  auto a = call({.method = "POST", .path = "/v1/sites/" + url_path_segment(name) + "/rollback", .body = body.dump()}, stop);
  if (!a) return a.error();
  if (a->status != 200) return api_error(a.value(), "the rollback of " + name);
  return a->body;
}

Status HubClient::remove_site(const std::string& name, std::stop_token stop) const {
  auto a = call({.method = "DELETE", .path = "/v1/sites/" + url_path_segment(name)}, stop);
  if (!a) return a.error();
  if (a->status != 204) return api_error(a.value(), "the removal of " + name);
  return ok_status();
}

}  // namespace studyhub::hub_client
