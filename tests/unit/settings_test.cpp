#include "settings/workspace_settings.h"

#include <doctest/doctest.h>

using namespace studyhub::settings;

TEST_CASE("a full settings file parses") {
  auto s = parse_workspace_settings(R"({
    // comments are allowed
    "name": "my-app", "preset": "vite", "outputDir": "dist", "target": "local",
    "ignore": ["*.psd"], "include": [".env.example"],
    "limits": {"maxFiles": 10, "maxTotalBytes": 1000, "maxFileBytes": 100}})");
  REQUIRE(s.ok());
  CHECK(s->name == "my-app");
  CHECK(s->preset == "vite");
  CHECK(s->ignore == std::vector<std::string>{"*.psd"});
  CHECK(s->include == std::vector<std::string>{".env.example"});
  CHECK(s->limits.max_files == 10);
  CHECK(s->limits.max_total_bytes == 1000);
  CHECK(s->limits.max_file_bytes == 100);
  CHECK(s->warnings.empty());
}

TEST_CASE("bad settings give errors that name the key") {
  struct Case {
    const char* text;
    const char* needle;
  };
  for (auto c : std::initializer_list<Case>{{"{", "not valid JSON"},
                                            {"[]", "JSON object"},
                                            {R"({"name": 5})", "\"name\""},
                                            {R"({"preset": "gulp"})", "\"preset\""},
                                            {R"({"target": "cloud"})", "\"target\""},
                                            {R"({"ignore": "x"})", "\"ignore\""},
                                            {R"({"include": [1]})", "\"include\""},
                                            {R"({"ignore": ["a\nb"]})", "line breaks"},
                                            {R"({"limits": {"maxFiles": -1}})", "limits.maxFiles"},
                                            {R"({"limits": {"maxFiles": 0}})", "limits.maxFiles"},
                                            {R"({"limits": 3})", "\"limits\""}}) {
    CAPTURE(c.text);
    auto s = parse_workspace_settings(c.text);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find(c.needle) != std::string::npos);
    CHECK(s.error().message.find(".studyhub-sandbox.json") != std::string::npos);
  }
}

TEST_CASE("unknown keys are warnings, not errors") {
  auto s = parse_workspace_settings(R"({"nmae": "typo"})");
  REQUIRE(s.ok());
  REQUIRE(s->warnings.size() == 1);
  CHECK(s->warnings[0].find("nmae") != std::string::npos);
}

TEST_CASE("build timeout and kept versions are bounded integers") {
  auto s = parse_workspace_settings(R"({"buildTimeoutSeconds": 30, "keepVersions": 2})");
  REQUIRE(s.ok());
  CHECK(s->build_timeout_seconds == 30);
  CHECK(s->keep_versions == 2);
  CHECK_FALSE(parse_workspace_settings(R"({"buildTimeoutSeconds": 0})").ok());
  CHECK_FALSE(parse_workspace_settings(R"({"keepVersions": "five"})").ok());
}
