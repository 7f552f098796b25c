// Replays every conversation in protocol/examples against the real server. The server's answers
// must have the example's shape: the same keys, the same types, and the same values except for
// keys the example marks as varying. So the documented contract and the server cannot drift.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "rpc/framing.h"
#include "support/fs_helpers.h"
#include "support/rpc_client.h"
#include "support/shape_match.h"

using namespace studyhub::testing;
namespace fs = std::filesystem;


TEST_CASE("every protocol example replays against the server") {
  std::vector<fs::path> files;
  for (auto& entry : fs::directory_iterator(fs::path(protocol_dir()) / "examples"))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 9);

  for (const auto& file : files) {
    SUBCASE(file.filename().c_str()) {
      json example = json::parse(std::ifstream(file));
      // A "workspace" is written to a temporary folder that "${workspace}" in client messages names.
      TempDir workspace;
      const json files = example.value("workspace", json::object());
      for (auto& [path, content] : files.items())
        write_file(fs::path(workspace.path()) / path, content.get<std::string>());
      auto substitute = [&](std::string text) {
        for (size_t at; (at = text.find("${workspace}")) != std::string::npos;)
          text.replace(at, 12, workspace.path());
        return text;
      };
      RpcClient c;
      if (example.value("initialize", false)) c.initialize();
      for (auto& entry : example["messages"]) {
        if (entry["from"] == "client") {
          if (entry.contains("write")) {  // the user edits the workspace between messages
            for (auto& [path, content] : entry["write"].items())
              write_file(fs::path(workspace.path()) / path, content.get<std::string>());
            continue;
          }
          if (entry.contains("raw")) c.send_raw(studyhub::rpc::encode_frame(entry["raw"].get<std::string>()));
          else if (entry.contains("rawBytes")) c.send_raw(entry["rawBytes"].get<std::string>());
          else c.send(json::parse(substitute(entry["message"].dump())));
          continue;
        }
        // Progress reports and log lines depend on timing; an example shows the ones that matter,
        // so notifications it does not list are passed over.
        const json& expected = entry["message"];
        auto actual = c.next(60s);
        while (actual && actual->contains("method") &&
               (!expected.contains("method") || (*actual)["method"] != expected["method"] ||
                ((*actual)["method"] == "$/progress" &&
                 (*actual)["params"]["value"]["kind"] != expected["params"]["value"]["kind"])))
          actual = c.next(60s);
        REQUIRE_MESSAGE(actual, (file.filename().string() + ": the server did not send " + entry["message"].dump()));
        std::set<std::string> varies{"version", "processId"};
        for (auto& k : entry.value("varies", json::array())) varies.insert(k.get<std::string>());
        shape_match(entry["message"], *actual, file.filename().string(), varies);
      }
      if (example.contains("exitStatus")) CHECK(c.process().wait(5s) == example["exitStatus"].get<int>());
    }
  }
}
