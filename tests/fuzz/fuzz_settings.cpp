// The settings file and ignore rules: arbitrary text as .studyhub-sandbox.json, as a .gitignore to
// rebase onto a folder, and as a path for the built-in exclusions. No crash; errors are sentences.
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "runner/target.h"
#include "settings/workspace_settings.h"
#include "snapshot/ignore_rules.h"

using namespace studyhub;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto settings = settings::parse_workspace_settings(text);
  if (!settings) {
    FUZZ_CHECK(!settings.error().message.empty(), "an error says what is wrong");
  } else {
    auto target = runner::choose_target({runner::TargetLayer{.target = std::nullopt, .url = std::nullopt, .token = "t", .image = std::nullopt}},
                                        settings.value());
    if (!target) FUZZ_CHECK(!target.error().message.empty(), "a target error says what is wrong");
    (void)snapshot::builtin_rules(settings->include);
  }
  // The first line is the folder prefix, the rest a .gitignore.
  auto nl = text.find('\n');
  std::string_view prefix = text.substr(0, std::min(nl, size_t{64}));
  std::string_view rules = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  std::string rebased = snapshot::rebase_rules(rules, prefix);
  (void)snapshot::builtin_reason(text.substr(0, 256));
  FUZZ_CHECK(rebased.size() <= rules.size() * 4 + prefix.size() * (rules.size() + 1) + 256, "rebased rules stay bounded");
  return 0;
}
