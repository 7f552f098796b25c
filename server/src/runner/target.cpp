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

}  // namespace

TargetLayer target_from_environment() {
  return TargetLayer{.target = std::nullopt,
                     .url = env_value("STUDYHUB_SANDBOX_DOCKER_RUN_URL"),
                     .token = env_value("STUDYHUB_SANDBOX_TOKEN"),
                     .image = std::nullopt};
}

std::string url_host(const std::string& url) { return net::url_host(url, "the docker-run service"); }

Result<TargetChoice> choose_target(const std::vector<TargetLayer>& layers, const settings::WorkspaceSettings& s) {
  TargetChoice choice;
  std::string target = first(layers, &TargetLayer::target).value_or(s.target.value_or("local"));
  if (target == "local") return choice;
  if (target != "docker-run") return Error{"unknown target '" + target + "'; use \"local\" or \"docker-run\""};
  choice.remote = true;
  auto& d = choice.docker_run;

  auto url = first(layers, &TargetLayer::url);
  if (!url) url = s.docker_run.url;
  if (!url)
    return Error{"the docker-run target needs the service's URL: pass --docker-run-url, set "
                 "STUDYHUB_SANDBOX_DOCKER_RUN_URL, or \"dockerRun\": {\"url\": …} in .studyhub-sandbox.json"};
  for (std::string one : split_list(*url, ',')) {
    while (!one.empty() && one.back() == '/') one.pop_back();
    auto parts = net::parse_url(one);
    if (!parts || (parts->scheme != "http" && parts->scheme != "https") || parts->host.empty())
      return Error{"the docker-run URL '" + one.substr(0, 100) +
                   "' is not an http:// or https:// address with a host name; fix it (e.g. https://builder.example.com)"};
    if (!parts->user.empty() || !parts->password.empty())
      return Error{"the docker-run URL holds credentials; remove them and give the token through "
                   "STUDYHUB_SANDBOX_TOKEN (or the editor's \"Set docker-run Access Token\")"};
    d.urls.push_back(one);
  }
  if (d.urls.empty()) return Error{"the docker-run URL is empty; set it to the service's address"};

  auto token = first(layers, &TargetLayer::token);
  if (!token)
    return Error{"the docker-run target needs an access token for " + url_host(d.urls.front()) +
                 ": set STUDYHUB_SANDBOX_TOKEN (or run \"Studyhub: Set docker-run Access Token\" in VS Code)"};
  if (token->find_first_of("\r\n") != std::string::npos)
    return Error{"the docker-run access token holds a line break; set it again without one"};
  d.token = *token;

  if (auto image = first(layers, &TargetLayer::image)) d.image = *image;
  else if (s.docker_run.image) d.image = *s.docker_run.image;
  if (s.docker_run.language) d.language = *s.docker_run.language;
  if (s.docker_run.timeout_seconds) d.timeout = std::chrono::seconds(*s.docker_run.timeout_seconds);
  if (s.docker_run.max_request_bytes) d.max_request_bytes = *s.docker_run.max_request_bytes;
  return choice;
}

}  // namespace studyhub::runner
