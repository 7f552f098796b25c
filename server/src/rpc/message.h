// JSON-RPC 2.0 message shapes and the error codes LSP assigns.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace studyhub::rpc {

using json = nlohmann::json;

namespace code {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kServerNotInitialized = -32002;
inline constexpr int kRequestFailed = -32803;
inline constexpr int kRequestCancelled = -32800;
}  // namespace code

struct RpcError {
  int code = code::kInternalError;
  std::string message;
  json data;  // optional structured detail (null when absent)
};

// LSP window/logMessage and showMessage types.
enum class MessageType { error = 1, warning = 2, info = 3, log = 4 };

struct Incoming {
  enum class Kind { request, notification, response, invalid } kind = Kind::invalid;
  json id;  // number or string for requests; null when unknown
  std::string method;
  json params;     // object, array, or null when absent
  RpcError error;  // for kind == invalid
};

// Classifies one parsed message and validates its envelope.
Incoming classify(const json& message);

json make_result(const json& id, json result);
json make_error(const json& id, const RpcError& error);
json make_notification(std::string_view method, json params);

// For -32602 messages that name the bad field: "params.folder must be a string".
RpcError invalid_param(std::string_view field, std::string_view expectation);

}  // namespace studyhub::rpc
