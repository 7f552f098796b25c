// The client side of the hub's HTTP API (protocol/hub/README.md), for publishes, lists, rollbacks
// and removals from the CLI and the editor. Every failure is one sentence that says what to do; the
// token goes only to the configured host (no redirect is followed) and into no message.
//
// Requests that cannot create anything twice are retried when the hub is busy (503, honouring
// Retry-After), restarting or briefly unreachable; a deployment is created with an Idempotency-Key,
// so its retries answer the same deployment.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/error.h"
#include "runner/target.h"

namespace studyhub::hub_client {

// The API version this client speaks (the hub answers its own at GET /).
inline constexpr int kApiVersion = 1;

struct Blob {
  std::string oid;
  uint64_t size = 0;
  std::function<Result<std::string>()> read;  // its bytes, read when it is sent
};

struct Notices {
  // Something the user should see while waiting ("the hub is busy, retrying in 3 s").
  std::function<void(const std::string& message)> note;
};

class HubClient {
 public:
  explicit HubClient(runner::HubConfig config, Notices notices = {});

  std::string host() const;  // host[:port], for messages

  // GET /: the URL is a hub and speaks this client's API version.
  Status check(std::stop_token stop) const;

  Result<std::vector<std::string>> missing(const std::vector<std::string>& oids, std::stop_token stop) const;
  // Uploads the blobs, 4 at a time; `progress(sent, total)` moves with the bytes as they go.
  Status upload(const std::vector<Blob>& blobs, const std::function<void(uint64_t, uint64_t)>& progress,
                std::stop_token stop) const;

  // POST /v1/sites/<name>/deployments with `files_json`, the file list as a JSON array's text.
  // Answers the deployment; a 400 blobs.missing is an Error with code "blobs.missing" whose
  // message lists nothing (call missing() again).
  Result<nlohmann::json> create_deployment(const std::string& site, const std::string& snapshot_id,
                                           const std::string& files_json, const std::string& request_key,
                                           std::stop_token stop) const;
  Result<nlohmann::json> deployment(int64_t id, std::stop_token stop) const;
  Result<nlohmann::json> cancel(int64_t id) const;

  // Follows GET /v1/deployments/<id>/events?since=<since> until the stream ends. Each line goes to
  // on_line; answers normally when the stream ends (after the final state, or cut off: the caller
  // looks at what it got and resumes), and an Error when it could not be opened.
  Status follow(int64_t id, int64_t since, const std::function<void(const nlohmann::json&)>& on_line,
                std::stop_token stop) const;

  Result<nlohmann::json> sites(std::stop_token stop) const;
  Result<nlohmann::json> site(const std::string& name, std::stop_token stop) const;
  Result<nlohmann::json> rollback(const std::string& name, const std::optional<std::string>& snapshot_id,
                                  std::stop_token stop) const;
  Status remove_site(const std::string& name, std::stop_token stop) const;

 private:
  struct Call {
    std::string method, path;
    std::string body;
    bool retry = true;  // safe to send again
    std::vector<std::string> headers;
  };
  struct Answer {
    long status = 0;
    nlohmann::json body;
  };
  Result<Answer> call(const Call& c, std::stop_token stop) const;
  Error api_error(const Answer& a, const std::string& what) const;

  runner::HubConfig config_;
  Notices notices_;
};

}  // namespace studyhub::hub_client
