// libarchive, loaded on first use: see libs/loader.h. Include this instead of the library's header.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include "libs/loader.h"

// Every function of the library this program calls.
#define STUDYHUB_ARCHIVE_FUNCTIONS(X) \
  X(archive_entry_filetype) \
  X(archive_entry_hardlink) \
  X(archive_entry_pathname) \
  X(archive_entry_perm) \
  X(archive_entry_size) \
  X(archive_entry_size_is_set) \
  X(archive_entry_symlink) \
  X(archive_error_string) \
  X(archive_read_data_block) \
  X(archive_read_free) \
  X(archive_read_new) \
  X(archive_read_next_header) \
  X(archive_read_open) \
  X(archive_read_support_format_tar)

namespace studyhub::libs {

struct Archive {
  STUDYHUB_ARCHIVE_FUNCTIONS(STUDYHUB_LIBS_MEMBER)
};

const Archive& archive();  // loads the library the first time

}  // namespace studyhub::libs

// From here on each name is a call through the table (names the library's header made macros,
// as libcurl does to check argument counts, are replaced).
#ifndef STUDYHUB_LIBS_TABLE_ONLY
#undef archive_entry_filetype
#define archive_entry_filetype (::studyhub::libs::archive().archive_entry_filetype)
#undef archive_entry_hardlink
#define archive_entry_hardlink (::studyhub::libs::archive().archive_entry_hardlink)
#undef archive_entry_pathname
#define archive_entry_pathname (::studyhub::libs::archive().archive_entry_pathname)
#undef archive_entry_perm
#define archive_entry_perm (::studyhub::libs::archive().archive_entry_perm)
#undef archive_entry_size
#define archive_entry_size (::studyhub::libs::archive().archive_entry_size)
#undef archive_entry_size_is_set
#define archive_entry_size_is_set (::studyhub::libs::archive().archive_entry_size_is_set)
#undef archive_entry_symlink
#define archive_entry_symlink (::studyhub::libs::archive().archive_entry_symlink)
#undef archive_error_string
#define archive_error_string (::studyhub::libs::archive().archive_error_string)
#undef archive_read_data_block
#define archive_read_data_block (::studyhub::libs::archive().archive_read_data_block)
#undef archive_read_free
#define archive_read_free (::studyhub::libs::archive().archive_read_free)
#undef archive_read_new
#define archive_read_new (::studyhub::libs::archive().archive_read_new)
#undef archive_read_open
#define archive_read_open (::studyhub::libs::archive().archive_read_open)
#undef archive_read_next_header
#define archive_read_next_header (::studyhub::libs::archive().archive_read_next_header)
#undef archive_read_support_format_tar
#define archive_read_support_format_tar (::studyhub::libs::archive().archive_read_support_format_tar)
#endif  // STUDYHUB_LIBS_TABLE_ONLY
