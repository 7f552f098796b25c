#include "service/folder_param.h"

#include <curl/curl.h>

#include <memory>

namespace studyhub::service {

namespace {
// libcurl's URL parser does the file:// decoding (percent escapes, host checks).
std::optional<std::string> path_of_file_uri(const std::string& uri) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), curl_url_cleanup);
  if (!url || curl_url_set(url.get(), CURLUPART_URL, uri.c_str(), 0) != CURLUE_OK) return std::nullopt;
  char* host = nullptr;
  if (curl_url_get(url.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    std::string h = host;
    curl_free(host);
    if (!h.empty() && h != "localhost") return std::nullopt;  // another machine's file
  }
  char* path = nullptr;
  if (curl_url_get(url.get(), CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK) return std::nullopt;
  std::string out = path;
  curl_free(path);
  return out;
}
}  // namespace

rpc::Param<std::filesystem::path> folder_param(const rpc::json& params) {
  auto folder = rpc::required_string(params, "folder");
  if (!folder) return folder.error();
  std::string value = folder.value();
  if (value.rfind("file:", 0) == 0) {
    auto path = path_of_file_uri(value);
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
