// Where a publish goes: built on this machine (local), on a docker-run service, or handed to the
// team's hub (which builds and serves it). Layers of choices, highest first: flags or JSON-RPC
// params, then the client's initializationOptions, then the environment
// (STUDYHUB_SANDBOX_DOCKER_RUN_URL, STUDYHUB_SANDBOX_TOKEN, STUDYHUB_SANDBOX_HUB_URL,
// STUDYHUB_SANDBOX_HUB_TOKEN), then the settings file, then defaults. Tokens never come from the
// settings file (it gets committed) nor from a flag (it would show in `ps`).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "settings/workspace_settings.h"

namespace studyhub::runner {

struct DockerRunConfig {
  // Base URLs without a trailing slash (/run is appended): one service, or a fleet of builders the
  // client spreads its requests over and moves along when one is down or busy.
  std::vector<std::string> urls;
  std::string token;  // sent as X-Access-Token to these hosts only
  std::string image = "vermusl/create-react-app";
  std::string language = "buildcreatereactapp";
  std::chrono::seconds timeout{15 * 60};  // the whole request (a build runs inside it)
  std::chrono::seconds connect_timeout{10};
  uint64_t max_request_bytes = 2u << 20;     // upstream docker-run's JSON body limit
  uint64_t max_response_bytes = 512u << 20;  // a base64 site plus its log
  int retries = 3;                           // rounds over the fleet, only where no build can have started
  std::chrono::milliseconds first_backoff{500};
  std::chrono::seconds max_busy_wait{60};    // a Retry-After is honoured up to this (with jitter)
};

struct HubConfig {
  std::string url;    // base URL without a trailing slash
  std::string token;  // sent as Authorization: Bearer to this host only
  std::chrono::seconds connect_timeout{10};
};

struct TargetChoice {
  enum class Kind { local, docker_run, hub } kind = Kind::local;
  DockerRunConfig docker_run;
  HubConfig hub;
  bool docker() const { return kind == Kind::docker_run; }
  const char* name() const { return kind == Kind::hub ? "hub" : kind == Kind::docker_run ? "docker-run" : "local"; }
};

// One layer of choices; unset fields fall through to the next layer.
struct TargetLayer {
  std::optional<std::string> target;  // local | docker-run | hub
  std::optional<std::string> url;     // one docker-run URL, or several separated by commas
  std::optional<std::string> token, image;
  std::optional<std::string> hub_url, hub_token;
  bool operator==(const TargetLayer&) const = default;
};

// STUDYHUB_SANDBOX_DOCKER_RUN_URL, STUDYHUB_SANDBOX_TOKEN, STUDYHUB_SANDBOX_HUB_URL, STUDYHUB_SANDBOX_HUB_TOKEN
TargetLayer target_from_environment();

// Resolves the layers (highest first) over the settings file. A docker-run or hub target without a
// URL or a token, or with a URL that is not plain http(s), is an error that says where to set it.
Result<TargetChoice> choose_target(const std::vector<TargetLayer>& layers, const settings::WorkspaceSettings& settings);

// The host (and port, when given) of a URL, for messages: never the path, query or credentials.
std::string url_host(const std::string& url);

// Resolves only the hub's URL and token (for list, rollback and unpublish, which need no other
// choice); nullopt when no hub URL is set anywhere.
Result<std::optional<HubConfig>> choose_hub(const std::vector<TargetLayer>& layers, const settings::WorkspaceSettings& settings);

}  // namespace studyhub::runner
