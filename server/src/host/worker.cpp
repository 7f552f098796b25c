#include "host/worker.h"

#include <chrono>
#include <ctime>

#include <unistd.h>

#include "host/connection.h"
#include "host/responses.h"

namespace studyhub::host {

Worker::Worker(std::shared_ptr<const HostConfig> config)
    : config_(std::move(config)), files_(config_->state_dir, config_->layout.site_depth, config_->cache) {
  date_line_ = "Date: " + http_date(std::time(nullptr)) + "\r\n";
}

Worker::~Worker() {
  // The io_context goes first (declared last); whatever it still held has left the list by now.
  boost::system::error_code ec;
  sweep_.cancel(ec);
  file_events_.cancel(ec);
}

std::list<Connection*>::iterator Worker::enroll(Connection* connection) {
  return connections_.insert(connections_.end(), connection);
}

void Worker::leave(std::list<Connection*>::iterator registration) { connections_.erase(registration); }

void Worker::start() {
  tick();
  int fd = files_.events_fd() >= 0 ? ::dup(files_.events_fd()) : -1;
  if (fd < 0) return;  // the cache then reads its queue at every lookup
  boost::system::error_code ec;
  file_events_.assign(fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  files_.drain_on_lookup(false);
  watch_files();
}

// epoll's ready list is in order of arrival, so a swap's event is handled before any request
// that arrived after it; requests read outside the event loop call FileCache::sync() first.
void Worker::watch_files() {
  file_events_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec) return;
    files_.sync();
    watch_files();
  });
}

void Worker::tick() {
  now_ = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
  date_line_ = "Date: " + http_date(std::time(nullptr)) + "\r\n";
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection* c = *it++;  // expiring only closes the socket: the connection leaves the list later
    c->expire_if_due(now_);
  }
  sweep_.expires_after(std::chrono::seconds(1));
  sweep_.async_wait([this](boost::system::error_code ec) {
    if (!ec) tick();
  });
}

}  // namespace studyhub::host
