// Exclusion rules beyond the user's .gitignore files: the built-in ones (node_modules, secrets),
// the publish-only .sandboxignore, and the settings file's extra patterns.
//
// All of them are gitignore syntax written relative to the sandbox folder. The shadow repository's
// work root may sit higher (the enclosing repository's root, so that parent .gitignore files
// apply), so rules are rebased onto the folder's path before libgit2 reads them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace studyhub::snapshot {

inline constexpr const char* kSandboxIgnoreFile = ".sandboxignore";

// Why a built-in rule excludes a path ("node_modules" or "secret"), judged on the last component.
// `path` is relative to the folder; directories are passed with a trailing '/'.
std::optional<std::string> builtin_reason(std::string_view path);

// The built-in rules as gitignore text, followed by "!pattern" for each opt-in.
std::string builtin_rules(const std::vector<std::string>& include);

// Rewrites gitignore text written for the folder `prefix` (relative to the work root, no
// leading or trailing slash; empty for the root itself) so it means the same read at the root.
std::string rebase_rules(std::string_view text, std::string_view prefix);

}  // namespace studyhub::snapshot
