#include <ctime>
#include <iostream>

#include "cli/commands.h"
#include "core/state_dir.h"
#include "service/site_list.h"

namespace studyhub::cli {

int run_list(bool as_json) {
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  auto list = service::site_list(state_dir.value());
  if (!list) return fail(list.error().message);
  if (as_json) {
    std::cout << list->dump(2) << "\n";
    return 0;
  }
  const auto& sites = list.value()["sites"];
  if (sites.empty()) {
    std::cout << "nothing published yet; run 'studyhub-sandbox publish DIR'\n";
    return 0;
  }
  for (const auto& s : sites)
    std::cout << s["name"].get<std::string>() << "  " << s["url"].get<std::string>() << "  "
              << s["snapshotId"].get<std::string>().substr(0, 12) << "  " << s["publishedAt"].get<std::string>() << "\n";
  return 0;
}

}  // namespace studyhub::cli
