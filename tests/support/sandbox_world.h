// A private state directory plus sandbox folders to publish, for tests that drive the real binary.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/fs_helpers.h"
#include "support/http_client.h"
#include "support/rpc_client.h"

namespace studyhub::testing {

struct World {
  TempDir tmp;
  std::string state = tmp.path() + "/state";
  fs::path root = fs::path(tmp.path());

  // Other state directories a test publishes from (each may start a background host).
  std::vector<std::string> other_states;

  ~World() {  // the background hosts of these state directories
    cli({"host", "--stop"});
    for (const auto& s : other_states) run_command({binary_path(), "host", "--stop"}, {{"STUDYHUB_SANDBOX_HOME", s}});
  }

  // Extra environment for every command (a token, a docker-run URL).
  std::map<std::string, std::string> env;

  CommandOutput cli(std::vector<std::string> args, std::chrono::seconds timeout = std::chrono::seconds(120)) {
    args.insert(args.begin(), binary_path());
    auto all = env;
    all["STUDYHUB_SANDBOX_HOME"] = state;
    return run_command(args, all, timeout);
  }
  // The URL: the last line of stdout.
  static std::string url_of(const CommandOutput& r) {
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  }
  fs::path static_site(const std::string& name, const std::string& title) {
    fs::path dir = root / name;
    write_file(dir / "index.html", "<!doctype html><title>" + title +
                                       "</title><link rel=\"stylesheet\" href=\"css/site.css\"><img src=\"img/dot.png\">"
                                       "<script src=\"./js/app.js\"></script><h1>" + title + "</h1>\n");
    write_file(dir / "css/site.css", "h1 { color: red }\n");
    write_file(dir / "js/app.js", "console.log('" + title + "')\n");
    write_file(dir / "img/dot.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1", 20));
    write_file(dir / "empty.txt", "");
    return dir;
  }
  // An npm-preset sandbox whose build is a dependency-free node script: `extra` runs first.
  fs::path npm_site(const std::string& name, const std::string& title, const std::string& extra = "") {
    fs::path dir = root / name;
    write_file(dir / "package.json", R"({"name":"x","private":true,"scripts":{"build":"node build.js"}})");
    write_file(dir / "src/app.js", "console.log('" + title + "')\n");
    write_file(dir / "build.js",
               "const fs = require('fs');\n" + extra +
                   "fs.mkdirSync('dist/assets', {recursive: true});\n"
                   "fs.writeFileSync('dist/index.html', '<title>" + title +
                   "</title><script src=\"./assets/app.js\"></script><h1>" + title + "</h1>');\n"
                   "fs.copyFileSync('src/app.js', 'dist/assets/app.js');\n"
                   "console.error('built " + title + "');\n");
    return dir;
  }
};

// Fetches a page and every local asset it references, relative to the page's URL.
inline void check_site_loads(const std::string& url, const std::string& expected_text) {
  auto page = http_get(url);
  REQUIRE(page.status == 200);
  CHECK(page.body.find(expected_text) != std::string::npos);
  auto refs = local_references(page.body);
  CHECK_FALSE(refs.empty());
  for (auto ref : refs) {
    CAPTURE(ref);
    if (ref.starts_with("./")) ref = ref.substr(2);
    CHECK_MESSAGE(ref.front() != '/', "an absolute asset path would break under /v/ and behind a prefix");
    auto asset = http_get(url + ref);
    CHECK(asset.status == 200);
    CHECK_FALSE(asset.body.empty());
  }
}


}  // namespace studyhub::testing
