// Reading typed fields out of request params, with -32602 errors that name the field.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "rpc/message.h"

namespace studyhub::rpc {

template <class T>
using Param = Result<T, RpcError>;

Param<std::string> required_string(const json& params, std::string_view field);
Param<std::optional<std::string>> optional_string(const json& params, std::string_view field);

}  // namespace studyhub::rpc
