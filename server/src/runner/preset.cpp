#include "runner/preset.h"

#include "core/relpath.h"

#include "runner/sandbox.h"

#include <nlohmann/json.hpp>

namespace studyhub::runner {

using nlohmann::json;

namespace {

bool has_dependency(const json& pkg, const char* name) {
  for (const char* section : {"dependencies", "devDependencies"})
    if (pkg.contains(section) && pkg[section].is_object() && pkg[section].contains(name)) return true;
  return false;
}

bool valid_output_dir(const std::string& dir) {
  // Inside the folder ("./dist" and "dist/" too); "a..b" is a name, not a climb.
  if (dir.empty() || !relpath::normalise(dir)) return false;
  return dir.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") == std::string::npos;
}

std::string sed_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '.') out += "\\";
    out.push_back(c);
  }
  return out;
}

// Packs `dir` as build/ on stdout, the contract's last step.
std::string pack(const std::string& dir_expr, bool literal) {
  std::string check = "[ -d " + dir_expr + " ] || { echo \"studyhub-sandbox: the build produced no " + dir_expr +
                      "/ folder; set outputDir in .studyhub-sandbox.json\" >&2; exit 3; }\n";
  if (literal && dir_expr == "build") return check + "tar -cz build | base64 -w0\n";
  std::string pattern = literal ? sed_escape(dir_expr) : "$(printf %s \"" + dir_expr + "\" | sed 's/[.]/\\\\./g')";
  return check + "tar -cz --transform=\"flags=r;s,^" + pattern + ",build,\" " + dir_expr + " | base64 -w0\n";
}

}  // namespace

Result<Preset> detect_preset(const std::optional<std::string>& package_json, const settings::WorkspaceSettings& s) {
  Preset p;
  json pkg;
  if (package_json) {
    pkg = json::parse(*package_json, nullptr, false);
    if (pkg.is_discarded() || !pkg.is_object())
      return Error{"package.json is not valid JSON; fix it so the sandbox can be built"};
  }
  bool has_build = pkg.is_object() && pkg.contains("scripts") && pkg["scripts"].is_object() &&
                   pkg["scripts"].contains("build") && pkg["scripts"]["build"].is_string();
  std::string name = s.preset.value_or("");
  if (name.empty()) {
    if (!package_json || !has_build) name = "static";
    else if (has_dependency(pkg, "react-scripts")) name = "create-react-app";
    else if (has_dependency(pkg, "vite")) name = "vite";
    else name = "npm";
  }
  p.name = name;
  if (name == "create-react-app") p.kind = PresetKind::create_react_app, p.output_dir = "build";
  else if (name == "vite") p.kind = PresetKind::vite, p.output_dir = "dist";
  else if (name == "npm") p.kind = PresetKind::npm;
  else p.kind = PresetKind::static_site;
  if (p.kind != PresetKind::static_site) {
    if (!package_json) return Error{"the " + name + " preset needs a package.json in the sandbox folder"};
    if (!has_build) return Error{"package.json has no \"build\" script, which the " + name + " preset runs"};
    p.installs = true;
  }
  if (s.output_dir) {
    if (!valid_output_dir(*s.output_dir))
      return Error{".studyhub-sandbox.json: \"outputDir\" must be a relative folder name (letters, digits, . _ - /)"};
    if (p.kind != PresetKind::static_site) p.output_dir = *s.output_dir;
  }
  return p;
}

std::string build_script(const Preset& p, const ScriptParts& parts) {
  std::string s = "set -e\n";
  s += parts.unpack;
  if (p.kind == PresetKind::static_site) {
    // The files themselves are the site, less the sandbox's own configuration.
    s += "tar -cz --exclude=./node_modules --exclude=./.studyhub-sandbox.json --exclude=./.sandboxignore "
         "--exclude=./.gitignore --exclude=./.studyhub-empty-sandbox --transform=\"flags=r;s,^[.],build,\" . | base64 -w0\n";
    return s;
  }
  std::string install = "npm install --no-audit --no-fund 1>&2";
  if (p.kind == PresetKind::create_react_app)
    install += " && npm install --no-audit --no-fund create-react-app react-scripts 1>&2";
  s += "deps=" + parts.deps_hash + "\n";
  s += "if [ \"$(cat node_modules/.studyhub-deps 2>/dev/null)\" != \"$deps\" ]; then\n";
  s += "  " + install + "\n";
  s += "  mkdir -p node_modules && echo \"$deps\" > node_modules/.studyhub-deps\n";
  s += "else\n  echo \"studyhub-sandbox: dependencies unchanged, npm install skipped\" >&2\nfi\n";
  // A sandboxed build runs what comes before this line with the network (installing) and the rest
  // without (building); a plain shell reads it as a comment.
  s += std::string(kBuildStepMarker) + "\n";
  // Relative asset URLs, so the site works under /s/<name>/, /v/<id>/ and any nginx prefix.
  switch (p.kind) {
    case PresetKind::create_react_app:
      s += "PUBLIC_URL=. BROWSER=none npm run build 1>&2\n";
      break;
    case PresetKind::vite:
      s += "npm run build -- --base=./ 1>&2\n";
      break;
    default:
      s += "PUBLIC_URL=. npm run build 1>&2\n";
      break;
  }
  if (!p.output_dir.empty()) return s + pack(p.output_dir, true);
  s += "if [ -d build ]; then out=build; elif [ -d dist ]; then out=dist; else out=build; fi\n";
  return s + pack("$out", false);
}

}  // namespace studyhub::runner
