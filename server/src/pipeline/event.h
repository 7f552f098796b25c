// The one stream a publish emits, and its one wire form (protocol/schemas/event.json): a line of
// `publish --json`, the `event` of the JSON-RPC notification sandbox/event, and the `event` of a
// hub's NDJSON line of type "event". The JSON-RPC session also renders it as $/progress (text for
// people), window/logMessage and textDocument/publishDiagnostics; the terminal as a progress bar.
// Nothing else reports progress, and nobody parses the messages: they are for people.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace studyhub::pipeline {

// The stages of a publish, in order. Their wire names are in one table (event.cpp), the same as
// the schema's enum (a test checks that they agree).
enum class Stage { snapshot, upload, queue, build, download, extract, publish };
std::string_view wire_name(Stage stage);
std::optional<Stage> stage_named(std::string_view name);
const std::vector<std::string_view>& stage_names();  // in order

// Where a queued publish waits: behind this session's other publishes, behind another process on
// this machine, or in the hub's build queue.
enum class Queue { local, machine, hub };
std::string_view wire_name(Queue queue);

struct Diagnostic {
  std::string file;  // relative to the sandbox folder
  int line = 1, column = 1;
  std::string severity;  // error | warning
  std::string message;
};

struct Event {
  enum class Kind {
    stage,        // a stage begins: stage, message, percent
    progress,     // within a stage: stage, message, percent (upload: bytes of total_bytes)
    log,          // one line of build output: stage, message
    queued,       // waiting: queue, message, position/ahead where known
    diagnostics,  // problems found in the build output
  };
  Kind kind = Kind::progress;
  Stage stage = Stage::build;
  std::string message;
  int percent = 0;
  Queue queue = Queue::local;
  int position = 0;  // queued: the place in the queue, 1 is next; 0 not known
  int ahead = -1;    // queued: publishes before this one; -1 not known
  uint64_t bytes = 0, total_bytes = 0;  // upload progress; total 0 when not known
  std::vector<Diagnostic> diagnostics;
};

using EventSink = std::function<void(const Event&)>;

inline Event stage_event(Stage stage, std::string message, int percent) {
  return Event{.kind = Event::Kind::stage, .stage = stage, .message = std::move(message), .percent = percent};
}
inline Event progress_event(Stage stage, std::string message, int percent) {
  return Event{.kind = Event::Kind::progress, .stage = stage, .message = std::move(message), .percent = percent};
}
inline Event log_event(Stage stage, std::string message) {
  return Event{.kind = Event::Kind::log, .stage = stage, .message = std::move(message)};
}
inline Event queued_event(Queue queue, std::string message, int position = 0, int ahead = -1) {
  return Event{.kind = Event::Kind::queued, .message = std::move(message), .queue = queue, .position = position, .ahead = ahead};
}

nlohmann::json to_json(const Diagnostic& d);
std::optional<Diagnostic> diagnostic_from_json(const nlohmann::json& j);  // nullopt when it is not one
// The wire form, and back (nullopt for anything the schema does not allow).
nlohmann::json to_json(const Event& e);
std::optional<Event> event_from_json(const nlohmann::json& j);

}  // namespace studyhub::pipeline
