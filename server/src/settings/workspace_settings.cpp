#include "settings/workspace_settings.h"

#include "core/file_io.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

namespace studyhub::settings {

using nlohmann::json;

namespace {

Error bad(std::string_view key, std::string_view expectation) {
  return Error{std::string(kSettingsFileName) + ": \"" + std::string(key) + "\" " +
               std::string(expectation) + "; fix or remove it"};
}

std::optional<Error> read_string(const json& doc, const char* key, std::optional<std::string>& out) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) return bad(key, "must be a non-empty string");
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<Error> read_patterns(const json& doc, const char* key, std::vector<std::string>& out) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return bad(key, "must be an array of gitignore patterns");
  for (const auto& p : *it) {
    if (!p.is_string()) return bad(key, "must hold only strings");
    const auto& s = p.get_ref<const std::string&>();
    if (s.find_first_of("\r\n") != std::string::npos) return bad(key, "patterns must not contain line breaks");
    out.push_back(s);
  }
  return std::nullopt;
}

std::optional<Error> read_limit(const json& limits, const char* key, uint64_t& out) {
  auto it = limits.find(key);
  if (it == limits.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_unsigned() || it->get<uint64_t>() == 0)
    return bad(std::string("limits.") + key, "must be a positive integer");
  out = it->get<uint64_t>();
  return std::nullopt;
}

std::optional<Error> read_int(const json& doc, const std::string& key, std::string_view label, int64_t max,
                              auto& out) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->template get<int64_t>() < 1 || it->template get<int64_t>() > max)
    return bad(label, "must be an integer from 1 to " + std::to_string(max));
  out = static_cast<typename std::decay_t<decltype(out)>::value_type>(it->template get<int64_t>());
  return std::nullopt;
}

std::optional<Error> read_docker_run(const json& doc, WorkspaceSettings& s) {
  auto it = doc.find("dockerRun");
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return bad("dockerRun", "must be an object with url, image, language, timeoutSeconds");
  const json& d = *it;
  for (auto [key, out] : {std::pair{"url", &s.docker_run.url}, {"image", &s.docker_run.image},
                          {"language", &s.docker_run.language}})
    if (auto e = read_string(d, key, *out)) return bad(std::string("dockerRun.") + key, "must be a non-empty string");
  if (auto e = read_int(d, "timeoutSeconds", "dockerRun.timeoutSeconds", 24 * 3600, s.docker_run.timeout_seconds)) return e;
  if (auto e = read_int(d, "maxRequestBytes", "dockerRun.maxRequestBytes", int64_t{1} << 32, s.docker_run.max_request_bytes))
    return e;
  static const std::set<std::string> known{"url", "image", "language", "timeoutSeconds", "maxRequestBytes"};
  for (auto& [key, value] : d.items()) {
    if (key == "token")
      s.warnings.push_back(std::string(kSettingsFileName) +
                           ": \"dockerRun.token\" ignored: a token in the workspace ends up in commits; set "
                           "STUDYHUB_SANDBOX_TOKEN or use the editor's \"Set docker-run Access Token\"");
    else if (!known.count(key))
      s.warnings.push_back(std::string(kSettingsFileName) + ": unknown key \"dockerRun." + key + "\" ignored");
  }
  return std::nullopt;
}

std::optional<Error> read_hub(const json& doc, WorkspaceSettings& s) {
  auto it = doc.find("hub");
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return bad("hub", "must be an object with url");
  if (auto e = read_string(*it, "url", s.hub.url)) return bad("hub.url", "must be a non-empty string");
  for (auto& [key, value] : it->items()) {
    if (key == "token")
      s.warnings.push_back(std::string(kSettingsFileName) +
                           ": \"hub.token\" ignored: a token in the workspace ends up in commits; set "
                           "STUDYHUB_SANDBOX_HUB_TOKEN or use the editor's \"Set Hub Access Token\"");
    else if (key != "url")
      s.warnings.push_back(std::string(kSettingsFileName) + ": unknown key \"hub." + key + "\" ignored");
  }
  return std::nullopt;
}

}  // namespace

Result<WorkspaceSettings> parse_workspace_settings(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (doc.is_discarded())
    return Error{std::string(kSettingsFileName) + " is not valid JSON; fix it or remove the file"};
  if (!doc.is_object()) return Error{std::string(kSettingsFileName) + " must hold a JSON object"};

  WorkspaceSettings s;
  for (auto [key, out] : {std::pair{"name", &s.name}, {"preset", &s.preset},
                          {"outputDir", &s.output_dir}, {"target", &s.target}})
    if (auto e = read_string(doc, key, *out)) return *e;
  if (s.preset) {
    static const std::set<std::string> presets{"create-react-app", "vite", "npm", "static"};
    if (!presets.count(*s.preset)) return bad("preset", "must be one of create-react-app, vite, npm, static");
  }
  if (s.target && *s.target != "local" && *s.target != "docker-run" && *s.target != "hub")
    return bad("target", "must be \"local\", \"docker-run\" or \"hub\"");
  if (auto e = read_patterns(doc, "ignore", s.ignore)) return *e;
  if (auto e = read_patterns(doc, "include", s.include)) return *e;
  if (auto it = doc.find("limits"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return bad("limits", "must be an object");
    if (auto e = read_limit(*it, "maxFiles", s.limits.max_files)) return *e;
    if (auto e = read_limit(*it, "maxTotalBytes", s.limits.max_total_bytes)) return *e;
    if (auto e = read_limit(*it, "maxFileBytes", s.limits.max_file_bytes)) return *e;
  }
  if (auto e = read_int(doc, "buildTimeoutSeconds", "buildTimeoutSeconds", 24 * 3600, s.build_timeout_seconds)) return *e;
  if (auto e = read_int(doc, "keepVersions", "keepVersions", 1000, s.keep_versions)) return *e;
  if (auto e = read_docker_run(doc, s)) return *e;
  if (auto e = read_hub(doc, s)) return *e;
  static const std::set<std::string> known{"name",   "preset",  "outputDir", "target", "ignore",
                                           "include", "limits", "dockerRun", "hub", "buildTimeoutSeconds",
                                           "keepVersions"};
  for (auto& [key, value] : doc.items())
    if (!known.count(key)) s.warnings.push_back(std::string(kSettingsFileName) + ": unknown key \"" + key + "\" ignored");
  return s;
}

Result<WorkspaceSettings> load_workspace_settings(const std::filesystem::path& folder) {
  std::filesystem::path file = folder / kSettingsFileName;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return WorkspaceSettings{};
  auto text = read_file(file);
  if (!text) return Error{"cannot read " + file.string() + "; check its permissions"};
  return parse_workspace_settings(*text);
}

}  // namespace studyhub::settings
