#include "rpc/params.h"

namespace studyhub::rpc {

Param<std::optional<std::string>> optional_string(const json& params, std::string_view field) {
  if (!params.is_object()) return RpcError{code::kInvalidParams, "params must be an object", nullptr};
  auto it = params.find(field);
  if (it == params.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) return invalid_param(field, "must be a string");
  return std::optional<std::string>{it->get<std::string>()};
}

Param<std::string> required_string(const json& params, std::string_view field) {
  auto value = optional_string(params, field);
  if (!value) return value.error();
  if (!value.value()) return invalid_param(field, "is required");
  if (value.value()->empty()) return invalid_param(field, "must not be empty");
  return std::move(*value.value());
}

}  // namespace studyhub::rpc
