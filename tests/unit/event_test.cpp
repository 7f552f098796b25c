// The one event schema: the C++ wire tables are the schema's enums, and every kind of event goes
// to JSON and back unchanged; anything the schema does not allow is refused by the decoder.
#include "pipeline/event.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "support/rpc_client.h"

using namespace studyhub::pipeline;
using nlohmann::json;

namespace {

json schema() {
  std::ifstream in(std::filesystem::path(studyhub::testing::protocol_dir()) / "schemas" / "event.json");
  return json::parse(in);
}

std::vector<std::string> strings(const json& list) {
  std::vector<std::string> out;
  for (const auto& v : list) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("event schema: the stages, queues and kinds of pipeline/event.cpp are the schema's enums") {
  json s = schema();
  std::vector<std::string> stages;
  for (auto name : stage_names()) stages.emplace_back(name);
  CHECK(stages == strings(s["properties"]["stage"]["enum"]));
  CHECK(strings(s["properties"]["queue"]["enum"]) ==
        std::vector<std::string>{std::string(wire_name(Queue::local)), std::string(wire_name(Queue::machine)),
                                 std::string(wire_name(Queue::hub))});
  std::vector<std::string> kinds;
  for (auto k : {Event::Kind::stage, Event::Kind::progress, Event::Kind::log, Event::Kind::queued, Event::Kind::diagnostics})
    kinds.push_back(to_json(Event{.kind = k})["event"]);
  CHECK(kinds == strings(s["properties"]["event"]["enum"]));
  // Every key the encoder writes is a property of the schema (it allows no others).
  Event upload = progress_event(Stage::upload, "sending", 20);
  upload.bytes = 10;
  upload.total_bytes = 40;
  for (const auto& e : {upload, queued_event(Queue::hub, "q", 2, 1), log_event(Stage::build, "l"),
                        Event{.kind = Event::Kind::diagnostics, .diagnostics = {Diagnostic{"a.js", 3, 4, "error", "x"}}}}) {
    const json encoded = to_json(e);
    for (const auto& [key, value] : encoded.items()) {
      CAPTURE(key);
      CHECK(s["properties"].contains(key));
    }
  }
}

TEST_CASE("event schema: every event goes to JSON and back unchanged, and what the schema refuses is refused") {
  Event upload = progress_event(Stage::upload, "sending 3 files: 1 KB of 4 KB", 15);
  upload.bytes = 1000;
  upload.total_bytes = 4000;
  std::vector<Event> events{stage_event(Stage::extract, "unpacking", 80),
                            upload,
                            log_event(Stage::build, "vite v5 building for production…"),
                            queued_event(Queue::hub, "queued: 1 publishes ahead on hub", 2, 1),
                            queued_event(Queue::machine, "waiting for another publish on this machine"),
                            Event{.kind = Event::Kind::diagnostics, .diagnostics = {Diagnostic{"src/App.jsx", 5, 38, "error", "Expected \")\""}}}};
  for (const auto& e : events) {
    json j = to_json(e);
    CAPTURE(j.dump());
    auto back = event_from_json(j);
    REQUIRE(back);
    CHECK(to_json(*back) == j);
  }
  for (const char* bad : {R"({})", R"({"event":"stage","stage":"nowhere","message":"m","percent":1})",
                          R"({"event":"progress","stage":"build","message":"m","percent":101})",
                          R"({"event":"log","stage":"build"})", R"({"event":"queued","queue":"elsewhere","message":"m"})",
                          R"({"event":"shout","message":"m"})", R"([1])"}) {
    CAPTURE(bad);
    CHECK_FALSE(event_from_json(json::parse(bad)));
  }
}
