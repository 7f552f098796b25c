#include "rpc/message.h"

#include <doctest/doctest.h>

using namespace studyhub::rpc;
using Kind = Incoming::Kind;

TEST_CASE("requests, notifications and responses are told apart") {
  CHECK(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"method":"m"})")).kind == Kind::request);
  CHECK(classify(json::parse(R"({"jsonrpc":"2.0","id":"a","method":"m","params":[]})")).kind == Kind::request);
  CHECK(classify(json::parse(R"({"jsonrpc":"2.0","method":"m"})")).kind == Kind::notification);
  CHECK(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"result":null})")).kind == Kind::response);
}

TEST_CASE("invalid envelopes are -32600 with a reason, keeping a usable id") {
  struct Case {
    const char* text;
    const char* reason;
    json id;
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"([])", "batch", nullptr},
           {R"(42)", "must be an object", nullptr},
           {R"({"id":1,"method":"m"})", "jsonrpc", 1},
           {R"({"jsonrpc":"1.0","id":1,"method":"m"})", "jsonrpc", 1},
           {R"({"jsonrpc":"2.0","id":1})", "method", 1},
           {R"({"jsonrpc":"2.0","id":1,"method":7})", "method", 1},
           {R"({"jsonrpc":"2.0","id":{},"method":"m"})", "id", nullptr},
           {R"({"jsonrpc":"2.0","id":1.5,"method":"m"})", "id", nullptr},
           {R"({"jsonrpc":"2.0","id":null,"method":"m"})", "id", nullptr},
           {R"({"jsonrpc":"2.0","id":1,"method":"m","params":"x"})", "params", 1},
       }) {
    CAPTURE(c.text);
    Incoming in = classify(json::parse(c.text));
    CHECK(in.kind == Kind::invalid);
    CHECK(in.error.code == code::kInvalidRequest);
    CHECK(in.error.message.find(c.reason) != std::string::npos);
    CHECK(in.id == c.id);
  }
}

TEST_CASE("invalid_param names the field") {
  RpcError e = invalid_param("folder", "must be a string");
  CHECK(e.code == code::kInvalidParams);
  CHECK(e.message == "params.folder must be a string");
}
