#include <chrono>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "core/state_dir.h"
#include "settings/workspace_settings.h"
#include "snapshot/snapshot.h"
#include "snapshot/snapshot_json.h"

namespace studyhub::cli {

namespace {

void print_human(const snapshot::Snapshot& s) {
  std::cout << "snapshot " << s.id << "\n"
            << "  folder   " << s.folder.string() << "\n"
            << "  files    " << s.files.size() << " (" << s.bytes << " bytes)\n";
  std::map<std::string, std::vector<std::string>> by_reason;
  for (const auto& e : s.excluded) by_reason[e.reason].push_back(e.path);
  if (by_reason.empty()) std::cout << "  excluded nothing\n";
  for (const auto& [reason, paths] : by_reason) {
    std::cout << "  excluded " << paths.size() << " by " << reason << ":";
    for (size_t i = 0; i < std::min<size_t>(paths.size(), 5); ++i) std::cout << " " << paths[i];
    if (paths.size() > 5) std::cout << " … and " << paths.size() - 5 << " more";
    std::cout << "\n";
  }
  for (const auto& w : s.warnings) std::cerr << "studyhub-sandbox: warning: " << w << "\n";
}

}  // namespace

int run_snapshot(const SnapshotCommandOptions& options) {
  auto started = std::chrono::steady_clock::now();
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  auto settings = settings::load_workspace_settings(options.dir);
  if (!settings) return fail(settings.error().message);
  for (const auto& w : settings->warnings) std::cerr << "studyhub-sandbox: warning: " << w << "\n";
  auto snap = snapshot::take_snapshot(options.dir, settings.value(), {.state_dir = state_dir.value()});
  if (!snap) return fail("snapshot failed: " + snap.error().message);
  if (options.json) {
    auto out = snapshot::to_json(snap.value());
    out["durationMs"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started).count();
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    print_human(snap.value());
  }
  return 0;
}

}  // namespace studyhub::cli
