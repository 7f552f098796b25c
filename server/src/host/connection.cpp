#include "host/connection.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cerrno>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/version.h"
#include "host/api_handler.h"
#include "host/api_session.h"
#include "host/responses.h"
#include "host/worker.h"

namespace studyhub::host {

namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr uint64_t kGetBodyLimit = 64 * 1024;  // a GET with a body is odd; a large one is refused
constexpr uint64_t kIdleSeconds = 30;
constexpr uint64_t kLingerSeconds = 5;

}  // namespace

// The request line and the few fields a static answer depends on, as views into the
// connection's buffer: Beast's parser without the allocation of a field container.
class RequestHead : public http::basic_parser<true> {
 public:
  RequestHead() {
    header_limit(kHeaderLimit);
    eager(false);  // stop after the header: a body is the connection's business
    // Beast refuses a Content-Length above 1 MB while parsing the header; bodies are judged by
    // whoever takes the request (an API upload may be large).
    body_limit(std::numeric_limits<std::uint64_t>::max());
  }
  http::verb method = http::verb::unknown;
  std::string_view target, if_none_match, if_modified_since, range, if_range;
  int version = 11;

 private:
  void on_request_impl(http::verb m, boost::beast::string_view, boost::beast::string_view t, int v,
                       boost::beast::error_code&) override {
    method = m;
    target = std::string_view(t.data(), t.size());
    version = v;
  }
  void on_response_impl(int, boost::beast::string_view, int, boost::beast::error_code&) override {}
  void on_field_impl(http::field name, boost::beast::string_view, boost::beast::string_view value,
                     boost::beast::error_code&) override {
    std::string_view v(value.data(), value.size());
    switch (name) {
      case http::field::if_none_match: if_none_match = v; break;
      case http::field::if_modified_since: if_modified_since = v; break;
      case http::field::range: range = v; break;
      case http::field::if_range: if_range = v; break;
      default: break;
    }
  }
  void on_header_impl(boost::beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, boost::beast::error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, boost::beast::error_code&) override {
    return body.size();
  }
  void on_finish_impl(boost::beast::error_code&) override {}
};

void serve_connection(Worker& worker, net::ip::tcp::socket socket, std::string_view buffered) {
  std::make_shared<Connection>(worker, std::move(socket))->start(buffered);
}

Connection::Connection(Worker& worker, net::ip::tcp::socket socket)
    : worker_(worker), socket_(std::move(socket)), fd_(socket_.native_handle()), in_(4096) {
  registration_ = worker_.enroll(this);
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
}

Connection::~Connection() { worker_.leave(registration_); }

void Connection::start(std::string_view buffered) {
  if (buffered.size() > in_.size()) in_.resize(buffered.size());
  std::copy(buffered.begin(), buffered.end(), in_.begin());
  end_ = buffered.size();
  if (end_) worker_.files().sync();  // read by the API session, outside this worker's order
  run();
}

void Connection::expire_if_due(uint64_t now) {
  if (waiting_ == Wait::none || now < deadline_) return;
  boost::system::error_code ec;
  socket_.close(ec);  // the pending wait ends with operation_aborted, and the connection with it
}

void Connection::wait(Wait what, uint64_t seconds) {
  waiting_ = what;
  deadline_ = worker_.now() + seconds;
  socket_.async_wait(what == Wait::read ? net::socket_base::wait_read : net::socket_base::wait_write,
                     [self = shared_from_this(), what](boost::system::error_code ec) {
                       self->waiting_ = Wait::none;
                       if (ec) return;  // expired, or the host is stopping
                       if (what == Wait::write) {
                         if (self->send_pending() && self->response_done()) self->run();
                         return;
                       }
                       if (self->linger_until_) return self->linger();
                       self->drained_ = false;
                       self->woken_ = true;  // epoll reported these bytes: swaps before them are known
                       self->run();
                     });
}

void Connection::run() {
  for (;;) {
    if (process() == Next::stop) return;
    // The epoll registration is edge-triggered: wait only once a read has found the socket empty.
    if (drained_) return wait(Wait::read, kIdleSeconds);
    if (!read_some()) return;
  }
}

bool Connection::read_some() {
  if (end_ == in_.size()) {
    if (begin_ > 0) {  // move the unread part to the front
      std::copy(in_.begin() + static_cast<long>(begin_), in_.begin() + static_cast<long>(end_), in_.begin());
      end_ -= begin_;
      begin_ = 0;
    } else if (in_.size() < kHeaderLimit + 1024) {
      in_.resize(kHeaderLimit + 1024);
    } else {
      return true;  // full of an unfinished header: process() answers 431
    }
  }
  bool woken = std::exchange(woken_, false);
  for (;;) {
    ssize_t n = ::recv(fd_, in_.data() + end_, in_.size() - end_, 0);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      drained_ = end_ < in_.size();  // a short read took everything the socket had
      // Bytes read without epoll reporting them first (a new connection, a full buffer) may have
      // been sent after a swap the worker has not heard of yet.
      if (!woken) worker_.files().sync();
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      drained_ = true;
      return true;
    }
    return false;  // closed by the client, or reset
  }
}

Connection::Next Connection::process() {
  for (;;) {
    if (discard_) {
      uint64_t skip = std::min<uint64_t>(discard_, end_ - begin_);
      begin_ += skip;
      discard_ -= skip;
    }
    if (begin_ == end_) {
      begin_ = end_ = 0;
      return Next::more_bytes;
    }
    if (discard_) return Next::more_bytes;
    RequestHead head;
    boost::beast::error_code ec;
    size_t used = head.put(net::buffer(in_.data() + begin_, end_ - begin_), ec);
    if (ec == http::error::need_more) {
      if (end_ - begin_ < kHeaderLimit) return Next::more_bytes;
      ec = http::error::header_limit;
    }
    if (ec) {
      close_after_ = true;
      send_text(ec == http::error::header_limit ? 431 : 400, "Bad request.\n");
      return Next::stop;
    }
    // Whatever else the request is, it goes elsewhere with its header still in the buffer.
    const auto& api = worker_.config().api;
    bool get = head.method == http::verb::get || head.method == http::verb::head;
    if ((api && api->owns(head.target.substr(0, head.target.find('?')))) || !get) {
      hand_over();
      return Next::stop;
    }
    begin_ += used;
    close_after_ = !head.keep_alive();
    head_only_ = head.method == http::verb::head;
    if (head.chunked()) {
      close_after_ = true;
      send_text(400, "A GET request carries no body.\n");
      return Next::stop;
    }
    if (head.content_length() && *head.content_length() > kGetBodyLimit) {
      close_after_ = true;
      linger_until_ = worker_.now() + kLingerSeconds;  // then drain what the client still sends
      send_text(413, "Request body too large.\n");
      return Next::stop;
    }
    if (head.content_length()) discard_ = *head.content_length();
    if (!answer(head)) return Next::stop;
  }
}

bool Connection::answer(const RequestHead& head) {
  std::string target_text(head.target);
  Target target = resolve_target(target_text, worker_.config().state_dir, worker_.config().layout);
  switch (target.kind) {
    case Target::Kind::bad_request:
      return send_text(400, "Bad request path.\n");
    case Target::Kind::not_found:
      return send_text(404, "Not found.\n");
    case Target::Kind::health:
      return send_text(200,
                       nlohmann::json{{"name", kServerName}, {"version", kVersion}, {"pid", ::getpid()},
                                      {"stateDir", worker_.config().state_dir}}
                           .dump(),
                       "Cache-Control: no-store\r\n", "application/json");
    case Target::Kind::redirect:
      return send_text(301, "Moved.\n", "Location: " + target.location + "\r\n");
    case Target::Kind::file:
      return answer_file(head, target, target_text);
  }
  return send_text(404, "Not found.\n");
}

bool Connection::answer_file(const RequestHead& head, const Target& target, const std::string& target_text) {
  Found found = worker_.files().find(target);
  if (found.kind == Found::Kind::add_slash) {
    std::string location = target_text;
    auto q = location.find('?');
    location.insert(q == std::string::npos ? location.size() : q, "/");
    return send_text(301, "Moved.\n", "Location: " + location + "\r\n");
  }
  if (found.kind != Found::Kind::file) return send_text(404, "Not found.\n");
  file_ = std::move(found.file);
  const FileInfo& f = *file_;
  std::string_view cache = target.immutable ? kCacheImmutable : kCacheRevalidate;
  auto inm = head.if_none_match, ims = head.if_modified_since;
  if ((!inm.empty() && (inm == f.etag || inm == "*")) || (inm.empty() && !ims.empty() && ims == f.last_modified)) {
    head_ = status_line(304) + f.fields;
    return begin_response(head_, cache, {});
  }
  std::optional<std::pair<uint64_t, uint64_t>> range;
  try {
    if (!head.range.empty() && (head.if_range.empty() || head.if_range == f.etag)) range = parse_range(head.range, f.size);
  } catch (const std::range_error&) {
    return send_text(416, "Range not satisfiable.\n", "Content-Range: bytes */" + std::to_string(f.size) + "\r\n");
  }
  uint64_t first = 0, count = f.size;
  std::string_view head_view = f.head_ok;
  if (range) {
    first = range->first;
    count = range->second - range->first + 1;
    head_ = status_line(206) + f.fields + "Content-Range: bytes " + std::to_string(range->first) + "-" +
            std::to_string(range->second) + "/" + std::to_string(f.size) + "\r\nContent-Length: " +
            std::to_string(count) + "\r\n";
    head_view = head_;
  }
  if (head_only_ || count == 0) return begin_response(head_view, cache, {});
  if (f.in_memory) return begin_response(head_view, cache, std::string_view(f.body).substr(first, count));
  send_offset_ = static_cast<off_t>(first);
  send_left_ = count;
  return begin_response(head_view, cache, {});
}

bool Connection::send_text(int status, std::string body, std::string_view extra, std::string_view content_type) {
  file_.reset();
  head_ = text_head(status, body, extra, content_type);
  text_ = std::move(body);
  return begin_response(head_, {}, head_only_ ? std::string_view{} : std::string_view(text_));
}

bool Connection::begin_response(std::string_view head, std::string_view cache_control, std::string_view body) {
  tail_.assign(worker_.date_line());
  if (close_after_) tail_ += "Connection: close\r\n";
  tail_ += "\r\n";
  iov_count_ = 0;
  iov_next_ = 0;
  iov_[iov_count_++] = {const_cast<char*>(head.data()), head.size()};
  if (!cache_control.empty()) iov_[iov_count_++] = {const_cast<char*>(cache_control.data()), cache_control.size()};
  iov_[iov_count_++] = {tail_.data(), tail_.size()};
  if (!body.empty()) iov_[iov_count_++] = {const_cast<char*>(body.data()), body.size()};
  return send_pending() && response_done();
}

bool Connection::send_pending() {
  while (iov_next_ < iov_count_) {
    msghdr msg{};
    msg.msg_iov = iov_ + iov_next_;
    msg.msg_iovlen = static_cast<size_t>(iov_count_ - iov_next_);
    // With a file to follow, the header waits for the file's first bytes instead of going alone.
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | (send_left_ ? MSG_MORE : 0));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) wait(Wait::write, kIdleSeconds);
      return false;  // waiting, or the client left and the connection ends with this call chain
    }
    auto left = static_cast<size_t>(n);
    while (iov_next_ < iov_count_ && left >= iov_[iov_next_].iov_len) left -= iov_[iov_next_++].iov_len;
    if (left) {
      iov_[iov_next_].iov_base = static_cast<char*>(iov_[iov_next_].iov_base) + left;
      iov_[iov_next_].iov_len -= left;
    }
  }
  while (send_left_) {
    ssize_t n = ::sendfile(fd_, file_->fd, &send_offset_, send_left_);
    if (n > 0) {
      send_left_ -= static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait(Wait::write, kIdleSeconds);
      return false;
    }
    send_left_ = 0;  // the file is shorter than it was (not a published one), or the client left
    return false;
  }
  return true;
}

bool Connection::response_done() {
  file_.reset();
  head_only_ = false;
  if (!close_after_) return true;
  boost::system::error_code ec;
  socket_.shutdown(net::socket_base::shutdown_send, ec);
  if (linger_until_) linger();
  return false;  // without a pending wait, the last reference goes with this call chain
}

// Closing with unread bytes makes the kernel reset the connection and the client can lose the
// answer: read and drop what it still sends for a few seconds first, as nginx's lingering close.
void Connection::linger() {
  char scratch[16384];
  for (int reads = 0; reads < 64; ++reads) {  // a fast sender does not keep the thread to itself
    ssize_t n = ::recv(fd_, scratch, sizeof scratch, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && worker_.now() < linger_until_)
      return wait(Wait::read, linger_until_ - worker_.now());
    return;  // closed, reset, or time is up
  }
  if (worker_.now() < linger_until_) wait(Wait::read, linger_until_ - worker_.now());
}

void Connection::hand_over() {
  boost::system::error_code ec;
  socket_.non_blocking(false, ec);
  std::string_view buffered(in_.data() + begin_, end_ - begin_);
  serve_api(worker_, std::move(socket_), buffered);
}

}  // namespace studyhub::host
