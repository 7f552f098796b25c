// `list`, `rollback NAME [SNAPSHOT]`, `unpublish NAME`: a site's lifecycle, on this machine or the hub.
#include <iostream>

#include "cli/commands.h"
#include "core/state_dir.h"
#include "service/sites.h"

namespace studyhub::cli {

using nlohmann::json;

namespace {

// The hub these commands talk to: --hub-url, else STUDYHUB_SANDBOX_HUB_URL (the token only from
// STUDYHUB_SANDBOX_HUB_TOKEN). nullopt: none is configured.
Result<std::optional<runner::HubConfig>> configured_hub(const SiteCommandOptions& o) {
  runner::TargetLayer flags{.hub_url = o.hub_url};
  return runner::choose_hub({flags, runner::target_from_environment()}, settings::WorkspaceSettings{});
}

// For rollback and unpublish: the hub when asked for (--target hub, or a --hub-url), else local.
Result<std::optional<runner::HubConfig>> chosen_target(const SiteCommandOptions& o) {
  bool hub = o.target == "hub" || (o.target.empty() && o.hub_url);
  if (!hub) return std::optional<runner::HubConfig>();
  auto config = configured_hub(o);
  if (!config) return config.error();
  if (!config.value())
    return Error{"the hub target needs the hub's URL: pass --hub-url or set STUDYHUB_SANDBOX_HUB_URL"};
  return config;
}

void print_site_line(const json& s) {
  std::cout << s.value("name", "") << "  " << s.value("url", "") << "  " << s.value("snapshotId", "").substr(0, 12) << "  "
            << s.value("publishedAt", "") << "\n";
}

}  // namespace

int run_list(const SiteCommandOptions& o) {
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  auto hub = configured_hub(o);
  std::optional<runner::HubConfig> config = hub ? hub.value() : std::nullopt;
  auto list = service::list_sites(state_dir.value(), config);
  if (!list) return fail(list.error().message);
  if (!hub) (*list)["hub"] = {{"url", o.hub_url.value_or("")}, {"sites", json::array()}, {"error", hub.error().message}};
  if (o.json) {
    std::cout << list->dump(2) << "\n";
    return 0;
  }
  const auto& sites = list.value()["sites"];
  if (sites.empty() && !list->contains("hub")) {
    std::cout << "nothing published yet; run 'studyhub-sandbox publish DIR'\n";
    return 0;
  }
  for (const auto& s : sites) print_site_line(s);
  if (list->contains("hub")) {
    const auto& h = (*list)["hub"];
    std::cout << (sites.empty() ? "" : "\n") << "on the hub " << h.value("url", "") << ":\n";
    if (h.contains("error")) std::cerr << "studyhub-sandbox: " << h["error"].get<std::string>() << "\n";
    else if (h["sites"].empty()) std::cout << "  nothing published there yet\n";
    for (const auto& s : h["sites"]) print_site_line(s);
  }
  return 0;
}

int run_rollback(const SiteCommandOptions& o) {
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  auto hub = chosen_target(o);
  if (!hub) return fail(hub.error().message);
  auto done = service::rollback_site(state_dir.value(), hub.value(), o.name, o.snapshot);
  if (!done) return fail("rollback failed: " + done.error().message);
  if (o.json) {
    std::cout << done->dump() << "\n";
    return 0;
  }
  std::cerr << "rolled " << o.name << " back to " << done->value("snapshotId", "").substr(0, 12) << "; immutable: "
            << done->value("immutableUrl", "") << "\n";
  std::cout << done->value("url", "") << "\n";
  return 0;
}

int run_unpublish(const SiteCommandOptions& o) {
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  auto hub = chosen_target(o);
  if (!hub) return fail(hub.error().message);
  auto done = service::unpublish_site(state_dir.value(), hub.value(), o.name);
  if (!done) return fail("unpublish failed: " + done.error().message);
  if (o.json) std::cout << done->dump() << "\n";
  else std::cout << "took " << o.name << " down" << (hub.value() ? " on the hub" : "") << "\n";
  return 0;
}

}  // namespace studyhub::cli
