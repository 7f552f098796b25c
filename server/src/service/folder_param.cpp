#include "service/folder_param.h"

#include "net/http.h"

namespace studyhub::service {


rpc::Param<std::filesystem::path> folder_param(const rpc::json& params) {
  auto folder = rpc::required_string(params, "folder");
  if (!folder) return folder.error();
  std::string value = folder.value();
  if (value.rfind("file:", 0) == 0) {
    auto path = net::file_uri_path(value);  // libcurl decodes percent escapes, checks the host
    if (!path) return rpc::invalid_param("folder", "is not a usable file:// URI on this machine");
    value = *path;
  } else if (value.find("://") != std::string::npos) {
    return rpc::invalid_param("folder", "must be an absolute path or a file:// URI");
  }
  std::filesystem::path p(value);
  if (!p.is_absolute()) return rpc::invalid_param("folder", "must be an absolute path");
  return p;
}

}  // namespace studyhub::service
