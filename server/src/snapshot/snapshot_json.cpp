#include "snapshot/snapshot_json.h"

#include <cstdio>
#include <map>

namespace studyhub::snapshot {

std::string mode_string(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06o", mode);
  return buf;
}

nlohmann::json to_json(const Snapshot& s, bool with_files) {
  using nlohmann::json;
  json files = json::array();
  if (with_files)
    for (const auto& f : s.files)
      files.push_back({{"path", f.path}, {"size", f.size}, {"mode", mode_string(f.mode)}, {"blob", f.blob},
                       {"binary", f.binary}});
  json excluded = json::array();
  std::map<std::string, int> counts;
  for (const auto& e : s.excluded) {
    excluded.push_back({{"path", e.path}, {"reason", e.reason}});
    counts[e.reason]++;
  }
  json out{{"snapshotId", s.id},
           {"commit", s.commit},
           {"folder", s.folder.string()},
           {"fileCount", s.files.size()},
           {"bytes", s.bytes},
           {"excluded", std::move(excluded)},
           {"excludedCounts", counts},
           {"warnings", s.warnings}};
  if (with_files) out["files"] = std::move(files);
  return out;
}

}  // namespace studyhub::snapshot
