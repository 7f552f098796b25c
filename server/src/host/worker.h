// One thread of the static host: its own io_context (nothing shared with the other threads on the
// hot path, so nothing locked), its own file cache, the Date line it refreshes once a second and
// one idle sweep a second over its connections instead of a timer per read. The file cache's
// inotify queue is one more descriptor of its event loop, so a request costs no read of it.
#pragma once

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "host/file_cache.h"
#include "host/resolve.h"

namespace studyhub::host {

class ApiHandler;
class Connection;

struct HostConfig {
  std::string state_dir;
  Layout layout;
  std::shared_ptr<ApiHandler> api;
  CacheLimits cache;
};

class Worker {
 public:
  explicit Worker(std::shared_ptr<const HostConfig> config);
  ~Worker();

  boost::asio::io_context& io() { return io_; }
  const HostConfig& config() const { return *config_; }
  FileCache& files() { return files_; }
  std::string_view date_line() const { return date_line_; }  // "Date: …\r\n"
  uint64_t now() const { return now_; }                     // whole seconds, for idle deadlines

  // Connections waiting on the network are closed by the sweep once their deadline has passed.
  std::list<Connection*>::iterator enroll(Connection* connection);
  void leave(std::list<Connection*>::iterator registration);

  void start();  // the per-second tick and the file cache's events; call before running io()

 private:
  void tick();
  void watch_files();  // reads the cache's inotify queue when epoll reports it readable

  std::shared_ptr<const HostConfig> config_;
  FileCache files_;
  std::string date_line_;
  uint64_t now_ = 0;
  std::list<Connection*> connections_;
  // Last, so it is destroyed first: handlers still queued own connections that leave the list.
  boost::asio::io_context io_{1};
  boost::asio::steady_timer sweep_{io_};
  boost::asio::posix::stream_descriptor file_events_{io_};
};

}  // namespace studyhub::host
