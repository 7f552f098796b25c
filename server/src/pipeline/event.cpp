#include "pipeline/event.h"

namespace studyhub::pipeline {

using nlohmann::json;

json to_json(const Diagnostic& d) {
  return {{"file", d.file}, {"line", d.line}, {"column", d.column}, {"severity", d.severity}, {"message", d.message}};
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
