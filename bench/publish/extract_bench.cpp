// Decode + extract of a base64 tar.gz, the contract's build output, into a fresh folder: the
// same work as `base64 -d | tar -xz` (bench/publish/run.sh times both).
//   extract_bench INPUT.b64 DEST_DIR
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "archive/base64.h"
#include "archive/extract.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: extract_bench INPUT.b64 DEST_DIR\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto bytes = studyhub::archive::decode_base64(text.str());
  if (!bytes) {
    std::cerr << bytes.error().message << "\n";
    return 1;
  }
  std::filesystem::create_directories(argv[2]);
  auto r = studyhub::archive::extract_site(bytes.value(), argv[2]);
  if (!r) {
    std::cerr << r.error().message << "\n";
    return 1;
  }
  return 0;
}
