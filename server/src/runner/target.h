// Which runner a publish uses, and how to reach a docker-run service. Layers of choices, highest
// first: flags or JSON-RPC params, then the client's initializationOptions, then the environment
// (STUDYHUB_SANDBOX_DOCKER_RUN_URL, STUDYHUB_SANDBOX_TOKEN), then the settings file, then defaults.
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

struct TargetChoice {
  bool remote = false;  // docker-run, else this machine
  DockerRunConfig docker_run;
};

// One layer of choices; unset fields fall through to the next layer.
struct TargetLayer {
  std::optional<std::string> target;  // local | docker-run
  std::optional<std::string> url;     // one docker-run URL, or several separated by commas
  std::optional<std::string> token, image;
  bool operator==(const TargetLayer&) const = default;
};

TargetLayer target_from_environment();  // STUDYHUB_SANDBOX_DOCKER_RUN_URL, STUDYHUB_SANDBOX_TOKEN

// Resolves the layers (highest first) over the settings file. A docker-run target without a URL
// or a token, or with a URL that is not plain http(s), is an error that says where to set it.
Result<TargetChoice> choose_target(const std::vector<TargetLayer>& layers, const settings::WorkspaceSettings& settings);

// The host (and port, when given) of a URL, for messages: never the path, query or credentials.
std::string url_host(const std::string& url);

}  // namespace studyhub::runner
