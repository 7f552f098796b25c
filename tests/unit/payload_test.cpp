// The code-runner contract's JSON, as docker-run and code-runner define it.
#include "runner/payload.h"

#include <doctest/doctest.h>

using namespace studyhub::runner;
using nlohmann::json;

TEST_CASE("a payload round-trips through the contract's JSON") {
  Payload p{.language = "buildcreatereactapp",
            .files = {{"package.json", "{}"}, {"src/App.js", "x"}},
            .stdin_text = std::nullopt,
            .command = "npm run build"};
  json j = to_json(p);
  CHECK(j["language"] == "buildcreatereactapp");
  CHECK(j["files"][1]["name"] == "src/App.js");
  CHECK(j["command"] == "npm run build");
  CHECK_FALSE(j.contains("stdin"));
  auto back = payload_from_json(j);
  REQUIRE(back.ok());
  CHECK(back->files.size() == 2);
  CHECK(back->command == "npm run build");
}

TEST_CASE("payloads code-runner would refuse are refused with its reasons") {
  CHECK_FALSE(payload_from_json(json::array()).ok());
  CHECK_FALSE(payload_from_json({{"files", json::array({{{"name", "a"}, {"content", "x"}}})}}).ok());
  CHECK_FALSE(payload_from_json({{"language", "x"}, {"files", json::array()}}).ok());
  auto empty = payload_from_json({{"language", "x"}, {"files", json::array({{{"name", "a.txt"}, {"content", ""}}})}});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message.find("empty content") != std::string::npos);
  auto unnamed = payload_from_json({{"language", "x"}, {"files", json::array({{{"name", ""}, {"content", "x"}}})}});
  REQUIRE_FALSE(unnamed.ok());
  CHECK(unnamed.error().message.find("empty name") != std::string::npos);
}

TEST_CASE("run results: missing fields are empty, wrong types are errors") {
  auto r = run_result_from_json({{"stdout", "H4sI"}, {"stderr", ""}, {"error", "Exit code: 1"}});
  REQUIRE(r.ok());
  CHECK(r->stdout_text == "H4sI");
  CHECK(r->error == "Exit code: 1");
  CHECK(to_json(r.value())["error"] == "Exit code: 1");
  CHECK(run_result_from_json({{"stdout", "x"}})->stderr_text.empty());
  CHECK_FALSE(run_result_from_json({{"stdout", 5}}).ok());
  CHECK_FALSE(run_result_from_json("text").ok());
}
