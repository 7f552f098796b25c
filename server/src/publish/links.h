// The filesystem moves that make a publish atomic, shared by the local site store and the hub:
// a finished folder enters with one rename, a site's link is swapped with one rename, and a folder
// leaves by a rename out of sight before it is deleted. Readers (the host, nginx) see the old state
// or the new, never half of either.
#pragma once

#include <filesystem>

#include "core/error.h"

namespace studyhub::publish {

// Moves `staging` to `final_dir` (its parent must exist). When `final_dir` exists already, the
// staging folder is removed instead: content-addressed, both hold the same.
Status commit_dir(const std::filesystem::path& staging, const std::filesystem::path& final_dir);

// Makes `link` a symbolic link to `target` (relative targets stay relative), replacing what was
// there in one rename.
Status swap_link(const std::filesystem::path& link, const std::filesystem::path& target);

// Renames `dir` into `trash_parent` and deletes it there.
void remove_dir(const std::filesystem::path& dir, const std::filesystem::path& trash_parent);

// A random 16-hex-digit suffix for temporary names.
std::string random_suffix();

}  // namespace studyhub::publish
