// Safe extraction of a site archive (gzip tar whose entries start with build/) into a staging
// folder. Every destination path is built and checked here, never resolved against the process's
// current directory; nothing outside the staging folder is ever written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "core/error.h"

namespace studyhub::archive {

struct ExtractLimits {
  uint64_t max_bytes = 1ull << 30;  // against archive bombs
  uint64_t max_entries = 100'000;
};

struct Extracted {
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// Extracts the entries under `root_dir`/ (the contract's "build") of a gzip tar into `staging`
// (which must exist and be empty). Rejects absolute and `..` paths, hard links, devices, FIFOs,
// links that point outside the site, and entries that pass through a link. Inflating runs on a
// thread of its own (archive/tar_stream.h) while this one writes the files.
Result<Extracted> extract_site(std::string_view tar_gz, const std::filesystem::path& staging,
                               const ExtractLimits& limits = {}, std::string_view root_dir = "build");

// The same from the contract's wire form: the base64 text of the gzip tar (line breaks allowed),
// decoded on the inflating thread as it goes.
Result<Extracted> extract_site_base64(std::string_view base64_text, const std::filesystem::path& staging,
                                      const ExtractLimits& limits = {}, std::string_view root_dir = "build");

}  // namespace studyhub::archive
