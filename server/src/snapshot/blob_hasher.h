// Hashes files into the shadow object database on every core at once, and builds the index
// entries that record them. libgit2's git_index_add_bypath does the same work one file at a time;
// on a cold snapshot that work is most of the time.
#pragma once

#include "libs/git2.h"
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

namespace studyhub::snapshot {

struct HashedFile {
  std::string path;      // relative to the work root
  struct stat st {};     // taken before reading, so a later change shows as a stat mismatch
  git_oid id{};
  bool binary = false;
  bool vanished = false;  // gone between listing and hashing
  std::string error;      // why it could not be read (empty when fine)
};

// Stores each path as a blob; `progress` receives the count done so far (from the calling thread).
std::vector<HashedFile> hash_files(const std::filesystem::path& objects_dir, const std::filesystem::path& root,
                                   const std::vector<std::string>& paths, std::stop_token stop,
                                   const std::function<void(size_t done)>& progress);

// The index entry for a hashed file, with the stat data libgit2's diff compares next time.
git_index_entry index_entry_for(const HashedFile& file);

}  // namespace studyhub::snapshot
