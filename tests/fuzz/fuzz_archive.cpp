// What comes back from a runner: a RunResult (JSON whose stdout is base64 of a tar.gz) or a raw
// tar.gz. No crash, and extraction writes nothing outside the staging folder: afterwards the box
// around it holds only the staging folder, and every link inside stays inside.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "archive/base64.h"
#include "archive/extract.h"
#include "fuzz_check.h"
#include "runner/payload.h"

namespace fs = std::filesystem;
using namespace studyhub;

namespace {

void check_contained(const fs::path& box, const fs::path& staging) {
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(box)) {
    ++entries;
    FUZZ_CHECK(e.path() == staging, "only the staging folder is in its box");
  }
  FUZZ_CHECK(entries <= 1, "nothing written next to the staging folder");
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(staging, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink()) continue;
    fs::path target = fs::read_symlink(it->path(), ec);
    FUZZ_CHECK(target.is_relative(), "no absolute link");
    fs::path resolved = (it->path().parent_path() / target).lexically_normal();
    auto rel = resolved.lexically_relative(staging);
    FUZZ_CHECK(!rel.empty() && *rel.begin() != "..", "a link stays inside the site");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string tar_gz;
  if (data[0] & 1) {
    auto j = nlohmann::json::parse(input, nullptr, false);
    if (j.is_discarded()) return 0;
    auto result = runner::run_result_from_json(j);
    if (!result) return 0;
    auto decoded = archive::decode_base64(result->stdout_text);
    if (!decoded) return 0;
    tar_gz = std::move(decoded.value());
  } else {
    tar_gz = std::string(input);
  }
  // One scratch folder per process, removed at exit.
  static const struct Scratch {
    fs::path path;
    Scratch() {
      char tmpl[] = "/tmp/studyhub-fuzz-XXXXXX";
      path = ::mkdtemp(tmpl);
    }
    ~Scratch() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } scratch;
  const fs::path& base = scratch.path;
  fs::path box = base / "box", staging = box / "site";
  fs::remove_all(box);
  fs::create_directories(staging);
  auto extracted = archive::extract_site(tar_gz, staging, {.max_bytes = 1 << 20, .max_entries = 2000});
  (void)extracted;
  check_contained(box, staging);
  return 0;
}
