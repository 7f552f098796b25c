// A team's hub for a test: a private PostgreSQL, a database, a data folder, a running hub, a user
// with a token, and the CLI set up to publish to it (the token only in the environment, as users
// give it).
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "support/hub_process.h"
#include "support/postgres.h"
#include "support/sandbox_world.h"

namespace studyhub::testing {

inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The last line of --json output as JSON (the result, or the error event).
inline nlohmann::json last_json(const CommandOutput& r) {
  auto j = nlohmann::json::parse(World::url_of(r), nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}
inline std::string error_of(const CommandOutput& r) {
  return last_json(r).value("/error/message"_json_pointer, std::string());
}

struct HubWorld : World {
  PostgresCluster pg;
  std::string db = pg.create_database();
  std::string data = tmp.path() + "/hub-data";
  std::unique_ptr<HubProcess> hub;
  std::string token;

  explicit HubWorld(std::vector<std::string> flags = {}) {
    hub = std::make_unique<HubProcess>(db, data, flags);
    token = hub_user_add(db, "ada");
    env["STUDYHUB_SANDBOX_HUB_TOKEN"] = token;
  }
  ~HubWorld() { hub.reset(); }  // the hub goes before its database

  CommandOutput publish(const fs::path& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"publish", "--json", "--target", "hub", "--hub-url", hub->url(), dir.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args, std::chrono::seconds(180));
  }
  ApiAnswer api(const std::string& method, const std::string& path, const std::string& body = "",
                const std::string& as = "") {
    return hub_api(hub->url(), method, path, as.empty() ? token : as, body);
  }
  // The PUT requests the hub's log shows (blobs received).
  size_t blob_puts() const {
    std::string log = hub->log();
    size_t n = 0;
    for (size_t at = 0; (at = log.find("PUT /v1/blobs/", at)) != std::string::npos; ++at) ++n;
    return n;
  }
};

// The blob id git gives these bytes.
inline std::string blob_id(const std::string& bytes) {
  TempDir t;
  write_file(fs::path(t.path()) / "f", bytes);
  auto r = run_command({"git", "hash-object", (fs::path(t.path()) / "f").string()});
  REQUIRE(r.status == 0);
  return r.out.substr(0, 40);
}

// Uploads the files (and links: path -> target) as `token`'s and answers {snapshotId, files} as a
// deployment request wants them (the tree id computed by git itself).
inline nlohmann::json manifest(const HubWorld& w, const std::map<std::string, std::string>& files,
                               const std::map<std::string, std::string>& links = {}, const std::string& as = "") {
  TempDir t;
  for (auto& [path, content] : files) write_file(fs::path(t.path()) / path, content);
  for (auto& [path, target] : links) {
    fs::create_directories((fs::path(t.path()) / path).parent_path());
    fs::create_symlink(target, fs::path(t.path()) / path);
  }
  git(t.path(), {"init", "-q"});
  git(t.path(), {"add", "-A"});
  std::string tree = git(t.path(), {"write-tree"}).substr(0, 40);
  nlohmann::json list = nlohmann::json::array();
  auto add = [&](const std::string& path, const std::string& bytes, const char* mode) {
    std::string oid = blob_id(bytes);
    auto put = hub_api(w.hub->url(), "PUT", "/v1/blobs/" + oid, as.empty() ? w.token : as, bytes);
    REQUIRE((put.status == 201 || put.status == 200));
    list.push_back({{"path", path}, {"oid", oid}, {"mode", mode}});
  };
  for (auto& [path, content] : files) add(path, content, "100644");
  for (auto& [path, target] : links) add(path, target, "120000");
  return {{"snapshotId", tree}, {"files", list}};
}

// Every file under `dir` (regular, not too large) is free of `secret`.
inline void check_secret_absent(const std::string& secret, const fs::path& dir) {
  std::error_code ec;
  for (auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec))
    if (e.is_regular_file(ec) && !e.is_symlink(ec) && e.file_size(ec) < (32u << 20)) {
      CAPTURE(e.path());
      CHECK_FALSE(has(read_file(e.path()), secret));
    }
}

}  // namespace studyhub::testing
