// Small RAII wrappers over libgit2 handles, and its errors as Error values.
#pragma once

#include <git2.h>

#include <memory>
#include <string>

#include "core/error.h"

namespace studyhub::git {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <class T, void (*Free)(T*)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

using Repository = Handle<git_repository, git_repository_free>;
using Index = Handle<git_index, git_index_free>;
using Diff = Handle<git_diff, git_diff_free>;
using Tree = Handle<git_tree, git_tree_free>;
using TreeEntry = Handle<git_tree_entry, git_tree_entry_free>;
using Blob = Handle<git_blob, git_blob_free>;
using Commit = Handle<git_commit, git_commit_free>;
using Reference = Handle<git_reference, git_reference_free>;
using Signature = Handle<git_signature, git_signature_free>;
using TreeBuilder = Handle<git_treebuilder, git_treebuilder_free>;
using Odb = Handle<git_odb, git_odb_free>;
using OdbObject = Handle<git_odb_object, git_odb_object_free>;

// libgit2 once per process, with the user's global and system config shut out: their
// core.autocrlf or core.excludesFile must not change what a snapshot holds.
void init_once();

// "<what>: <libgit2's last message>".
Error failure(const std::string& what);

std::string hex(const git_oid& oid);

}  // namespace studyhub::git
