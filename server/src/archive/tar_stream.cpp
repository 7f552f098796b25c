#include "archive/tar_stream.h"

#include <memory>

#include "libs/crypto.h"
#include "libs/zlib.h"

namespace studyhub::archive {

namespace {

constexpr size_t kBlock = 256 * 1024;      // inflated bytes per block
constexpr size_t kTextChunk = 256 * 1024;  // base64 text decoded per block (a multiple of 4)

Error damaged(const std::string& why) { return Error{"the site archive is truncated or damaged (" + why + ")"}; }

}  // namespace

TarStream::TarStream(std::string_view input, Input kind, uint64_t max_bytes)
    : input_(input), kind_(kind), max_bytes_(max_bytes) {
  if (kind_ == Input::base64) decoder_ = std::jthread([this](std::stop_token stop) { decode(stop); });
  inflater_ = std::jthread([this](std::stop_token stop) { inflate_blocks(stop); });
}

TarStream::~TarStream() {
  // A reader that stopped early (a refused entry, the tar's end): release threads waiting for room.
  tar_.cancel();
  gzip_.cancel();
  inflater_ = {};  // request_stop and join
  decoder_ = {};
}

std::string_view TarStream::next() {
  if (!current_.empty()) tar_.recycle(std::move(current_));
  auto block = tar_.pop();
  current_ = block ? std::move(*block) : std::string();
  return current_;
}

void TarStream::decode(std::stop_token stop) {
  auto free_ctx = [](EVP_ENCODE_CTX* c) { EVP_ENCODE_CTX_free(c); };
  std::unique_ptr<EVP_ENCODE_CTX, decltype(free_ctx)> ctx(EVP_ENCODE_CTX_new(), free_ctx);
  if (!ctx) return gzip_.close(Error{"out of memory while decoding the build output"});
  EVP_DecodeInit(ctx.get());
  for (size_t at = 0; at < input_.size(); at += kTextChunk) {
    std::string out = gzip_.spare(kTextChunk / 4 * 3 + 80);
    int n = 0;
    int chunk = static_cast<int>(std::min(kTextChunk, input_.size() - at));
    if (EVP_DecodeUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n,
                         reinterpret_cast<const unsigned char*>(input_.data() + at), chunk) < 0)
      return gzip_.close(Error{"the build output is not base64 (as the code-runner contract requires)"});
    out.resize(static_cast<size_t>(n));
    if (n > 0 && !gzip_.push(std::move(out), stop)) return;
  }
  std::string out = gzip_.spare(80);
  int n = 0;
  if (EVP_DecodeFinal(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n) < 0)
    return gzip_.close(Error{"the build output is not complete base64; it may have been cut off"});
  out.resize(static_cast<size_t>(n));
  if (n > 0 && !gzip_.push(std::move(out), stop)) return;
  gzip_.close();
}

void TarStream::inflate_blocks(std::stop_token stop) {
  Status status = inflate_all(stop);
  tar_.close(status ? std::nullopt : std::optional<Error>(status.error()));
  gzip_.cancel();  // ended early (an error, a stop): the decoder need not go on
}

Status TarStream::inflate_all(std::stop_token stop) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return Error{"out of memory while unpacking the build output"};  // gzip only
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&z};
  std::string block = tar_.spare(kBlock);
  size_t filled = 0;
  uint64_t produced = 0;
  bool started = false, member_ended = false, trailing = false;
  bool held_magic = false;  // a piece ended on the first byte of another member's header

  // Inflates one piece of gzip bytes into blocks; false when the reader has gone.
  auto feed = [&](const unsigned char* data, size_t size) -> Result<bool> {
    if (!started && size > 0) {
      // Only gzip is accepted: a bare tar or anything else is not the contract's output.
      if (size < 2 || data[0] != 0x1f || data[1] != 0x8b)
        return Error{"the build output is not a gzip-compressed tar archive"};
      started = true;
    }
    unsigned char magic0 = 0x1f;
    if (held_magic && size > 0) {
      held_magic = false;
      if (data[0] != 0x8b) {
        trailing = true;
      } else {  // the member starts with the byte held back: inflate takes its header byte by byte
        inflateReset(&z);
        member_ended = false;
        z.next_in = &magic0;
        z.avail_in = 1;
        z.next_out = reinterpret_cast<unsigned char*>(block.data() + filled);
        z.avail_out = static_cast<uInt>(kBlock - filled);
        if (inflate(&z, Z_NO_FLUSH) != Z_OK) return damaged("invalid gzip header");
      }
    }
    z.next_in = const_cast<unsigned char*>(data);
    z.avail_in = static_cast<uInt>(size);
    while (z.avail_in > 0 && !trailing) {
      if (member_ended) {
        // Another gzip member follows (concatenated gzip is one stream), or trailing bytes that
        // gzip, too, ignores. Its two magic bytes may straddle two pieces.
        if (z.avail_in == 1 && z.next_in[0] == 0x1f) {
          held_magic = true;
          break;
        }
        if (z.next_in[0] != 0x1f || z.next_in[1] != 0x8b) {
          trailing = true;
          break;
        }
        inflateReset(&z);
        member_ended = false;
      }
      z.next_out = reinterpret_cast<unsigned char*>(block.data() + filled);
      z.avail_out = static_cast<uInt>(kBlock - filled);
      int rc = inflate(&z, Z_NO_FLUSH);
      filled = kBlock - z.avail_out;
      if (rc == Z_STREAM_END) {
        member_ended = true;
      } else if (rc == Z_DATA_ERROR) {
        return damaged(z.msg ? z.msg : "invalid compressed data");
      } else if (rc == Z_MEM_ERROR) {
        return Error{"out of memory while unpacking the build output"};
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return damaged("inflate error " + std::to_string(rc));
      }
      if (filled == kBlock) {
        produced += filled;
        if (produced > max_bytes_)
          return Error{"the site unpacks to more than " + std::to_string(max_bytes_ >> 20) +
                       " MB; it was refused as a possible archive bomb"};
        if (!tar_.push(std::move(block), stop)) return false;
        block = tar_.spare(kBlock);
        filled = 0;
      }
    }
    return true;
  };

  if (kind_ == Input::gzip) {
    for (size_t at = 0; at < input_.size(); at += kBlock) {
      auto fed = feed(reinterpret_cast<const unsigned char*>(input_.data() + at), std::min(kBlock, input_.size() - at));
      if (!fed) return fed.error();
      if (!*fed) return ok_status();
    }
  } else {
    while (auto piece = gzip_.pop(stop)) {
      auto fed = feed(reinterpret_cast<const unsigned char*>(piece->data()), piece->size());
      gzip_.recycle(std::move(*piece));
      if (!fed) return fed.error();
      if (!*fed) return ok_status();
    }
    if (stop.stop_requested()) return ok_status();
    if (auto e = gzip_.error()) return *e;
  }
  if (!started) return Error{"the build output is not a gzip-compressed tar archive (it is empty)"};
  if (!member_ended && !trailing) return damaged("the compressed data ends early");
  if (filled > 0) {
    block.resize(filled);
    tar_.push(std::move(block), stop);
  }
  return ok_status();
}

}  // namespace studyhub::archive
