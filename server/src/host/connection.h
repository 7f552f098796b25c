// One client connection of the static host, on its worker's thread. GET and HEAD for files are
// answered here with as few system calls as the kernel allows: one recv per request, one sendmsg
// for the header and a small body together, sendfile for a large body. Anything else (the hub's
// API, other methods) is handed to a Beast session with the bytes already read, and comes back
// when it is answered.
#pragma once

#include <sys/uio.h>

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "host/file_cache.h"
#include "host/resolve.h"

namespace studyhub::host {

class Worker;
class RequestHead;

// Starts serving `socket` on `worker`'s thread (call it there); `buffered` holds bytes already
// read from it.
void serve_connection(Worker& worker, boost::asio::ip::tcp::socket socket, std::string_view buffered = {});

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Worker& worker, boost::asio::ip::tcp::socket socket);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start(std::string_view buffered);
  void expire_if_due(uint64_t now);  // the worker's idle sweep

 private:
  enum class Wait { none, read, write };
  enum class Next { more_bytes, stop };  // stop: a write or a hand-over is in progress, or the end

  void run();              // answers what the buffer holds, reads when it needs more
  Next process();          // answers every complete request in the buffer
  bool read_some();        // false: the client closed or the connection broke
  bool answer(const RequestHead& head);  // true: answered in full, go on with the next request
  bool answer_file(const RequestHead& head, const Target& target, const std::string& target_text);
  bool send_text(int status, std::string body, std::string_view extra = {},
                 std::string_view content_type = "text/plain; charset=utf-8");
  bool begin_response(std::string_view head, std::string_view cache_control, std::string_view body);
  bool send_pending();     // true: all written; false: waiting for the socket, or it broke
  bool response_done();    // true: keep the connection for the next request
  void wait(Wait what, uint64_t seconds);
  void linger();           // after a refused body: read and drop for a while, then close
  void hand_over();

  Worker& worker_;
  boost::asio::ip::tcp::socket socket_;
  int fd_;
  std::list<Connection*>::iterator registration_;
  uint64_t deadline_ = 0;  // 0: not waiting
  Wait waiting_ = Wait::none;

  std::vector<char> in_;
  size_t begin_ = 0, end_ = 0;  // unread bytes are in_[begin_, end_)
  bool drained_ = false;        // the last read found the socket empty (edge-triggered: read it dry)
  bool woken_ = false;          // the next read follows epoll's report that the socket is readable
  uint64_t discard_ = 0;        // body bytes of a GET still to skip
  uint64_t linger_until_ = 0;   // 0: not lingering

  // The answer being written.
  bool head_only_ = false;
  bool close_after_ = false;
  std::string head_;  // a header built for this answer
  std::string tail_;  // Date, Connection and the blank line
  std::string text_;  // a text body
  std::shared_ptr<const FileInfo> file_;
  iovec iov_[4]{};
  int iov_next_ = 0, iov_count_ = 0;
  off_t send_offset_ = 0;
  uint64_t send_left_ = 0;  // bytes still to send from file_->fd
};

}  // namespace studyhub::host
