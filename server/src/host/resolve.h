// Maps a request target of the static host onto the sites layout. Pure, so it can be tested and
// fuzzed alone: no input maps outside <state>/sites/<name> or <state>/versions/<id>.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace studyhub::host {

struct Target {
  enum class Kind { file, redirect, health, not_found, bad_request } kind = Kind::not_found;
  std::string root;            // the site's folder (a link for /s/, a folder for /v/)
  std::string key;             // the site ("name", or "user/name" on a hub) or the version's folder name
  std::string relative;        // '/'-joined, no "..", no empty parts; "" for the site's root
  bool directory_form = false; // the URL ended with '/'
  bool immutable = false;      // under /v/ (/v/<id>/ locally, /v/<user>/<id>/ on a hub)
  std::string location;        // for redirects
};

// How a host's tree is laid out: a local host serves /s/<name>/ from sites/<name>; the hub serves
// /s/<user>/<name>/ from sites/<user>/<name>. A local host serves /v/<snapshot-id>/ from
// versions/<id>; the hub /v/<user>/<snapshot-id>/ from versions/<user>.<id>.
struct Layout {
  int site_depth = 1;   // path segments naming a site after /s/, and a version after /v/
  bool health = true;   // answer /.studyhub/health (the local host's liveness check)
};

Target resolve_target(std::string_view target, const std::filesystem::path& state_dir, const Layout& layout = {});

// Percent-decoding; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace studyhub::host
