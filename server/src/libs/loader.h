// The C libraries only some commands need (libgit2, libcurl, libarchive, libpq, libcrypto) are
// not linked: each is opened with dlopen the first time a call needs it, and its functions are
// reached through a table of pointers. `--version`, `host` serving files, a snapshot whose stat
// cache proves nothing changed: none of them pays for loading and relocating ~45 shared objects
// (libcurl alone brings TLS, Kerberos and LDAP) or for any library's initialisation.
//
// Each libs/<name>.h includes the library's own header and then defines each function's name as
// a call through the table, so the code calling them reads as plain libgit2 or libcurl code.
// Include libs/<name>.h instead of the library's header.
#pragma once

#include <cstddef>

namespace studyhub::libs {

// Opens `soname` (the exact major version this was built against) or ends the process with a
// message naming the Debian package to install.
void* open_library(const char* soname, const char* package);

// The address of `name` in `handle`, or the end of the process with a message.
void* symbol(void* handle, const char* soname, const char* name);

}  // namespace studyhub::libs

// Declares the table's members and fills them, from one list of names.
#define STUDYHUB_LIBS_MEMBER(name) decltype(&::name) name = nullptr;
#define STUDYHUB_LIBS_RESOLVE(name) \
  table.name = reinterpret_cast<decltype(&::name)>(::studyhub::libs::symbol(handle, soname, #name));

// Defines `const Table& accessor()`: the first call opens `soname` (naming the Debian `package` if
// it is missing) and resolves every function of the FUNCTIONS list; later calls return the table.
#define STUDYHUB_LIBS_DEFINE_LOADER(Table, accessor, soname_value, package, FUNCTIONS) \
  const Table& accessor() {                                                            \
    static const Table instance = [] {                                                 \
      const char* soname = soname_value;                                               \
      void* handle = ::studyhub::libs::open_library(soname, package);                  \
      Table table;                                                                     \
      FUNCTIONS(STUDYHUB_LIBS_RESOLVE)                                                 \
      return table;                                                                    \
    }();                                                                               \
    return instance;                                                                   \
  }
