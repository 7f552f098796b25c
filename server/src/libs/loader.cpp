#include "libs/loader.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace studyhub::libs {

void* open_library(const char* soname, const char* package) {
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle) return handle;
  std::fprintf(stderr, "studyhub-sandbox: cannot load %s (%s); install the Debian package %s\n", soname, ::dlerror(),
               package);
  std::exit(70);  // EX_SOFTWARE: the installation is incomplete, nothing the command can do
}

void* symbol(void* handle, const char* soname, const char* name) {
  void* address = ::dlsym(handle, name);
  if (address) return address;
  std::fprintf(stderr, "studyhub-sandbox: %s has no %s; the installed version is not the one this was built for\n",
               soname, name);
  std::exit(70);
}

}  // namespace studyhub::libs
