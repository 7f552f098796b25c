#include "pipeline/event.h"

namespace studyhub::pipeline {

using nlohmann::json;

json to_json(const Diagnostic& d) {
  return {{"file", d.file}, {"line", d.line}, {"column", d.column}, {"severity", d.severity}, {"message", d.message}};
}

std::optional<Diagnostic> diagnostic_from_json(const json& j) {
  if (!j.is_object() || !j.contains("file") || !j["file"].is_string() || !j.contains("message") || !j["message"].is_string())
    return std::nullopt;
  Diagnostic d;
  d.file = j["file"].get<std::string>();
  d.message = j["message"].get<std::string>();
  d.line = j.value("line", 1);
  d.column = j.value("column", 1);
  d.severity = j.value("severity", std::string("error")) == "warning" ? "warning" : "error";
  return d;
}

json to_json(const Event& e) {
  switch (e.kind) {
    case Event::Kind::stage:
      return {{"event", "stage"}, {"stage", e.stage}, {"message", e.message}, {"percent", e.percent}};
    case Event::Kind::progress:
      return {{"event", "progress"}, {"stage", e.stage}, {"message", e.message}, {"percent", e.percent}};
    case Event::Kind::log:
      return {{"event", "log"}, {"stage", e.stage}, {"message", e.message}};
    case Event::Kind::queued:
      return {{"event", "queued"}, {"message", e.message}, {"position", e.position}};
    case Event::Kind::diagnostics: {
      json list = json::array();
      for (const auto& d : e.diagnostics) list.push_back(to_json(d));
      return {{"event", "diagnostics"}, {"diagnostics", list}};
    }
  }
  return json::object();
}

}  // namespace studyhub::pipeline
