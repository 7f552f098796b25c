// The one stream a publish emits. The JSON-RPC session renders it as $/progress,
// window/logMessage and textDocument/publishDiagnostics; the terminal as a progress bar or
// JSON lines. Nothing else reports progress.
#pragma once

#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace studyhub::pipeline {

struct Diagnostic {
  std::string file;  // relative to the sandbox folder
  int line = 1, column = 1;
  std::string severity;  // error | warning
  std::string message;
};

struct Event {
  enum class Kind {
    stage,        // a stage begins: stage, message, percent
    progress,     // within a stage: message, percent
    log,          // one line of build output: message
    queued,       // waiting: message, position (0 = waiting for another process)
    diagnostics,  // problems found in the build output
  };
  Kind kind = Kind::progress;
  std::string stage;  // snapshot | build | extract | publish
  std::string message;
  int percent = 0;
  int position = 0;
  std::vector<Diagnostic> diagnostics;
};

using EventSink = std::function<void(const Event&)>;

inline Event stage_event(std::string stage, std::string message, int percent) {
  return Event{.kind = Event::Kind::stage, .stage = std::move(stage), .message = std::move(message), .percent = percent};
}
inline Event progress_event(std::string stage, std::string message, int percent) {
  return Event{.kind = Event::Kind::progress, .stage = std::move(stage), .message = std::move(message), .percent = percent};
}
inline Event log_event(std::string stage, std::string message) {
  return Event{.kind = Event::Kind::log, .stage = std::move(stage), .message = std::move(message)};
}

nlohmann::json to_json(const Diagnostic& d);
std::optional<Diagnostic> diagnostic_from_json(const nlohmann::json& j);  // nullopt when it is not one
nlohmann::json to_json(const Event& e);  // one line of `publish --json`

}  // namespace studyhub::pipeline
