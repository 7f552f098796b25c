// The tar bytes inside a build's output, produced by threads of their own: one decodes the base64
// (when the input is the contract's text), one inflates the gzip, while the caller reads the tar
// and writes the files. `base64 -d | tar -xz` runs as three processes for the same reason; here
// the blocks pass through small bounded queues instead of two pipes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "archive/block_queue.h"
#include "core/error.h"

namespace studyhub::archive {

class TarStream {
 public:
  enum class Input { base64, gzip };
  // `input` must outlive the stream. `max_bytes` bounds what is inflated (an archive bomb stops
  // there with an error).
  TarStream(std::string_view input, Input kind, uint64_t max_bytes);
  ~TarStream();  // stops the threads if the reader gave up early
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;

  // The next block of tar bytes, valid until the next call; empty at the end of the stream or on
  // an error (then error() says which).
  std::string_view next();
  std::optional<Error> error() { return tar_.error(); }

 private:
  void decode(std::stop_token stop);   // base64 text -> gzip_
  void inflate_blocks(std::stop_token stop);  // gzip_ (or the input itself) -> tar_
  Status inflate_all(std::stop_token stop);

  std::string_view input_;
  Input kind_;
  uint64_t max_bytes_;
  BlockQueue gzip_{4};  // decoded, still compressed
  BlockQueue tar_{4};   // inflated
  std::string current_;  // the block the reader holds
  std::jthread decoder_, inflater_;  // last: started once everything above exists
};

}  // namespace studyhub::archive
