#include "host/api_session.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <limits>
#include <memory>
#include <optional>

#include "host/api_handler.h"
#include "host/connection.h"
#include "host/worker.h"

namespace studyhub::host {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
class SessionExchange;

http::response<http::string_body> text_response(const Request& req, http::status status, std::string body) {
  http::response<http::string_body> res{status, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(http::field::server, "studyhub-sandbox");
  res.set("X-Content-Type-Options", "nosniff");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = req.method() == http::verb::head ? "" : std::move(body);
  res.prepare_payload();
  return res;
}

class ApiSession : public std::enable_shared_from_this<ApiSession> {
 public:
  ApiSession(Worker& worker, tcp::socket&& socket, std::string_view buffered)
      : worker_(worker), stream_(std::move(socket)) {
    net::buffer_copy(buffer_.prepare(buffered.size()), net::buffer(buffered.data(), buffered.size()));
    buffer_.commit(buffered.size());
  }

  // The header first: an API route decides how large a body it takes (a blob upload).
  void start() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    // Beast checks Content-Length against the body limit while it parses the header (1 MB by
    // default): the limit is set once the handler has admitted the request, in on_admitted.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&ApiSession::on_header, shared_from_this()));
  }

 private:
  friend class SessionExchange;

  const std::shared_ptr<ApiHandler>& api() const { return worker_.config().api; }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return close();
    const auto& header = parser_->get();
    std::string_view target(header.target().data(), header.target().size());
    api_request_ = api() && api()->owns(target.substr(0, target.find('?')));
    if (!api_request_) {
      Admission plain;
      plain.body_limit = 64 * 1024;
      return on_admitted(std::move(plain));
    }
    // The handler decides on another thread; its answer comes back to this session's.
    stream_.expires_never();
    api()->admit(header, [self = shared_from_this()](Admission a) {
      net::post(self->stream_.get_executor(), [self, a = std::move(a)]() mutable { self->on_admitted(std::move(a)); });
    });
  }

  void on_admitted(Admission admitted) {
    admitted_ = std::move(admitted);
    if (admitted_.refusal) return refuse(std::move(*admitted_.refusal));
    const auto& header = parser_->get();
    uint64_t limit = admitted_.body_limit;
    if (parser_->content_length() && *parser_->content_length() > limit) {
      if (api_request_) return refuse(api()->too_large(header));
      return refuse(text_response(header, http::status::payload_too_large, "Request body too large.\n"));
    }
    // Uploads may take a while on a slow link; the header timeout does not apply to the body.
    stream_.expires_after(api_request_ ? std::chrono::minutes(10) : std::chrono::seconds(30));
    if (!admitted_.spool_file.empty()) {
      // The same parser, now writing the body into a file: memory stays at one buffer.
      file_parser_.emplace(std::move(*parser_));
      parser_.reset();
      file_parser_->body_limit(limit);
      beast::error_code open_ec;
      file_parser_->get().body().open(admitted_.spool_file.c_str(), beast::file_mode::write_new, open_ec);
      if (open_ec) return refuse(text_response(Request(file_parser_->get().base()), http::status::insufficient_storage,
                                               "The server cannot store the upload now.\n"));
      return http::async_read(stream_, buffer_, *file_parser_,
                              beast::bind_front_handler(&ApiSession::on_read, shared_from_this()));
    }
    parser_->body_limit(limit);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&ApiSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit && api_request_)
      return refuse(api()->too_large(file_parser_ ? Request(file_parser_->get().base()) : parser_->get()));
    if (ec) return close();
    Request request;
    if (file_parser_) {
      auto message = file_parser_->release();
      message.body().close();
      file_parser_.reset();
      request = Request(std::move(message.base()));
    } else {
      request = parser_->release();
    }
    if (api_request_) {
      stream_.expires_never();  // the handler answers when it is done (a build's event stream lasts minutes)
      return api()->handle(std::move(request), std::move(admitted_), make_exchange());
    }
    // The static path sends everything but GET and HEAD here.
    auto res = text_response(request, http::status::method_not_allowed, "Only GET and HEAD are served.\n");
    res.set(http::field::allow, "GET, HEAD");
    send(std::move(res));
  }

  std::shared_ptr<Exchange> make_exchange();

  template <class Body>
  void send(http::response<Body>&& res) {
    auto sp = std::make_shared<http::response<Body>>(std::move(res));
    response_ = sp;
    http::async_write(stream_, *sp, [self = shared_from_this(), close = sp->need_eof()](beast::error_code ec, std::size_t) {
      self->response_.reset();
      if (ec || close) return self->close();
      self->hand_back();
    });
  }

  // Answered: the next request on this connection starts on the static path again.
  void hand_back() {
    stream_.expires_never();
    auto data = buffer_.data();
    std::string_view buffered(static_cast<const char*>(data.data()), data.size());
    serve_connection(worker_, stream_.release_socket(), buffered);
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Answers a request whose body is not read (too large), then reads and drops what the client
  // still sends for a few seconds before closing, as nginx's lingering close does: closing with
  // unread bytes makes the kernel reset the connection, and the client would lose the answer.
  template <class Body>
  void refuse(http::response<Body>&& res) {
    res.keep_alive(false);
    auto sp = std::make_shared<http::response<Body>>(std::move(res));
    response_ = sp;
    http::async_write(stream_, *sp, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->response_.reset();
      self->close();
      if (ec) return;
      self->stream_.expires_after(std::chrono::seconds(5));
      self->drain(64u << 20);
    });
  }

  void drain(size_t budget) {
    if (!drain_buffer_) drain_buffer_ = std::make_unique<std::array<char, 65536>>();  // one per session, reused
    stream_.async_read_some(net::buffer(*drain_buffer_), [self = shared_from_this(), budget](beast::error_code ec,
                                                                                           std::size_t n) {
      if (ec || n >= budget) return;
      self->drain(budget - n);
    });
  }

  Worker& worker_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::file_body>> file_parser_;
  Admission admitted_;  // kept while the body is read: its context may hold a slot or a file to remove
  std::unique_ptr<std::array<char, 65536>> drain_buffer_;  // what a refused request still sends is read into it
  bool api_request_ = false;
  std::shared_ptr<void> response_;
};

// The way back to a session for an API handler, from any thread: each call is posted to the
// session's thread; the streaming calls wait for their write to complete.
class SessionExchange : public Exchange {
 public:
  explicit SessionExchange(std::shared_ptr<ApiSession> session) : session_(std::move(session)) {
    beast::error_code ec;
    auto endpoint = session_->stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "?" : endpoint.address().to_string();
    fd_ = session_->stream_.socket().native_handle();
  }

  void respond(ApiResponse response) override {
    net::post(session_->stream_.get_executor(),
              [s = session_, res = std::move(response)]() mutable { s->send(std::move(res)); });
  }

  bool begin_stream(http::response<http::empty_body> header) override {
    header.chunked(true);
    header_ = std::make_shared<http::response<http::empty_body>>(std::move(header));
    serializer_ = std::make_shared<http::response_serializer<http::empty_body>>(*header_);
    return run_write([this](auto done) {
      session_->stream_.expires_after(std::chrono::seconds(60));
      http::async_write_header(session_->stream_, *serializer_, std::move(done));
    });
  }

  bool write_chunk(std::string data) override {
    if (data.empty()) return !gone_;
    auto bytes = std::make_shared<std::string>(std::move(data));
    return run_write([this, bytes](auto done) {
      session_->stream_.expires_after(std::chrono::seconds(60));
      net::async_write(session_->stream_, http::make_chunk(net::buffer(*bytes)),
                       [bytes, done = std::move(done)](beast::error_code ec, std::size_t n) mutable { done(ec, n); });
    });
  }

  void end_stream() override {
    bool ok = run_write([this](auto done) {
      session_->stream_.expires_after(std::chrono::seconds(60));
      net::async_write(session_->stream_, http::make_chunk_last(), std::move(done));
    });
    net::post(session_->stream_.get_executor(), [s = session_, ok, keep = header_ && header_->keep_alive()] {
      if (ok && keep) s->hand_back();
      else s->close();
    });
  }

  std::string peer() const override { return peer_; }

  bool peer_closed() const override {
    // A peek from this thread while the session's own thread only writes: the kernel answers
    // 0 bytes once the client has closed, "would block" while it is there and silent.
    char byte;
    ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

 private:
  // Starts a write on the session's thread and waits for its completion.
  template <class Start>
  bool run_write(Start start) {
    if (gone_) return false;
    auto done = std::make_shared<std::promise<bool>>();
    auto result = done->get_future();
    net::post(session_->stream_.get_executor(), [start = std::move(start), done]() mutable {
      start([done](beast::error_code ec, std::size_t) { done->set_value(!ec); });
    });
    gone_ = !result.get();
    return !gone_;
  }

  std::shared_ptr<ApiSession> session_;
  std::shared_ptr<http::response<http::empty_body>> header_;
  std::shared_ptr<http::response_serializer<http::empty_body>> serializer_;
  std::string peer_;
  int fd_ = -1;
  bool gone_ = false;
};

std::shared_ptr<Exchange> ApiSession::make_exchange() { return std::make_shared<SessionExchange>(shared_from_this()); }

}  // namespace

void serve_api(Worker& worker, tcp::socket socket, std::string_view buffered) {
  std::make_shared<ApiSession>(worker, std::move(socket), buffered)->start();
}

}  // namespace studyhub::host
