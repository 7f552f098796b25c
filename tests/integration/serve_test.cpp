// Whole conversations with the real binary over pipes.
#include <doctest/doctest.h>

#include "support/rpc_client.h"

using namespace studyhub::testing;

namespace {
int error_code(const json& r) { return r.at("error").at("code").get<int>(); }
}  // namespace

TEST_CASE("lifecycle: initialize, status, shutdown, exit gives status 0") {
  RpcClient c;
  json init = c.request(1, "initialize", {{"processId", nullptr}, {"capabilities", json::object()}});
  CHECK(init["result"]["serverInfo"]["name"] == "studyhub-sandbox");
  CHECK(init["result"]["serverInfo"]["version"].is_string());
  CHECK(init["result"]["capabilities"].is_object());
  c.notify("initialized");
  json status = c.request(2, "sandbox/status");
  CHECK(status["result"]["queue"] == json::array());
  CHECK(status["result"]["stateDir"].get<std::string>().ends_with("/state"));
  CHECK(c.request(3, "shutdown")["result"].is_null());
  c.notify("exit");
  CHECK(c.process().wait(5s) == 0);
}

TEST_CASE("exit without shutdown gives status 1") {
  RpcClient c;
  c.initialize();
  c.notify("exit");
  CHECK(c.process().wait(5s) == 1);
}

TEST_CASE("end of input is a clean exit") {
  RpcClient c;
  c.initialize();
  c.process().close_stdin();
  CHECK(c.process().wait(5s) == 0);
}

TEST_CASE("requests before initialize get -32002, notifications are dropped") {
  RpcClient c;
  c.notify("initialized");
  CHECK(error_code(c.request(1, "sandbox/status")) == -32002);
  c.initialize();
  CHECK(c.request(2, "sandbox/status").contains("result"));
}

TEST_CASE("initialize twice is an invalid request") {
  RpcClient c;
  c.initialize();
  CHECK(error_code(c.request(5, "initialize", {{"capabilities", json::object()}})) == -32600);
}

TEST_CASE("requests after shutdown get -32600") {
  RpcClient c;
  c.initialize();
  c.request(1, "shutdown");
  json r = c.request(2, "sandbox/status");
  CHECK(error_code(r) == -32600);
  CHECK(r["error"]["message"].get<std::string>().find("shutting down") != std::string::npos);
}

TEST_CASE("unknown methods get -32601 — unknown notifications are ignored") {
  RpcClient c;
  c.initialize();
  c.notify("$/setTrace", {{"value", "off"}});
  c.notify("workspace/didChangeConfiguration", {{"settings", nullptr}});
  json r = c.request(4, "sandbox/doesNotExist");
  CHECK(error_code(r) == -32601);
  CHECK(r["error"]["message"].get<std::string>().find("sandbox/doesNotExist") != std::string::npos);
  CHECK(c.seen.empty());  // the notifications drew no answer
}

TEST_CASE("invalid params name the bad field") {
  RpcClient c;
  json r = c.request(1, "initialize", {{"processId", "abc"}});
  CHECK(error_code(r) == -32602);
  CHECK(r["error"]["message"].get<std::string>().find("processId") != std::string::npos);
}

TEST_CASE("a parse error is answered and the server keeps serving") {
  RpcClient c;
  c.initialize();
  c.send_raw("Content-Length: 9\r\n\r\n{\"jsonrpc");
  auto r = c.next();
  REQUIRE(r);
  CHECK(error_code(*r) == -32700);
  CHECK((*r)["id"].is_null());
  CHECK(c.request(2, "sandbox/status").contains("result"));
}

TEST_CASE("an invalid request is answered with -32600 and its id") {
  RpcClient c;
  c.initialize();
  c.send({{"jsonrpc", "1.0"}, {"id", 9}, {"method", "sandbox/status"}});
  auto r = c.response(9);
  REQUIRE(r);
  CHECK(error_code(*r) == -32600);
}

TEST_CASE("garbage bytes followed by a valid message: the message still gets its answer") {
  RpcClient c;
  c.initialize();
  c.send_raw(std::string("\x00\xff garbage \r\n", 13));
  c.send({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "sandbox/status"}});
  auto r = c.response(3);
  REQUIRE(r);
  CHECK(r->contains("result"));
  // The client also heard why bytes were dropped.
  bool warned = false;
  for (auto& m : c.seen) warned |= m.value("method", "") == "window/logMessage";
  CHECK(warned);
}

TEST_CASE("an absurd Content-Length is refused with a log line, unallocated, and serving goes on") {
  RpcClient c({"--max-message-bytes", "4096"});
  c.initialize();
  std::string body = R"({"jsonrpc":"2.0","id":77,"method":"sandbox/status","params":{"pad":")" +
                     std::string(8000, 'p') + "\"}}";
  c.send_raw("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  c.send({{"jsonrpc", "2.0"}, {"id", 78}, {"method", "sandbox/status"}});
  auto r = c.response(78);
  REQUIRE(r);
  CHECK(r->contains("result"));
  for (auto& m : c.seen) CHECK(m.value("id", json()) != 77);
  c.process().close_stdin();
  c.process().wait(5s);
  CHECK(c.process().stderr_text().find("refused a message of " + std::to_string(body.size())) !=
        std::string::npos);
}

TEST_CASE("a header announcing petabytes does not make the server allocate it") {
  RpcClient c;
  c.initialize();
  c.send_raw("Content-Length: 1125899906842624\r\n\r\n");
  // The announced body is being skipped; closing input ends the session cleanly, not with a crash.
  c.process().close_stdin();
  CHECK(c.process().wait(5s) == 0);
  CHECK(c.process().stderr_text().find("refused a message") != std::string::npos);
}
