#include "service/sites.h"

#include <ctime>

#include "host/host_control.h"
#include "hub_client/hub_client.h"
#include "publish/store.h"

namespace studyhub::service {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string iso_time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> local_base_url(const fs::path& state_dir) {
  std::error_code ec;
  return host::ensure_host(state_dir, fs::read_symlink("/proc/self/exe", ec));
}

json local_site_json(const publish::SiteInfo& s, const std::string& base) {
  return {{"name", s.name},
          {"url", base + "/s/" + s.name + "/"},
          {"immutableUrl", base + "/v/" + s.snapshot_id + "/"},
          {"snapshotId", s.snapshot_id},
          {"publishedAt", iso_time(s.published_at_ms)},
          {"folder", s.folder},
          {"files", s.files},
          {"bytes", s.bytes},
          {"history", s.history}};
}

// The hub's answer for a site, in the shape the list gives.
json hub_site_json(const json& s) {
  json out{{"name", s.value("name", "")},
           {"url", s.value("url", "")},
           {"immutableUrl", s.value("immutableUrl", "")},
           {"snapshotId", s.value("snapshotId", "")},
           {"publishedAt", s.value("publishedAt", "")},
           {"history", s.contains("history") && s["history"].is_array() ? s["history"] : json::array()}};
  return out;
}

}  // namespace

Result<json> list_sites(const fs::path& state_dir, const std::optional<runner::HubConfig>& hub) {
  publish::SiteStore store(state_dir);
  auto sites = store.list();
  json local = json::array();
  if (!sites.empty()) {
    auto base = local_base_url(state_dir);
    if (!base) return base.error();
    for (const auto& s : sites) local.push_back(local_site_json(s, base.value()));
  }
  json out{{"sites", local}};
  if (!hub) return out;
  hub_client::HubClient client(*hub);
  json remote{{"url", hub->url}, {"sites", json::array()}};
  auto listed = client.sites({});
  if (!listed) {
    remote["error"] = listed.error().message;
  } else if (listed->contains("sites") && listed.value()["sites"].is_array()) {
    for (const auto& s : listed.value()["sites"]) remote["sites"].push_back(hub_site_json(s));
  }
  out["hub"] = remote;
  return out;
}

Result<json> rollback_site(const fs::path& state_dir, const std::optional<runner::HubConfig>& hub, const std::string& name,
                           const std::optional<std::string>& snapshot_id) {
  if (hub) {
    auto done = hub_client::HubClient(*hub).rollback(name, snapshot_id, {});
    if (!done) return done.error();
    json out = hub_site_json(done.value());
    out.erase("history");
    out["target"] = "hub";
    return out;
  }
  publish::SiteStore store(state_dir);
  auto done = store.rollback(name, snapshot_id);
  if (!done) return done.error();
  auto base = local_base_url(state_dir);
  if (!base) return base.error();
  json out = local_site_json(done.value(), base.value());
  for (const char* k : {"folder", "files", "bytes", "history"}) out.erase(k);
  out["target"] = "local";
  return out;
}

Result<json> unpublish_site(const fs::path& state_dir, const std::optional<runner::HubConfig>& hub, const std::string& name) {
  if (hub) {
    auto done = hub_client::HubClient(*hub).remove_site(name, {});
    if (!done) return done.error();
    return json{{"name", name}, {"target", "hub"}, {"removed", true}};
  }
  auto done = publish::SiteStore(state_dir).unpublish(name);
  if (!done) return done.error();
  if (!done.value()) return Error{"there is no published sandbox named " + name + " here", false, "not_found"};
  return json{{"name", name}, {"target", "local"}, {"removed", true}};
}

}  // namespace studyhub::service
