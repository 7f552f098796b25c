#include "service/site_list.h"

#include <ctime>

#include "host/host_control.h"
#include "publish/store.h"

namespace studyhub::service {

namespace {
std::string iso_time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
}  // namespace

Result<nlohmann::json> site_list(const std::filesystem::path& state_dir) {
  publish::SiteStore store(state_dir);
  auto sites = store.list();
  nlohmann::json out = nlohmann::json::array();
  std::string base;
  if (!sites.empty()) {
    std::error_code ec;
    auto url = host::ensure_host(state_dir, std::filesystem::read_symlink("/proc/self/exe", ec));
    if (!url) return url.error();
    base = url.value();
  }
  for (const auto& s : sites)
    out.push_back({{"name", s.name},
                   {"url", base + "/s/" + s.name + "/"},
                   {"immutableUrl", base + "/v/" + s.snapshot_id + "/"},
                   {"snapshotId", s.snapshot_id},
                   {"publishedAt", iso_time(s.published_at_ms)},
                   {"folder", s.folder},
                   {"files", s.files},
                   {"bytes", s.bytes},
                   {"history", s.history}});
  return nlohmann::json{{"sites", out}};
}

}  // namespace studyhub::service
