// How a sandbox is built, detected from its package.json (overridable with "preset" in the
// settings file), and the shell script that builds it. The script ends in the contract's
// `tar -cz build | base64`, so the same payload builds the same site on any runner.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "settings/workspace_settings.h"

namespace studyhub::runner {

enum class PresetKind { create_react_app, vite, npm, static_site };

struct Preset {
  PresetKind kind = PresetKind::static_site;
  std::string name;        // create-react-app | vite | npm | static
  std::string output_dir;  // the built site's folder; empty for npm without a setting (build/, else dist/)
  bool installs = false;   // runs npm install
};

Result<Preset> detect_preset(const std::optional<std::string>& package_json, const settings::WorkspaceSettings& settings);

struct ScriptParts {
  std::string unpack;     // recreates files the payload cannot carry as they are (may be empty)
  std::string deps_hash;  // of package.json and the lockfile: npm install is skipped when unchanged
};

// The complete shell script (run with sh -c in the payload's folder).
std::string build_script(const Preset& preset, const ScriptParts& parts);

}  // namespace studyhub::runner
