#include "rpc/framing.h"

#include <doctest/doctest.h>

#include <vector>

using studyhub::rpc::encode_frame;
using studyhub::rpc::FrameReader;

namespace {

struct Collector {
  std::vector<std::string> messages, errors;
  FrameReader::Callbacks callbacks() {
    return {.on_message = [this](std::string b) { messages.push_back(std::move(b)); },
            .on_error = [this](std::string e) { errors.push_back(std::move(e)); }};
  }
};

const std::vector<std::string> kBodies{
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})",
    R"({"jsonrpc":"2.0","method":"initialized","params":{"note":"über \r\n\r\n inside"}})",
    R"({"jsonrpc":"2.0","id":"two","method":"sandbox/status"})",
};

std::string stream_of_bodies() {
  std::string s = encode_frame(kBodies[0]);
  // A Content-Type header, in the other order, must not disturb anything.
  s += "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: " +
       std::to_string(kBodies[1].size()) + "\r\n\r\n" + kBodies[1];
  s += encode_frame(kBodies[2]);
  return s;
}

}  // namespace

TEST_CASE("every split of a stream into three reads yields the same messages") {
  const std::string stream = stream_of_bodies();
  for (size_t i = 0; i <= stream.size(); ++i) {
    for (size_t j = i; j <= stream.size(); j += 7) {  // stride keeps the pair count reasonable
      FrameReader reader;
      Collector c;
      auto cb = c.callbacks();
      reader.feed(std::string_view(stream).substr(0, i), cb);
      reader.feed(std::string_view(stream).substr(i, j - i), cb);
      reader.feed(std::string_view(stream).substr(j), cb);
      REQUIRE(c.errors.empty());
      REQUIRE(c.messages == kBodies);
      REQUIRE_FALSE(reader.mid_message());
    }
  }
}

TEST_CASE("byte-at-a-time feeding and one big read agree") {
  const std::string stream = stream_of_bodies();
  FrameReader one, bytes;
  Collector a, b;
  one.feed(stream, a.callbacks());
  auto cb = b.callbacks();
  for (char ch : stream) bytes.feed(std::string_view(&ch, 1), cb);
  CHECK(a.messages == kBodies);
  CHECK(b.messages == kBodies);
}

TEST_CASE("a partial message is reported as mid-message") {
  FrameReader reader;
  Collector c;
  reader.feed("Content-Length: 10\r\n\r\n{\"a\":", c.callbacks());
  CHECK(c.messages.empty());
  CHECK(reader.mid_message());
}

TEST_CASE("garbage before a header is dropped and the message still arrives") {
  FrameReader reader;
  Collector c;
  reader.feed("\x01\x02garbage" + encode_frame("{}"), c.callbacks());
  REQUIRE(c.messages == std::vector<std::string>{"{}"});
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].find("stray bytes") != std::string::npos);
}

TEST_CASE("malformed headers are skipped and the stream recovers") {
  FrameReader reader;
  Collector c;
  auto cb = c.callbacks();
  SUBCASE("no Content-Length") { reader.feed("Content-Type: x\r\n\r\n" + encode_frame("[1]"), cb); }
  SUBCASE("a length that is not a number") { reader.feed("Content-Length: ten\r\n\r\n" + encode_frame("[1]"), cb); }
  SUBCASE("a negative length") { reader.feed("Content-Length: -5\r\n\r\n" + encode_frame("[1]"), cb); }
  SUBCASE("a header line without a colon") { reader.feed("hello\r\n\r\n" + encode_frame("[1]"), cb); }
  CHECK(c.messages == std::vector<std::string>{"[1]"});
  CHECK(c.errors.size() >= 1);
}

TEST_CASE("header names are case-insensitive and spaces around the value are allowed") {
  FrameReader reader;
  Collector c;
  reader.feed("content-length:   2  \r\n\r\n{}", c.callbacks());
  CHECK(c.messages == std::vector<std::string>{"{}"});
  CHECK(c.errors.empty());
}

TEST_CASE("an oversize body is refused, skipped unbuffered, and the next message parses") {
  FrameReader reader(FrameReader::Options{.max_body_bytes = 1024});
  Collector c;
  auto cb = c.callbacks();
  const size_t huge = 5u << 20;
  reader.feed("Content-Length: " + std::to_string(huge) + "\r\n\r\n", cb);
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].find("refused a message of 5242880 bytes") != std::string::npos);
  std::string chunk(64 * 1024, 'x');
  for (size_t sent = 0; sent < huge; sent += chunk.size()) reader.feed(chunk, cb);
  reader.feed(encode_frame("{\"ok\":true}"), cb);
  CHECK(c.messages == std::vector<std::string>{"{\"ok\":true}"});
}

TEST_CASE("a length beyond 64 bits is refused without allocation") {
  FrameReader reader;
  Collector c;
  auto cb = c.callbacks();
  reader.feed("Content-Length: 99999999999999999999999999\r\n\r\n", cb);
  reader.feed(encode_frame("{}"), cb);
  CHECK(c.errors.size() == 1);
  CHECK(c.messages == std::vector<std::string>{"{}"});
}

TEST_CASE("an endless header is trimmed instead of growing without bound") {
  FrameReader reader(FrameReader::Options{.max_header_bytes = 4096});
  Collector c;
  auto cb = c.callbacks();
  std::string noise(1000, 'n');
  for (int i = 0; i < 1000; ++i) reader.feed(noise, cb);
  CHECK_FALSE(c.errors.empty());
  reader.feed("\r\n\r\n" + encode_frame("{}"), cb);  // the noise block ends, then a real message
  CHECK(c.messages == std::vector<std::string>{"{}"});
}

TEST_CASE("encode_frame writes the exact byte length") {
  CHECK(encode_frame("äö") == "Content-Length: 4\r\n\r\näö");
}
