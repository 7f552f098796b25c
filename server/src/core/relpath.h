// Relative paths inside a site, a snapshot or a payload: the one place the server decides whether a
// path is safe, what it means once normalised, and where a symbolic link really leads. Pure (no
// filesystem access), so it is tested and fuzzed alone; callers that look at a folder on disk build
// a LinkTree from it first.
//
// Links are resolved through the tree's other links as the kernel would (a link to a link, a link
// inside a linked folder, `..` after a link), not read lexically: `x -> ../../..` placed three
// folders down and `esc -> a/b/c/x/..` each look harmless alone and together climb out.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace studyhub::relpath {

inline constexpr size_t kMaxPathBytes = 4096;
inline constexpr int kMaxLinkHops = 40;  // the kernel's own bound (MAXSYMLINKS)

// Why `path` is not a strict relative path, or "" when it is. Strict: not empty, at most
// kMaxPathBytes, not absolute, no NUL, backslash or line break, no empty part (so no "a//b", no
// trailing '/'), no "." or ".." part.
std::string problem(std::string_view path);

// `path` with "." and empty parts dropped ("./dist//a/" -> "dist/a"; "" for the root), or nullopt
// when it is absolute, holds a NUL or a backslash, or has a ".." part.
std::optional<std::string> normalise(std::string_view path);

// The non-empty parts of a '/'-separated path, "." included (callers decide about it).
std::vector<std::string_view> parts(std::string_view path);

// Whether `path` has a part equal to `name` (e.g. ".git").
bool has_part(std::string_view path, std::string_view name);

// What stands at a path of a tree: a folder, a file, or a link and its target as written.
struct Entry {
  enum class Kind { directory, file, link } kind = Kind::file;
  std::string target;  // links only
};

// A tree of relative paths (normalised, as problem() accepts them). Folders a path implies need not
// be listed; no entry lies beneath a file or a link (git trees and the extraction guarantee it).
using LinkTree = std::map<std::string, Entry, std::less<>>;

struct Resolution {
  enum class Outcome { inside, escapes, absolute, too_many_hops, invalid } outcome = Outcome::inside;
  std::string path;  // inside: where it leads, relative to the root ("" for the root itself)
  std::string why() const;  // one phrase for a message: "points outside the site", …
};

// Follows `path` through the tree's links, every part of it, the last one included.
Resolution resolve(const LinkTree& tree, std::string_view path, int max_hops = kMaxLinkHops);

// The first link of the tree (in path order) that does not resolve inside it, with the reason; nullopt
// when every link stays inside. A link to a path the tree does not hold is fine (it dangles inside).
struct BadLink {
  std::string path;
  Resolution resolution;
};
std::optional<BadLink> first_escaping_link(const LinkTree& tree, int max_hops = kMaxLinkHops);

}  // namespace studyhub::relpath
