#include "rpc/message.h"

namespace studyhub::rpc {

Incoming classify(const json& m) {
  Incoming in;
  auto invalid = [&](std::string message) {
    in.kind = Incoming::Kind::invalid;
    in.error = {code::kInvalidRequest, std::move(message), nullptr};
    return in;
  };
  if (m.is_array()) return invalid("batch requests are not supported; send one message per frame");
  if (!m.is_object()) return invalid("a JSON-RPC message must be an object");

  bool has_id = m.contains("id");
  if (has_id) {
    const json& id = m["id"];
    if (id.is_number_integer() || id.is_string()) in.id = id;
    else if (!id.is_null()) return invalid("\"id\" must be an integer or a string");
  }
  auto version = m.find("jsonrpc");
  if (version == m.end() || *version != "2.0") return invalid("\"jsonrpc\" must be \"2.0\"");

  auto method = m.find("method");
  if (method == m.end()) {
    if (m.contains("result") || m.contains("error")) {
      in.kind = Incoming::Kind::response;
      return in;
    }
    return invalid("a request needs a \"method\"");
  }
  if (!method->is_string()) return invalid("\"method\" must be a string");
  in.method = method->get<std::string>();

  auto params = m.find("params");
  if (params != m.end()) {
    if (!params->is_object() && !params->is_array())
      return invalid("\"params\" must be an object or an array");
    in.params = *params;
  }
  if (has_id && in.id.is_null()) return invalid("\"id\" must not be null");
  in.kind = has_id ? Incoming::Kind::request : Incoming::Kind::notification;
  return in;
}

json make_result(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json make_error(const json& id, const RpcError& error) {
  json e{{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) e["data"] = error.data;
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(e)}};
}

json make_notification(std::string_view method, json params) {
  return json{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

RpcError invalid_param(std::string_view field, std::string_view expectation) {
  return {code::kInvalidParams, "params." + std::string(field) + " " + std::string(expectation), nullptr};
}

}  // namespace studyhub::rpc
