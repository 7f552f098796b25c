#include "runner/target.h"

#include "core/env.h"
#include "core/text.h"
#include "net/http.h"

namespace studyhub::runner {

namespace {

template <class Field>
std::optional<std::string> first(const std::vector<TargetLayer>& layers, Field field) {
  for (const auto& layer : layers)
    if (layer.*field) return layer.*field;
  return std::nullopt;
}

// One http(s) URL of a service, checked: a host, no credentials in it.
Result<std::string> service_url(std::string url, const std::string& what, const std::string& token_hint) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto parts = net::parse_url(url);
  if (!parts || (parts->scheme != "http" && parts->scheme != "https") || parts->host.empty())
    return Error{"the " + what + " URL '" + url.substr(0, 100) +
                 "' is not an http:// or https:// address with a host name; fix it (e.g. https://" +
                 (what == "hub" ? "hub" : "builder") + ".example.com)"};
  if (!parts->user.empty() || !parts->password.empty())
    return Error{"the " + what + " URL holds credentials; remove them and give the token through " + token_hint};
  return url;
}

Status check_token(const std::string& token, const std::string& what) {
  if (token.find_first_of("\r\n") != std::string::npos)
    return Error{"the " + what + " access token holds a line break; set it again without one"};
  return ok_status();
}

constexpr const char* kHubTokenHint =
    "STUDYHUB_SANDBOX_HUB_TOKEN (or run \"Studyhub: Set Hub Access Token\" in VS Code)";

}  // namespace

TargetLayer target_from_environment() {
  return TargetLayer{.target = std::nullopt,
                     .url = env_value("STUDYHUB_SANDBOX_DOCKER_RUN_URL"),
                     .token = env_value("STUDYHUB_SANDBOX_TOKEN"),
                     .image = std::nullopt,
                     .hub_url = env_value("STUDYHUB_SANDBOX_HUB_URL"),
                     .hub_token = env_value("STUDYHUB_SANDBOX_HUB_TOKEN")};
}

Result<std::optional<HubConfig>> choose_hub(const std::vector<TargetLayer>& layers, const settings::WorkspaceSettings& s) {
  auto url = first(layers, &TargetLayer::hub_url);
  if (!url) url = s.hub.url;
  if (!url) return std::optional<HubConfig>();
  HubConfig hub;
  auto checked = service_url(*url, "hub", kHubTokenHint);
  if (!checked) return checked.error();
  hub.url = checked.value();
  auto token = first(layers, &TargetLayer::hub_token);
  if (!token)
    return Error{"the hub at " + net::url_host(hub.url, "the hub") + " needs your access token: set " + kHubTokenHint};
  if (auto ok = check_token(*token, "hub"); !ok) return ok.error();
  hub.token = *token;
  return std::optional<HubConfig>(hub);
}

std::string url_host(const std::string& url) { return net::url_host(url, "the docker-run service"); }

Result<TargetChoice> choose_target(const std::vector<TargetLayer>& layers, const settings::WorkspaceSettings& s) {
  TargetChoice choice;
  std::string target = first(layers, &TargetLayer::target).value_or(s.target.value_or("local"));
  if (target == "local") return choice;
  if (target == "hub") {
    auto hub = choose_hub(layers, s);
    if (!hub) return hub.error();
    if (!hub.value())
      return Error{"the hub target needs the hub's URL: pass --hub-url, set STUDYHUB_SANDBOX_HUB_URL, or "
                   "\"hub\": {\"url\": …} in .studyhub-sandbox.json"};
    choice.kind = TargetChoice::Kind::hub;
    choice.hub = *hub.value();
    return choice;
  }
  if (target != "docker-run") return Error{"unknown target '" + target + "'; use \"local\", \"docker-run\" or \"hub\""};
  choice.kind = TargetChoice::Kind::docker_run;
  auto& d = choice.docker_run;

  auto url = first(layers, &TargetLayer::url);
  if (!url) url = s.docker_run.url;
  if (!url)
    return Error{"the docker-run target needs the service's URL: pass --docker-run-url, set "
                 "STUDYHUB_SANDBOX_DOCKER_RUN_URL, or \"dockerRun\": {\"url\": …} in .studyhub-sandbox.json"};
  for (const std::string& one : split_list(*url, ',')) {
    auto checked = service_url(one, "docker-run",
                               "STUDYHUB_SANDBOX_TOKEN (or the editor's \"Set docker-run Access Token\")");
    if (!checked) return checked.error();
    d.urls.push_back(checked.value());
  }
  if (d.urls.empty()) return Error{"the docker-run URL is empty; set it to the service's address"};

  auto token = first(layers, &TargetLayer::token);
  if (!token)
    return Error{"the docker-run target needs an access token for " + url_host(d.urls.front()) +
                 ": set STUDYHUB_SANDBOX_TOKEN (or run \"Studyhub: Set docker-run Access Token\" in VS Code)"};
  if (auto ok = check_token(*token, "docker-run"); !ok) return ok.error();
  d.token = *token;

  if (auto image = first(layers, &TargetLayer::image)) d.image = *image;
  else if (s.docker_run.image) d.image = *s.docker_run.image;
  if (s.docker_run.language) d.language = *s.docker_run.language;
  if (s.docker_run.timeout_seconds) d.timeout = std::chrono::seconds(*s.docker_run.timeout_seconds);
  if (s.docker_run.max_request_bytes) d.max_request_bytes = *s.docker_run.max_request_bytes;
  return choice;
}

}  // namespace studyhub::runner
