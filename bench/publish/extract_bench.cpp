// Decode + extract of a base64 tar.gz, the contract's build output, into a fresh folder: the
// same work as `base64 -d | tar -xz` (bench/publish/run.sh times both). The input is mapped into
// memory first, as the pipeline has it in memory (the runner's answer body) before unpacking.
//   extract_bench INPUT.b64 DEST_DIR
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string_view>

#include "archive/extract.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: extract_bench INPUT.b64 DEST_DIR\n";
    return 2;
  }
  int fd = ::open(argv[1], O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::cerr << "cannot read " << argv[1] << "\n";
    return 2;
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* text = size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : nullptr;
  ::close(fd);
  if (text == MAP_FAILED) {
    std::cerr << "cannot map " << argv[1] << "\n";
    return 2;
  }
  std::filesystem::create_directories(argv[2]);
  auto r = studyhub::archive::extract_site_base64(std::string_view(static_cast<const char*>(text), size), argv[2]);
  if (!r) {
    std::cerr << r.error().message << "\n";
    return 1;
  }
  return 0;
}
