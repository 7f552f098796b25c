#include "rpc/framing.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

namespace studyhub::rpc {
namespace {

constexpr std::string_view kHeaderEnd = "\r\n\r\n";
constexpr std::string_view kLengthName = "content-length";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Finds "content-length" case-insensitively; npos if absent.
size_t find_length_name(std::string_view text) {
  if (text.size() < kLengthName.size()) return std::string_view::npos;
  for (size_t i = 0; i + kLengthName.size() <= text.size(); ++i)
    if (iequals(text.substr(i, kLengthName.size()), kLengthName)) return i;
  return std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct ParsedHeader {
  std::optional<uint64_t> length;  // nullopt: absent or unusable
  bool length_overflow = false;
  size_t garbage_bytes = 0;        // bytes dropped before the Content-Length name
  std::string problem;
};

ParsedHeader parse_header_block(std::string_view block) {
  ParsedHeader out;
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 2);

    size_t at = find_length_name(line);
    if (at != std::string_view::npos && at > 0) {  // junk glued in front of a real header
      out.garbage_bytes += at;
      line.remove_prefix(at);
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      out.garbage_bytes += line.size();
      continue;
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (!iequals(name, kLengthName)) continue;  // Content-Type and unknown headers carry nothing we need
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc::result_out_of_range) {
      out.length_overflow = true;
      out.length.reset();
    } else if (ec != std::errc{} || ptr != value.data() + value.size() || value.empty()) {
      out.problem = "Content-Length '" + std::string(value.substr(0, 40)) + "' is not a number";
      out.length.reset();
    } else {
      out.length = n;
      out.length_overflow = false;
    }
  }
  return out;
}

}  // namespace

bool FrameReader::take_header(const Callbacks& cb) {
  size_t end = buffer_.find(kHeaderEnd);
  if (end == std::string::npos) {
    if (buffer_.size() > options_.max_header_bytes) {
      // No header ends here: keep only a tail that could still begin a real header.
      cb.on_error("dropped " + std::to_string(buffer_.size() - kLengthName.size()) +
                  " bytes that do not form a message header");
      buffer_.erase(0, buffer_.size() - kLengthName.size());
    }
    return false;
  }
  ParsedHeader h = parse_header_block(std::string_view(buffer_).substr(0, end));
  buffer_.erase(0, end + kHeaderEnd.size());
  if (h.garbage_bytes > 0)
    cb.on_error("skipped " + std::to_string(h.garbage_bytes) + " stray bytes before a message header");
  if (h.length_overflow || (h.length && *h.length > options_.max_body_bytes)) {
    std::string size = h.length ? std::to_string(*h.length) + " bytes" : "an absurd size";
    cb.on_error("refused a message of " + size + " (limit " + std::to_string(options_.max_body_bytes) +
                " bytes, set with --max-message-bytes); its body is skipped unread");
    if (h.length) {
      state_ = State::skip;
      remaining_ = *h.length;
    }
    // With an unrepresentable length there is nothing to skip reliably: resync on the next header.
    return true;
  }
  if (!h.length) {
    cb.on_error(h.problem.empty() ? "a message header without Content-Length was skipped"
                                  : h.problem + "; the header was skipped");
    return true;
  }
  state_ = State::body;
  remaining_ = *h.length;
  return true;
}

void FrameReader::feed(std::string_view bytes, const Callbacks& cb) {
  while (true) {
    switch (state_) {
      case State::header:
        buffer_.append(bytes);
        bytes = {};
        if (!take_header(cb)) return;
        break;
      case State::skip: {
        // Leftover buffered bytes belong to the skipped body first.
        size_t from_buffer = std::min<uint64_t>(remaining_, buffer_.size());
        buffer_.erase(0, from_buffer);
        remaining_ -= from_buffer;
        size_t from_input = std::min<uint64_t>(remaining_, bytes.size());
        bytes.remove_prefix(from_input);
        remaining_ -= from_input;
        if (remaining_ > 0) return;
        state_ = State::header;
        break;
      }
      case State::body: {
        // buffer_ may already hold bytes read past the header.
        std::string body;
        if (buffer_.size() >= remaining_) {
          body = buffer_.substr(0, remaining_);
          buffer_.erase(0, remaining_);
          remaining_ = 0;
        } else {
          size_t take = std::min<uint64_t>(remaining_ - buffer_.size(), bytes.size());
          buffer_.append(bytes.substr(0, take));
          bytes.remove_prefix(take);
          if (buffer_.size() < remaining_) return;
          body.swap(buffer_);
          remaining_ = 0;
        }
        state_ = State::header;
        cb.on_message(std::move(body));
        break;
      }
    }
  }
}

std::string encode_frame(std::string_view body) {
  std::string out = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out.append(body);
  return out;
}

}  // namespace studyhub::rpc
