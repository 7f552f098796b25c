#include "runner/payload.h"

#include <set>

#include "core/relpath.h"

namespace studyhub::runner {

namespace {

// A name as a message may quote it: at most 100 bytes, control characters as '?'.
std::string printable(std::string_view name) {
  std::string out(name.substr(0, 100));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return out;
}

}  // namespace

using nlohmann::json;

json to_json(const Payload& p) {
  json files = json::array();
  for (const auto& f : p.files) files.push_back({{"name", f.name}, {"content", f.content}});
  json out{{"language", p.language}, {"files", std::move(files)}};
  if (p.stdin_text) out["stdin"] = *p.stdin_text;
  if (p.command) out["command"] = *p.command;
  return out;
}

Result<Payload> payload_from_json(const json& j) {
  if (!j.is_object()) return Error{"the payload must be a JSON object"};
  Payload p;
  auto language = j.find("language");
  if (language == j.end() || !language->is_string() || language->get_ref<const std::string&>().empty())
    return Error{"payload.language must be a non-empty string"};
  p.language = language->get<std::string>();
  auto files = j.find("files");
  std::set<std::string_view> names;
  if (files == j.end() || !files->is_array() || files->empty()) return Error{"payload.files must be a non-empty array"};
  for (const auto& f : *files) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("content") ||
        !f["content"].is_string())
      return Error{"each payload file needs a string name and a string content"};
    const auto& name = f["name"].get_ref<const std::string&>();
    const auto& content = f["content"].get_ref<const std::string&>();
    if (name.empty()) return Error{"Error, file with empty name", false, "request.files"};
    if (auto problem = relpath::problem(name); !problem.empty())
      return Error{"the file name '" + printable(name) + "' " + problem + "; names are relative paths inside the build",
                   false, "request.files"};
    if (!names.insert(name).second) return Error{"the file " + printable(name) + " is listed twice", false, "request.files"};
    if (content.empty()) return Error{"Error, file with empty content: " + name};
    p.files.push_back({name, content});
  }
  if (auto s = j.find("stdin"); s != j.end() && s->is_string()) p.stdin_text = s->get<std::string>();
  if (auto c = j.find("command"); c != j.end() && c->is_string() && !c->get_ref<const std::string&>().empty())
    p.command = c->get<std::string>();
  return p;
}

json to_json(const RunResult& r) {
  return json{{"stdout", r.stdout_text}, {"stderr", r.stderr_text}, {"error", r.error}};
}

Result<RunResult> run_result_from_json(const json& j) {
  if (!j.is_object()) return Error{"the run result is not a JSON object"};
  RunResult r;
  for (auto [key, out] : {std::pair{"stdout", &r.stdout_text}, {"stderr", &r.stderr_text}, {"error", &r.error}}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_string()) return Error{std::string("the run result's \"") + key + "\" is not a string"};
    *out = it->get<std::string>();
  }
  return r;
}

}  // namespace studyhub::runner
