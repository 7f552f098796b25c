// The optional .studyhub-sandbox.json at a sandbox folder's root. Flags beat the environment,
// the environment beats this file, this file beats the defaults.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace studyhub::settings {

inline constexpr const char* kSettingsFileName = ".studyhub-sandbox.json";

struct SnapshotLimits {
  uint64_t max_files = 20'000;
  uint64_t max_total_bytes = 256ull << 20;
  uint64_t max_file_bytes = 50ull << 20;
};

// Where a docker-run service is and how to call it. The access token is deliberately not here:
// a settings file lives in the workspace and gets committed; tokens come from the environment
// or the editor's secret storage.
struct DockerRunSettings {
  std::optional<std::string> url;       // e.g. https://builder.example.com
  std::optional<std::string> image;     // default vermusl/create-react-app
  std::optional<std::string> language;  // default buildcreatereactapp
  std::optional<int> timeout_seconds;   // whole request, default 900
  std::optional<uint64_t> max_request_bytes;  // default 2 MiB, docker-run's JSON body limit
};

// Where a team's hub is. As for docker-run, the token is never here (STUDYHUB_SANDBOX_HUB_TOKEN or
// the editor's "Set Hub Access Token").
struct HubSettings {
  std::optional<std::string> url;  // e.g. https://hub.example.com
};

struct WorkspaceSettings {
  std::optional<std::string> name;        // sandbox name in the URL
  std::optional<std::string> preset;      // create-react-app | vite | npm | static
  std::optional<std::string> output_dir;  // the built site's folder
  std::optional<std::string> target;      // local | docker-run | hub
  std::vector<std::string> ignore;        // extra exclusions, gitignore syntax
  std::vector<std::string> include;       // opt back in to built-in exclusions (".env.example")
  SnapshotLimits limits;
  std::optional<int> build_timeout_seconds;  // default 600
  std::optional<int> keep_versions;          // versions kept per sandbox name, default 5
  DockerRunSettings docker_run;
  HubSettings hub;
  std::vector<std::string> warnings;      // unknown keys and similar, worth showing the user
};

// Parses the file's text; errors name the file, the key and what is expected.
Result<WorkspaceSettings> parse_workspace_settings(std::string_view text);

// Reads <folder>/.studyhub-sandbox.json; defaults when it does not exist.
Result<WorkspaceSettings> load_workspace_settings(const std::filesystem::path& folder);

}  // namespace studyhub::settings
