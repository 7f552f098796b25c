#include "pipeline/event.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace studyhub::pipeline {

using nlohmann::json;

namespace {

constexpr std::array<std::pair<Stage, std::string_view>, 7> kStages{{{Stage::snapshot, "snapshot"},
                                                                      {Stage::upload, "upload"},
                                                                      {Stage::queue, "queue"},
                                                                      {Stage::build, "build"},
                                                                      {Stage::download, "download"},
                                                                      {Stage::extract, "extract"},
                                                                      {Stage::publish, "publish"}}};
constexpr std::array<std::pair<Queue, std::string_view>, 3> kQueues{
    {{Queue::local, "local"}, {Queue::machine, "machine"}, {Queue::hub, "hub"}}};
constexpr std::array<std::pair<Event::Kind, std::string_view>, 5> kKinds{{{Event::Kind::stage, "stage"},
                                                                           {Event::Kind::progress, "progress"},
                                                                           {Event::Kind::log, "log"},
                                                                           {Event::Kind::queued, "queued"},
                                                                           {Event::Kind::diagnostics, "diagnostics"}}};

template <class Table, class Value>
std::string_view name_in(const Table& table, Value v) {
  for (const auto& [value, name] : table)
    if (value == v) return name;
  return {};
}

template <class Table>
auto value_in(const Table& table, std::string_view name) -> std::optional<decltype(table[0].first)> {
  for (const auto& [value, n] : table)
    if (n == name) return value;
  return std::nullopt;
}

std::optional<int> integer(const json& j, const char* key, int min, int max) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  auto v = it->get<int64_t>();
  if (v < min || v > max) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

std::string_view wire_name(Stage stage) { return name_in(kStages, stage); }
std::string_view wire_name(Queue queue) { return name_in(kQueues, queue); }
std::optional<Stage> stage_named(std::string_view name) { return value_in(kStages, name); }

const std::vector<std::string_view>& stage_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const auto& [stage, name] : kStages) out.push_back(name);
    return out;
  }();
  return names;
}

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
  json j{{"event", name_in(kKinds, e.kind)}};
  switch (e.kind) {
    case Event::Kind::stage:
    case Event::Kind::progress:
      j.update({{"stage", wire_name(e.stage)}, {"message", e.message}, {"percent", std::clamp(e.percent, 0, 100)}});
      if (e.total_bytes > 0) j.update({{"bytes", e.bytes}, {"totalBytes", e.total_bytes}});
      break;
    case Event::Kind::log:
      j.update({{"stage", wire_name(e.stage)}, {"message", e.message}});
      break;
    case Event::Kind::queued:
      j.update({{"queue", wire_name(e.queue)}, {"message", e.message}});
      if (e.position > 0) j["position"] = e.position;
      if (e.ahead >= 0) j["ahead"] = e.ahead;
      break;
    case Event::Kind::diagnostics: {
      json list = json::array();
      for (const auto& d : e.diagnostics) list.push_back(to_json(d));
      j["diagnostics"] = list;
      break;
    }
  }
  return j;
}

std::optional<Event> event_from_json(const json& j) {
  if (!j.is_object() || !j.contains("event") || !j["event"].is_string()) return std::nullopt;
  auto kind = value_in(kKinds, j["event"].get<std::string>());
  if (!kind) return std::nullopt;
  Event e{.kind = *kind};
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  switch (e.kind) {
    case Event::Kind::stage:
    case Event::Kind::progress:
    case Event::Kind::log: {
      auto stage = text("stage");
      auto message = text("message");
      if (!stage || !message || !stage_named(*stage)) return std::nullopt;
      e.stage = *stage_named(*stage);
      e.message = *message;
      if (e.kind == Event::Kind::log) break;
      auto percent = integer(j, "percent", 0, 100);
      if (!percent) return std::nullopt;
      e.percent = *percent;
      if (j.contains("totalBytes") && j["totalBytes"].is_number_unsigned()) e.total_bytes = j["totalBytes"].get<uint64_t>();
      if (j.contains("bytes") && j["bytes"].is_number_unsigned()) e.bytes = j["bytes"].get<uint64_t>();
      break;
    }
    case Event::Kind::queued: {
      auto queue = text("queue");
      auto message = text("message");
      if (!queue || !message || !value_in(kQueues, *queue)) return std::nullopt;
      e.queue = *value_in(kQueues, *queue);
      e.message = *message;
      e.position = integer(j, "position", 1, INT32_MAX).value_or(0);
      e.ahead = integer(j, "ahead", 0, INT32_MAX).value_or(-1);
      break;
    }
    case Event::Kind::diagnostics: {
      auto it = j.find("diagnostics");
      if (it == j.end() || !it->is_array()) return std::nullopt;
      for (const auto& d : *it)
        if (auto parsed = diagnostic_from_json(d)) e.diagnostics.push_back(*parsed);
      break;
    }
  }
  return e;
}

}  // namespace studyhub::pipeline
