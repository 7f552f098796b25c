// The built-in static host: serves <state>/sites/<name>/ at /s/<name>/ and the immutable
// <state>/versions/<id>/ at /v/<id>/ over HTTP/1.1 (Boost.Beast), on loopback unless told otherwise.
// The hub runs it over its data folder (/s/<user>/<name>/) with its API beside the files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/error.h"
#include "host/resolve.h"

namespace studyhub::host {

class ApiHandler;

struct HostOptions {
  std::filesystem::path state_dir;
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  unsigned threads = 0;  // 0: one per core this process may use (its CPU affinity)
  Layout layout{};
  std::shared_ptr<ApiHandler> api;  // dynamic routes served beside the files (the hub's /v1/)
};

class StaticHost {
 public:
  static Result<std::unique_ptr<StaticHost>> start(const HostOptions& options);  // bound and listening
  virtual ~StaticHost() = default;
  virtual uint16_t port() const = 0;
  virtual void run() = 0;   // serves until stop(); returns after the threads are done
  virtual void stop() = 0;  // callable from any thread or a signal handler's thread
};

}  // namespace studyhub::host
