// Building real folders and git repositories for tests.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace studyhub::testing {

namespace fs = std::filesystem;

void write_file(const fs::path& path, std::string_view content);  // creates parent folders
std::string read_file(const fs::path& path);

// Runs git with a private config (no user or system config) in `dir`; throws on failure.
std::string git(const fs::path& dir, std::vector<std::string> args);

// Every entry under `root` (hidden ones and .git included) with its type, mode, mtime and content,
// so a test can prove a folder was left exactly as it was.
struct EntryState {
  std::string type;
  unsigned mode = 0;
  long long mtime_ns = 0;
  std::string content;  // file content or link target
  bool operator==(const EntryState&) const = default;
};
std::map<std::string, EntryState> folder_state(const fs::path& root);

}  // namespace studyhub::testing
