#include "runner/target.h"

#include <curl/curl.h>

#include "core/env.h"

#include <memory>

namespace studyhub::runner {

namespace {

template <class Field>
std::optional<std::string> first(const std::vector<TargetLayer>& layers, Field field) {
  for (const auto& layer : layers)
    if (layer.*field) return layer.*field;
  return std::nullopt;
}

struct UrlParts {
  std::string scheme, host, port, user, password;
};

std::optional<UrlParts> parse_url(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> h(curl_url(), curl_url_cleanup);
  if (!h || curl_url_set(h.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  UrlParts parts;
  auto get = [&](CURLUPart part, std::string& out) {
    char* v = nullptr;
    if (curl_url_get(h.get(), part, &v, 0) == CURLUE_OK && v) out = v;
    curl_free(v);
  };
  get(CURLUPART_SCHEME, parts.scheme);
  get(CURLUPART_HOST, parts.host);
  get(CURLUPART_PORT, parts.port);
  get(CURLUPART_USER, parts.user);
  get(CURLUPART_PASSWORD, parts.password);
  return parts;
}

}  // namespace

TargetLayer target_from_environment() {
  return TargetLayer{.target = std::nullopt,
                     .url = env_value("STUDYHUB_SANDBOX_DOCKER_RUN_URL"),
                     .token = env_value("STUDYHUB_SANDBOX_TOKEN"),
                     .image = std::nullopt};
}

std::string url_host(const std::string& url) {
  auto parts = parse_url(url);
  if (!parts || parts->host.empty()) return "the docker-run service";
  return parts->port.empty() ? parts->host : parts->host + ":" + parts->port;
}

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
  auto parts = parse_url(*url);
  if (!parts || (parts->scheme != "http" && parts->scheme != "https") || parts->host.empty())
    return Error{"the docker-run URL is not an http:// or https:// address with a host name; fix it "
                 "(e.g. https://builder.example.com)"};
  if (!parts->user.empty() || !parts->password.empty())
    return Error{"the docker-run URL holds credentials; remove them and give the token through "
                 "STUDYHUB_SANDBOX_TOKEN (or the editor's \"Set docker-run Access Token\")"};
  d.url = *url;
  while (!d.url.empty() && d.url.back() == '/') d.url.pop_back();

  auto token = first(layers, &TargetLayer::token);
  if (!token)
    return Error{"the docker-run target needs an access token for " + url_host(d.url) +
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
