// libgit2, loaded on first use: see libs/loader.h. Include this instead of the library's header.
#pragma once

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include "libs/loader.h"

// Every function of the library this program calls.
#define STUDYHUB_GIT2_FUNCTIONS(X) \
  X(git_buf_dispose) \
  X(git_commit_create) \
  X(git_commit_free) \
  X(git_commit_lookup) \
  X(git_commit_tree_id) \
  X(git_config_free) \
  X(git_config_set_bool) \
  X(git_config_set_string) \
  X(git_diff_free) \
  X(git_diff_get_delta) \
  X(git_diff_index_to_workdir) \
  X(git_diff_num_deltas) \
  X(git_error_clear) \
  X(git_error_last) \
  X(git_ignore_add_rule) \
  X(git_ignore_path_is_ignored) \
  X(git_index_add) \
  X(git_index_clear) \
  X(git_index_entrycount) \
  X(git_index_free) \
  X(git_index_get_byindex) \
  X(git_index_open) \
  X(git_index_read) \
  X(git_index_remove_bypath) \
  X(git_index_write) \
  X(git_index_write_tree_to) \
  X(git_libgit2_init) \
  X(git_libgit2_opts) \
  X(git_mempack_new) \
  X(git_odb_add_backend) \
  X(git_odb_exists) \
  X(git_odb_free) \
  X(git_odb_hash) \
  X(git_odb_hashfile) \
  X(git_odb_open_wstream) \
  X(git_odb_stream_write) \
  X(git_odb_stream_finalize_write) \
  X(git_odb_stream_free) \
  X(git_odb_new) \
  X(git_odb_object_data) \
  X(git_odb_object_free) \
  X(git_odb_object_size) \
  X(git_odb_open) \
  X(git_odb_read) \
  X(git_odb_read_header) \
  X(git_odb_write) \
  X(git_oid_equal) \
  X(git_oid_fromstr) \
  X(git_oid_tostr) \
  X(git_reference_name_to_id) \
  X(git_repository_commondir) \
  X(git_repository_config) \
  X(git_repository_discover) \
  X(git_repository_free) \
  X(git_repository_init) \
  X(git_repository_odb) \
  X(git_repository_open_bare) \
  X(git_repository_open_ext) \
  X(git_repository_set_index) \
  X(git_repository_set_workdir) \
  X(git_repository_workdir) \
  X(git_repository_wrap_odb) \
  X(git_signature_free) \
  X(git_signature_now) \
  X(git_tree_create_updated) \
  X(git_tree_entry_bypath) \
  X(git_tree_entry_filemode) \
  X(git_tree_entry_free) \
  X(git_tree_entry_id) \
  X(git_tree_entry_name) \
  X(git_tree_free) \
  X(git_tree_lookup) \
  X(git_tree_walk) \
  X(git_treebuilder_free) \
  X(git_treebuilder_insert) \
  X(git_treebuilder_new) \
  X(git_treebuilder_write)

namespace studyhub::libs {

struct Git2 {
  STUDYHUB_GIT2_FUNCTIONS(STUDYHUB_LIBS_MEMBER)
};

const Git2& git2();  // loads the library the first time

}  // namespace studyhub::libs

// From here on each name is a call through the table (names the library's header made macros,
// as libcurl does to check argument counts, are replaced).
#ifndef STUDYHUB_LIBS_TABLE_ONLY
#undef git_buf_dispose
#define git_buf_dispose (::studyhub::libs::git2().git_buf_dispose)
#undef git_commit_create
#define git_commit_create (::studyhub::libs::git2().git_commit_create)
#undef git_commit_free
#define git_commit_free (::studyhub::libs::git2().git_commit_free)
#undef git_commit_lookup
#define git_commit_lookup (::studyhub::libs::git2().git_commit_lookup)
#undef git_commit_tree_id
#define git_commit_tree_id (::studyhub::libs::git2().git_commit_tree_id)
#undef git_config_free
#define git_config_free (::studyhub::libs::git2().git_config_free)
#undef git_config_set_bool
#define git_config_set_bool (::studyhub::libs::git2().git_config_set_bool)
#undef git_config_set_string
#define git_config_set_string (::studyhub::libs::git2().git_config_set_string)
#undef git_diff_free
#define git_diff_free (::studyhub::libs::git2().git_diff_free)
#undef git_diff_get_delta
#define git_diff_get_delta (::studyhub::libs::git2().git_diff_get_delta)
#undef git_diff_index_to_workdir
#define git_diff_index_to_workdir (::studyhub::libs::git2().git_diff_index_to_workdir)
#undef git_diff_num_deltas
#define git_diff_num_deltas (::studyhub::libs::git2().git_diff_num_deltas)
#undef git_error_clear
#define git_error_clear (::studyhub::libs::git2().git_error_clear)
#undef git_error_last
#define git_error_last (::studyhub::libs::git2().git_error_last)
#undef git_ignore_add_rule
#define git_ignore_add_rule (::studyhub::libs::git2().git_ignore_add_rule)
#undef git_ignore_path_is_ignored
#define git_ignore_path_is_ignored (::studyhub::libs::git2().git_ignore_path_is_ignored)
#undef git_index_add
#define git_index_add (::studyhub::libs::git2().git_index_add)
#undef git_index_clear
#define git_index_clear (::studyhub::libs::git2().git_index_clear)
#undef git_index_entrycount
#define git_index_entrycount (::studyhub::libs::git2().git_index_entrycount)
#undef git_index_free
#define git_index_free (::studyhub::libs::git2().git_index_free)
#undef git_index_get_byindex
#define git_index_get_byindex (::studyhub::libs::git2().git_index_get_byindex)
#undef git_index_open
#define git_index_open (::studyhub::libs::git2().git_index_open)
#undef git_index_read
#define git_index_read (::studyhub::libs::git2().git_index_read)
#undef git_index_remove_bypath
#define git_index_remove_bypath (::studyhub::libs::git2().git_index_remove_bypath)
#undef git_index_write
#define git_index_write (::studyhub::libs::git2().git_index_write)
#undef git_index_write_tree_to
#define git_index_write_tree_to (::studyhub::libs::git2().git_index_write_tree_to)
#undef git_libgit2_init
#define git_libgit2_init (::studyhub::libs::git2().git_libgit2_init)
#undef git_libgit2_opts
#define git_libgit2_opts (::studyhub::libs::git2().git_libgit2_opts)
#undef git_odb_exists
#define git_odb_exists (::studyhub::libs::git2().git_odb_exists)
#undef git_odb_free
#define git_odb_free (::studyhub::libs::git2().git_odb_free)
#undef git_odb_hash
#define git_odb_hash (::studyhub::libs::git2().git_odb_hash)
#undef git_odb_object_data
#define git_odb_object_data (::studyhub::libs::git2().git_odb_object_data)
#undef git_odb_object_free
#define git_odb_object_free (::studyhub::libs::git2().git_odb_object_free)
#undef git_odb_object_size
#define git_odb_object_size (::studyhub::libs::git2().git_odb_object_size)
#undef git_odb_open
#define git_odb_open (::studyhub::libs::git2().git_odb_open)
#undef git_odb_read
#define git_odb_read (::studyhub::libs::git2().git_odb_read)
#undef git_odb_read_header
#define git_odb_read_header (::studyhub::libs::git2().git_odb_read_header)
#undef git_odb_write
#define git_odb_write (::studyhub::libs::git2().git_odb_write)
#undef git_oid_equal
#define git_oid_equal (::studyhub::libs::git2().git_oid_equal)
#undef git_oid_fromstr
#define git_oid_fromstr (::studyhub::libs::git2().git_oid_fromstr)
#undef git_oid_tostr
#define git_oid_tostr (::studyhub::libs::git2().git_oid_tostr)
#undef git_reference_name_to_id
#define git_reference_name_to_id (::studyhub::libs::git2().git_reference_name_to_id)
#undef git_repository_commondir
#define git_repository_commondir (::studyhub::libs::git2().git_repository_commondir)
#undef git_repository_config
#define git_repository_config (::studyhub::libs::git2().git_repository_config)
#undef git_repository_discover
#define git_repository_discover (::studyhub::libs::git2().git_repository_discover)
#undef git_repository_free
#define git_repository_free (::studyhub::libs::git2().git_repository_free)
#undef git_repository_init
#define git_repository_init (::studyhub::libs::git2().git_repository_init)
#undef git_repository_odb
#define git_repository_odb (::studyhub::libs::git2().git_repository_odb)
#undef git_repository_open_bare
#define git_repository_open_bare (::studyhub::libs::git2().git_repository_open_bare)
#undef git_repository_open_ext
#define git_repository_open_ext (::studyhub::libs::git2().git_repository_open_ext)
#undef git_repository_set_index
#define git_repository_set_index (::studyhub::libs::git2().git_repository_set_index)
#undef git_repository_set_workdir
#define git_repository_set_workdir (::studyhub::libs::git2().git_repository_set_workdir)
#undef git_repository_workdir
#define git_repository_workdir (::studyhub::libs::git2().git_repository_workdir)
#undef git_signature_free
#define git_signature_free (::studyhub::libs::git2().git_signature_free)
#undef git_signature_now
#define git_signature_now (::studyhub::libs::git2().git_signature_now)
#undef git_tree_create_updated
#define git_tree_create_updated (::studyhub::libs::git2().git_tree_create_updated)
#undef git_tree_entry_bypath
#define git_tree_entry_bypath (::studyhub::libs::git2().git_tree_entry_bypath)
#undef git_tree_entry_filemode
#define git_tree_entry_filemode (::studyhub::libs::git2().git_tree_entry_filemode)
#undef git_tree_entry_free
#define git_tree_entry_free (::studyhub::libs::git2().git_tree_entry_free)
#undef git_tree_entry_id
#define git_tree_entry_id (::studyhub::libs::git2().git_tree_entry_id)
#undef git_tree_entry_name
#define git_tree_entry_name (::studyhub::libs::git2().git_tree_entry_name)
#undef git_tree_free
#define git_tree_free (::studyhub::libs::git2().git_tree_free)
#undef git_tree_lookup
#define git_tree_lookup (::studyhub::libs::git2().git_tree_lookup)
#undef git_tree_walk
#define git_tree_walk (::studyhub::libs::git2().git_tree_walk)
#undef git_treebuilder_free
#define git_treebuilder_free (::studyhub::libs::git2().git_treebuilder_free)
#undef git_treebuilder_insert
#define git_treebuilder_insert (::studyhub::libs::git2().git_treebuilder_insert)
#undef git_treebuilder_new
#define git_treebuilder_new (::studyhub::libs::git2().git_treebuilder_new)
#undef git_treebuilder_write
#define git_treebuilder_write (::studyhub::libs::git2().git_treebuilder_write)
#undef git_mempack_new
#define git_mempack_new (::studyhub::libs::git2().git_mempack_new)
#undef git_odb_add_backend
#define git_odb_add_backend (::studyhub::libs::git2().git_odb_add_backend)
#undef git_odb_new
#define git_odb_new (::studyhub::libs::git2().git_odb_new)
#undef git_repository_wrap_odb
#define git_repository_wrap_odb (::studyhub::libs::git2().git_repository_wrap_odb)
#undef git_odb_hashfile
#define git_odb_hashfile (::studyhub::libs::git2().git_odb_hashfile)
#undef git_odb_open_wstream
#define git_odb_open_wstream (::studyhub::libs::git2().git_odb_open_wstream)
#undef git_odb_stream_write
#define git_odb_stream_write (::studyhub::libs::git2().git_odb_stream_write)
#undef git_odb_stream_finalize_write
#define git_odb_stream_finalize_write (::studyhub::libs::git2().git_odb_stream_finalize_write)
#undef git_odb_stream_free
#define git_odb_stream_free (::studyhub::libs::git2().git_odb_stream_free)
#endif  // STUDYHUB_LIBS_TABLE_ONLY
