// Small RAII wrappers over libgit2 handles, and its errors as Error values.
#pragma once

#include "libs/git2.h"

#include <memory>
#include <string>

#include "core/error.h"

namespace studyhub::git {

// How each handle is freed: a named function object per type, since the libgit2 functions are
// reached through a table filled at run time (libs/git2.h), not constants a template can take.
template <class T>
struct Free;
template <>
struct Free<git_repository> {
  void operator()(git_repository* p) const { git_repository_free(p); }
};
template <>
struct Free<git_index> {
  void operator()(git_index* p) const { git_index_free(p); }
};
template <>
struct Free<git_diff> {
  void operator()(git_diff* p) const { git_diff_free(p); }
};
template <>
struct Free<git_tree> {
  void operator()(git_tree* p) const { git_tree_free(p); }
};
template <>
struct Free<git_tree_entry> {
  void operator()(git_tree_entry* p) const { git_tree_entry_free(p); }
};
template <>
struct Free<git_commit> {
  void operator()(git_commit* p) const { git_commit_free(p); }
};
template <>
struct Free<git_signature> {
  void operator()(git_signature* p) const { git_signature_free(p); }
};
template <>
struct Free<git_treebuilder> {
  void operator()(git_treebuilder* p) const { git_treebuilder_free(p); }
};
template <>
struct Free<git_odb> {
  void operator()(git_odb* p) const { git_odb_free(p); }
};
template <>
struct Free<git_odb_object> {
  void operator()(git_odb_object* p) const { git_odb_object_free(p); }
};
template <class T>
using Handle = std::unique_ptr<T, Free<T>>;

using Repository = Handle<git_repository>;
using Index = Handle<git_index>;
using Diff = Handle<git_diff>;
using Tree = Handle<git_tree>;
using TreeEntry = Handle<git_tree_entry>;
using Commit = Handle<git_commit>;
using Signature = Handle<git_signature>;
using TreeBuilder = Handle<git_treebuilder>;
using Odb = Handle<git_odb>;
using OdbObject = Handle<git_odb_object>;

// libgit2 once per process, with the user's global and system config shut out: their
// core.autocrlf or core.excludesFile must not change what a snapshot holds.
void init_once();
// Starts init_once() on a helper thread, so loading and initialising libgit2 (~10 ms: it parses
// every CA certificate for TLS we never use) overlaps other work; init_once() waits for it.
void init_in_background();

// "<what>: <libgit2's last message>".
Error failure(const std::string& what);

std::string hex(const git_oid& oid);

}  // namespace studyhub::git
