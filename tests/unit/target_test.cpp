// Choosing where to build, the docker-run settings, the payload a docker-run image gets, and the
// runner service's token check.
#include <doctest/doctest.h>

#include "pipeline/diagnostics.h"
#include "core/digest.h"
#include "runner/docker_run_server.h"
#include "runner/payload_builder.h"
#include "runner/target.h"
#include "settings/workspace_settings.h"

using namespace studyhub;
using runner::TargetLayer;

namespace {

settings::WorkspaceSettings parse(const std::string& text) {
  auto s = settings::parse_workspace_settings(text);
  REQUIRE(s);
  return s.value();
}

}  // namespace

TEST_CASE("target: local unless asked — flags beat initializationOptions beat environment beat the settings file") {
  auto none = runner::choose_target({}, {});
  REQUIRE(none);
  CHECK_FALSE(none->docker());

  auto file = parse(R"({"target": "docker-run", "dockerRun": {"url": "https://file.example/", "image": "img/file"}})");
  TargetLayer flags{.target = std::nullopt, .url = "http://flag.example:8088", .token = std::nullopt, .image = std::nullopt};
  TargetLayer init{.target = std::nullopt, .url = "http://init.example", .token = "init-token", .image = "img/init"};
  TargetLayer env{.target = std::nullopt, .url = "http://env.example", .token = "env-token", .image = std::nullopt};
  auto chosen = runner::choose_target({flags, init, env}, file);
  REQUIRE(chosen);
  CHECK(chosen->docker());
  CHECK(chosen->docker_run.urls.front() == "http://flag.example:8088");
  CHECK(chosen->docker_run.token == "init-token");
  CHECK(chosen->docker_run.image == "img/init");

  auto from_file = runner::choose_target({env}, file);
  REQUIRE(from_file);
  CHECK(from_file->docker_run.urls.front() == "http://env.example");
  CHECK(from_file->docker_run.image == "img/file");
  auto only_file = runner::choose_target({TargetLayer{.target = std::nullopt, .url = std::nullopt, .token = "t", .image = std::nullopt}}, file);
  REQUIRE(only_file);
  CHECK(only_file->docker_run.urls.front() == "https://file.example");  // trailing slash dropped: /run is appended

  // A flag can send a file's docker-run sandbox back to this machine.
  auto local = runner::choose_target({TargetLayer{.target = "local", .url = std::nullopt, .token = std::nullopt, .image = std::nullopt}}, file);
  REQUIRE(local);
  CHECK_FALSE(local->docker());
}

TEST_CASE("target: a docker-run target without URL or token, or with a bad URL, says where to set it") {
  auto remote = parse(R"({"target": "docker-run"})");
  auto no_url = runner::choose_target({}, remote);
  REQUIRE_FALSE(no_url);
  CHECK(no_url.error().message.find("STUDYHUB_SANDBOX_DOCKER_RUN_URL") != std::string::npos);

  auto with_url = [](std::string url, std::optional<std::string> token = "t") {
    return TargetLayer{.target = "docker-run", .url = std::move(url), .token = std::move(token), .image = std::nullopt};
  };
  auto no_token = runner::choose_target({with_url("http://b.example", std::nullopt)}, {});
  REQUIRE_FALSE(no_token);
  CHECK(no_token.error().message.find("STUDYHUB_SANDBOX_TOKEN") != std::string::npos);
  CHECK(no_token.error().message.find("b.example") != std::string::npos);

  for (const char* bad : {"ftp://b.example", "not a url", "file:///etc/passwd"}) {
    CAPTURE(bad);
    auto r = runner::choose_target({with_url(bad)}, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("http:// or https://") != std::string::npos);
  }
  auto creds = runner::choose_target({with_url("https://user:secret@b.example")}, {});
  REQUIRE_FALSE(creds);
  CHECK(creds.error().message.find("secret") == std::string::npos);
  CHECK(creds.error().message.find("holds credentials") != std::string::npos);

  auto newline = runner::choose_target({with_url("https://b.example", "a\r\nX-Evil: 1")}, {});
  REQUIRE_FALSE(newline);
  CHECK(newline.error().message.find("line break") != std::string::npos);

  CHECK(runner::url_host("https://b.example:8443/path?q=1") == "b.example:8443");
  CHECK(runner::url_host("https://user:pw@b.example/") == "b.example");
}

TEST_CASE("settings: dockerRun is validated, and a token in the workspace file is ignored with a warning") {
  auto s = parse(R"({"dockerRun": {"url": "https://b.example", "timeoutSeconds": 60, "maxRequestBytes": 5000000,
                                   "token": "do-not-commit", "colour": "red"}})");
  CHECK(s.docker_run.url == "https://b.example");
  CHECK(s.docker_run.timeout_seconds == 60);
  CHECK(s.docker_run.max_request_bytes == 5000000u);
  REQUIRE(s.warnings.size() == 2);
  std::string all = s.warnings[0] + "\n" + s.warnings[1];
  CHECK(all.find("\"dockerRun.token\" ignored") != std::string::npos);
  CHECK(all.find("do-not-commit") == std::string::npos);
  CHECK(all.find("dockerRun.colour") != std::string::npos);

  for (const char* bad : {R"({"dockerRun": 5})", R"({"dockerRun": {"url": 5}})", R"({"dockerRun": {"timeoutSeconds": 0}})",
                          R"({"dockerRun": {"maxRequestBytes": "big"}})"}) {
    CAPTURE(bad);
    auto r = settings::parse_workspace_settings(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("dockerRun") != std::string::npos);
  }
}

TEST_CASE("payload for a docker-run image: create-react-app uses the image's own build, anything else the script") {
  runner::BuiltPayload cra;
  cra.preset = {.kind = runner::PresetKind::create_react_app, .name = "create-react-app", .output_dir = "build", .installs = true};
  cra.payload = {.language = "buildcreatereactapp", .files = {{"package.json", "{}"}, {"src/App.js", "x"}},
                 .stdin_text = std::nullopt, .command = "set -e\n…"};
  auto plain = cra;
  runner::prefer_image_build_commands(plain, "buildcreatereactapp");
  CHECK_FALSE(plain.payload.command.has_value());
  REQUIRE(plain.payload.files.size() == 3);
  CHECK(plain.payload.files.back().name == ".env.production.local");
  CHECK(plain.payload.files.back().content == "PUBLIC_URL=.\n");

  auto with_binary = cra;
  with_binary.binary_files = 1;  // needs the unpack lines of the script
  runner::prefer_image_build_commands(with_binary, "buildcreatereactapp");
  CHECK(with_binary.payload.command.has_value());

  auto other_dir = cra;
  other_dir.preset.output_dir = "out";
  runner::prefer_image_build_commands(other_dir, "buildcreatereactapp");
  CHECK(other_dir.payload.command.has_value());

  auto vite = cra;
  vite.preset = {.kind = runner::PresetKind::vite, .name = "vite", .output_dir = "dist", .installs = true};
  runner::prefer_image_build_commands(vite, "buildcreatereactapp");
  CHECK(vite.payload.command.has_value());

  auto custom_language = cra;
  runner::prefer_image_build_commands(custom_language, "mybuild");
  CHECK(custom_language.payload.command.has_value());
  CHECK(custom_language.payload.language == "mybuild");
}

TEST_CASE("secrets compare equal only when identical") {
  CHECK(studyhub::secret_matches("abc", "abc"));
  CHECK_FALSE(studyhub::secret_matches("abd", "abc"));
  CHECK_FALSE(studyhub::secret_matches("abc ", "abc"));
  CHECK_FALSE(studyhub::secret_matches("", "abc"));
  CHECK_FALSE(studyhub::secret_matches("", ""));  // no token configured admits nobody
}

TEST_CASE("diagnostics from a build folder we do not know map to the longest sandbox file they end with") {
  std::set<std::string> known{"app.ts", "src/app.ts", "package.json"};
  auto d = pipeline::parse_diagnostics("/home/glot/x/src/app.ts(3,5): error TS2322: nope\n/elsewhere/other.ts(1,1): error TS1: x\n",
                                       {}, known);
  REQUIRE(d.size() == 1);
  CHECK(d[0].file == "src/app.ts");
  CHECK(d[0].line == 3);
}
