// Replays every HTTP conversation in protocol/hub/examples against a real hub on a real
// PostgreSQL. Answers must have the example's shape (same keys and types, same values except the
// ones it lists under "varies"); event streams must hold the example's lines in order. So the
// documented contract and the hub cannot drift. (tests/protocol/validate_examples.py checks the
// examples themselves against protocol/hub/schemas.)
#include <doctest/doctest.h>

#include <fstream>
#include <map>

#include "support/hub_world.h"
#include "support/shape_match.h"

using namespace studyhub::testing;
using nlohmann::json;

namespace {

struct Variables {
  std::map<std::string, std::string> values;
  std::string apply(std::string text) const {
    for (size_t at; (at = text.find("${")) != std::string::npos;) {
      size_t end = text.find('}', at);
      REQUIRE_MESSAGE(end != std::string::npos, text);
      std::string name = text.substr(at + 2, end - at - 2);
      REQUIRE_MESSAGE(values.count(name), ("unknown variable ${" + name + "}"));
      text.replace(at, end - at + 1, values.at(name));
    }
    return text;
  }
  json apply(const json& j) const { return json::parse(apply(j.dump())); }
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t start = 0; start < text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// Does `line` hold every key/value of `want`?
// Whether `line` has every field of `want` with its value; objects are compared field by field, so
// an example names only the fields that matter (an event line's stage, not its message).
bool holds(const json& line, const json& want) {
  for (auto& [k, v] : want.items()) {
    if (!line.contains(k)) return false;
    if (v.is_object() ? !line[k].is_object() || !holds(line[k], v) : line[k] != v) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("every hub HTTP example replays against a real hub") {
  std::vector<fs::path> files;
  for (auto& entry : fs::directory_iterator(fs::path(protocol_dir()) / "hub" / "examples"))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 3);
  for (const auto& file : files) {
    SUBCASE(file.filename().c_str()) {
      json example = json::parse(std::ifstream(file));
      HubWorld w;
      Variables vars;
      vars.values["hub"] = w.hub->url();
      const json workspaces = example.value("workspaces", json::object());  // kept alive: the loop refers into it
      for (auto& [name, workspace] : workspaces.items()) {
        fs::path dir = w.root / ("ws-" + name);
        for (auto& [path, content] : workspace.items()) {
          write_file(dir / path, content.get<std::string>());
          vars.values["content:" + name + ":" + path] = content.get<std::string>();
          vars.values["oid:" + name + ":" + path] = git(dir, {"hash-object", path}).substr(0, 40);
        }
        git(dir, {"init", "-q"});
        git(dir, {"add", "-A"});
        vars.values["tree:" + name] = git(dir, {"write-tree"}).substr(0, 40);
      }
      int n = 0;
      for (const auto& exchange : example["exchanges"]) {
        const json& req = exchange["request"];
        const json& want = exchange["response"];
        std::string where = file.filename().string() + " exchange " + std::to_string(n++);
        CAPTURE(where);
        std::vector<std::string> headers{"Expect:"};
        const json extra_headers = req.value("headers", json::array());
        for (const auto& h : extra_headers) headers.push_back(vars.apply(h.get<std::string>()));
        if (req.value("auth", true)) headers.push_back("Authorization: Bearer " + w.token);
        std::string body;
        if (req.contains("json")) {
          body = vars.apply(req["json"]).dump();
          headers.push_back("Content-Type: application/json");
        } else if (req.contains("raw")) {
          body = vars.apply(req["raw"].get<std::string>());
        }
        auto r = http_request(req["method"].get<std::string>(), w.hub->url() + vars.apply(req["path"].get<std::string>()),
                              headers, body);
        CAPTURE(r.body);
        CHECK(r.status == want["status"].get<long>());
        if (want.contains("contentType")) CHECK(r.headers["content-type"] == want["contentType"].get<std::string>());
        if (want.contains("text")) CHECK(r.body == vars.apply(want["text"].get<std::string>()));
        if (want.contains("ndjson")) {
          // Every line is JSON with a seq; the example's lines come in this order.
          size_t next = 0;
          int64_t last_seq = 0;
          for (const auto& text : split_lines(r.body)) {
            if (text.empty()) continue;  // a keep-alive
            json line = json::parse(text, nullptr, false);
            REQUIRE(line.is_object());
            CHECK(line["seq"].get<int64_t>() > last_seq);
            last_seq = line["seq"].get<int64_t>();
            if (next < want["ndjson"].size() && holds(line, want["ndjson"][next])) ++next;
          }
          CHECK_MESSAGE(next == want["ndjson"].size(), ("lines matched: " + std::to_string(next)));
          if (last_seq > 0) vars.values["lastSeq"] = std::to_string(last_seq);
        }
        json actual = json::parse(r.body, nullptr, false);
        if (want.contains("json")) {
          std::set<std::string> varies;
          const json listed = want.value("varies", json::array());
          for (const auto& k : listed) varies.insert(k.get<std::string>());
          shape_match(vars.apply(want["json"]), actual, where, varies);
        }
        const json saves = want.value("save", json::object());
        for (auto& [var, field] : saves.items()) {
          REQUIRE(actual.contains(field.get<std::string>()));
          vars.values[var] = actual[field.get<std::string>()].dump();
        }
      }
    }
  }
}
