// LSP base-protocol framing: "Content-Length: N\r\n[Content-Type: ...\r\n]\r\n" + N bytes.
//
// FrameReader is a push parser: feed it whatever read() returned, in any split, and it emits
// each complete body. It never trusts the peer: a header without a usable length is skipped,
// garbage before a header is dropped, and a body larger than the limit is skipped without
// being buffered, so the stream stays in step and memory stays bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace studyhub::rpc {

inline constexpr size_t kDefaultMaxMessageBytes = 64u << 20;

class FrameReader {
 public:
  struct Options {
    size_t max_body_bytes = kDefaultMaxMessageBytes;
    size_t max_header_bytes = 64u << 10;
  };
  struct Callbacks {
    std::function<void(std::string body)> on_message;
    std::function<void(std::string problem)> on_error;  // a framing problem, already recovered from
  };

  FrameReader() : FrameReader(Options{}) {}
  explicit FrameReader(Options options) : options_(options) {}

  void feed(std::string_view bytes, const Callbacks& callbacks);

  // True while a message has been started but not completed (used to report a truncated stream).
  bool mid_message() const { return state_ != State::header || !buffer_.empty(); }

 private:
  enum class State { header, body, skip };

  // Consumes one header block from buffer_ if a complete one is there.
  bool take_header(const Callbacks& callbacks);

  Options options_;
  State state_ = State::header;
  std::string buffer_;     // header bytes, or the body being assembled
  uint64_t remaining_ = 0; // body or skip bytes still expected
};

// Frames one message body for writing.
std::string encode_frame(std::string_view body);

}  // namespace studyhub::rpc
