// The JSON-RPC framing reader and message classification: arbitrary bytes, fed in arbitrary
// splits. No crash, no body over the limit delivered, and every complete message either gets an
// answer (requests, and anything invalid that has to be answered) or is ignored as the spec says.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "rpc/framing.h"
#include "rpc/message.h"

using namespace studyhub::rpc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr size_t kMaxBody = 1 << 16;
  FrameReader reader({.max_body_bytes = kMaxBody, .max_header_bytes = 1 << 12});
  FrameReader::Callbacks callbacks{
      .on_message =
          [&](std::string body) {
            FUZZ_CHECK(body.size() <= kMaxBody, "a body over the limit was delivered");
            json message = json::parse(body, nullptr, /*allow_exceptions=*/false);
            if (message.is_discarded()) {
              // Answered -32700 with a null id.
              FUZZ_CHECK(!make_error(nullptr, {code::kParseError, "parse error", nullptr}).dump().empty(), "answer");
              return;
            }
            Incoming in = classify(message);
            switch (in.kind) {
              case Incoming::Kind::request:
                FUZZ_CHECK(in.id.is_number_integer() || in.id.is_string(), "a request id is a number or a string");
                FUZZ_CHECK(!in.method.empty(), "a request has a method");
                FUZZ_CHECK(in.params.is_object() || in.params.is_array() || in.params.is_null(), "params shape");
                (void)make_result(in.id, json::object()).dump(-1, ' ', false, json::error_handler_t::replace);
                break;
              case Incoming::Kind::notification:
                FUZZ_CHECK(!in.method.empty(), "a notification has a method");
                break;
              case Incoming::Kind::response:
                break;  // ignored: this server sends no requests
              case Incoming::Kind::invalid:
                FUZZ_CHECK(in.error.code == code::kInvalidRequest || in.error.code == code::kParseError ||
                               in.error.code == code::kInvalidParams,
                           "an invalid message is answered with an envelope error");
                (void)make_error(in.id, in.error).dump(-1, ' ', false, json::error_handler_t::replace);
                break;
            }
          },
      .on_error = [](std::string problem) { FUZZ_CHECK(!problem.empty(), "a framing problem says what it was"); },
  };
  // The first byte picks the split size, so the same stream arrives in different pieces.
  size_t chunk = 1 + data[0] % 64;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (!rest.empty()) {
    size_t n = std::min(chunk, rest.size());
    reader.feed(rest.substr(0, n), callbacks);
    rest.remove_prefix(n);
  }
  return 0;
}
