#include "host/static_host.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <array>
#include <limits>
#include <future>
#include <list>
#include <nlohmann/json.hpp>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/log.h"
#include "core/version.h"
#include "host/api_handler.h"
#include "host/resolve.h"
#include "host/tcp_listen.h"

namespace studyhub::host {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;

namespace {

std::string_view mime_type(std::string_view path) {
  auto dot = path.rfind('.');
  std::string ext = dot == std::string_view::npos ? "" : std::string(path.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::unordered_map<std::string, std::string_view> types{
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
      {"map", "application/json"},          {"txt", "text/plain; charset=utf-8"},
      {"svg", "image/svg+xml"},             {"png", "image/png"},
      {"jpg", "image/jpeg"},                {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},                 {"webp", "image/webp"},
      {"avif", "image/avif"},               {"ico", "image/x-icon"},
      {"woff", "font/woff"},                {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},                  {"otf", "font/otf"},
      {"wasm", "application/wasm"},         {"xml", "application/xml"},
      {"webmanifest", "application/manifest+json"}, {"mp4", "video/mp4"},
      {"webm", "video/webm"},               {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},                 {"pdf", "application/pdf"}};
  auto it = types.find(ext);
  return it == types.end() ? "application/octet-stream" : it->second;
}

std::string http_date(time_t t) {
  // Most responses in a second share their dates; formatting is not free.
  thread_local time_t last_time = -1;
  thread_local std::string last_text;
  if (t == last_time) return last_text;
  char buf[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  last_time = t;
  last_text = buf;
  return last_text;
}

struct Shared {
  fs::path state_dir;
  Layout layout;
  std::shared_ptr<ApiHandler> api;
};

// Opens `relative` under the site root the way the kernel can guarantee: RESOLVE_BENEATH refuses
// `..` and any link that leads out of the site (absolute or climbing), in one call. Returns -1
// when the file is not there or not allowed.
int open_beneath(const std::string& root, const std::string& relative) {
  int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);  // follows sites/<name> to its version
  if (root_fd < 0) return -1;
  struct open_how how {};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, relative.empty() ? "." : relative.c_str(), &how, sizeof how));
  if (fd < 0 && errno == ENOSYS) {
    // Kernels before 5.6: resolve every link and require the result inside the site.
    std::error_code ec;
    fs::path real_root = fs::canonical(fs::path(root), ec);
    fs::path path = ec ? fs::path() : fs::canonical(real_root / relative, ec);
    const std::string& r = real_root.native();
    const std::string& p = path.native();
    bool inside = !ec && (p == r || (p.size() > r.size() && p.compare(0, r.size(), r) == 0 && p[r.size()] == '/'));
    fd = inside ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC) : -1;
  }
  ::close(root_fd);
  return fd;
}

using Request = http::request<http::string_body>;
constexpr uint64_t kSmallFile = 64 * 1024;

template <class Body>
void common_headers(http::response<Body>& res, const Request& req) {
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(http::field::server, "studyhub-sandbox");
  res.set("X-Content-Type-Options", "nosniff");
}

http::response<http::string_body> text_response(const Request& req, http::status status, std::string body) {
  http::response<http::string_body> res{status, req.version()};
  common_headers(res, req);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = req.method() == http::verb::head ? "" : std::move(body);
  res.prepare_payload();
  return res;
}

// "bytes=a-b" / "bytes=a-" / "bytes=-n": one range, or nullopt to serve the whole file.
// Throws std::range_error for an unsatisfiable range.
std::optional<std::pair<uint64_t, uint64_t>> parse_range(std::string_view header, uint64_t size) {
  if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos) return std::nullopt;
  header.remove_prefix(6);
  auto dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return std::stoull(std::string(s));
  };
  auto a = num(header.substr(0, dash)), b = num(header.substr(dash + 1));
  if (!a && !b) return std::nullopt;
  uint64_t first, last;
  if (!a) {  // suffix
    if (*b == 0) throw std::range_error("empty suffix");
    first = *b >= size ? 0 : size - *b;
    last = size - 1;
  } else {
    first = *a;
    last = b ? std::min(*b, size - 1) : size - 1;
    if (b && *b < *a) return std::nullopt;
  }
  if (size == 0 || first >= size) throw std::range_error("unsatisfiable");
  return std::pair{first, last};
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared) : stream_(std::move(socket)), shared_(std::move(shared)) {}

  void start() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read, shared_from_this())); }

 private:
  friend class SessionExchange;

  // The header first: an API route decides how large a body it takes (a blob upload), everything
  // else takes none worth speaking of.
  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    // Beast checks Content-Length against the body limit while it parses the header (1 MB by
    // default): the limit is set once the route is known, in on_header.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return close();
    const auto& header = parser_->get();
    std::string_view target(header.target().data(), header.target().size());
    api_request_ = shared_->api && shared_->api->owns(target.substr(0, target.find('?')));
    uint64_t limit = api_request_ ? shared_->api->body_limit(header) : 64 * 1024;
    if (parser_->content_length() && *parser_->content_length() > limit) {
      if (api_request_) return refuse(shared_->api->too_large(header));
      return refuse(text_response(header, http::status::payload_too_large, "Request body too large.\n"));
    }
    parser_->body_limit(limit);
    // Uploads may take a while on a slow link; the header timeout does not apply to the body.
    if (api_request_) stream_.expires_after(std::chrono::minutes(10));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit && api_request_) return refuse(shared_->api->too_large(parser_->get()));
    if (ec) return close();
    request_ = parser_->release();
    if (api_request_) return hand_to_api();
    handle();
  }

  void hand_to_api();

  template <class Body>
  void send(http::response<Body>&& res) {
    auto sp = std::make_shared<http::response<Body>>(std::move(res));
    response_ = sp;
    http::async_write(stream_, *sp, [self = shared_from_this(), close = sp->need_eof()](beast::error_code ec, std::size_t) {
      self->response_.reset();
      if (ec || close) return self->close();
      self->read();
    });
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
    auto scratch = std::make_shared<std::array<char, 65536>>();
    stream_.async_read_some(net::buffer(*scratch), [self = shared_from_this(), scratch, budget](beast::error_code ec,
                                                                                               std::size_t n) {
      if (ec || n >= budget) return;
      self->drain(budget - n);
    });
  }

  // The header through Beast, the body straight from the page cache with sendfile (as nginx does).
  void send_file(http::response<http::empty_body>&& header, int fd, off_t offset, size_t count) {
    auto res = std::make_shared<http::response<http::empty_body>>(std::move(header));
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    bool keep_alive = res->keep_alive();
    http::async_write_header(stream_, *sr, [self = shared_from_this(), res, sr, fd, offset, count, keep_alive](
                                               beast::error_code ec, std::size_t) {
      if (ec) {
        ::close(fd);
        return self->close();
      }
      self->pump(fd, offset, count, keep_alive);
    });
  }

  void pump(int fd, off_t offset, size_t remaining, bool keep_alive) {
    auto& socket = stream_.socket();
    beast::error_code ec;
    socket.non_blocking(true, ec);
    while (remaining > 0) {
      ssize_t n = ::sendfile(socket.native_handle(), fd, &offset, remaining);
      if (n > 0) {
        remaining -= static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        stream_.expires_after(std::chrono::seconds(30));
        socket.async_wait(tcp::socket::wait_write, [self = shared_from_this(), fd, offset, remaining, keep_alive](
                                                        beast::error_code wait_ec) {
          if (wait_ec) {
            ::close(fd);
            return self->close();
          }
          self->pump(fd, offset, remaining, keep_alive);
        });
        return;
      }
      ::close(fd);  // the file shrank under us, or the peer left: end this connection
      return close();
    }
    ::close(fd);
    if (!keep_alive) return close();
    read();
  }

  void handle();
  void serve_file(const Target& target);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  bool api_request_ = false;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<void> response_;
};

// The way back to a session for an API handler, from any thread: each call is posted to the
// session's strand; the streaming calls wait for their write to complete.
class SessionExchange : public Exchange {
 public:
  explicit SessionExchange(std::shared_ptr<Session> session) : session_(std::move(session)) {
    beast::error_code ec;
    auto endpoint = session_->stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "?" : endpoint.address().to_string();
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
      if (ok && keep) s->read();
      else s->close();
    });
  }

  std::string peer() const override { return peer_; }

 private:
  // Starts a write on the strand and waits for its completion.
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

  std::shared_ptr<Session> session_;
  std::shared_ptr<http::response<http::empty_body>> header_;
  std::shared_ptr<http::response_serializer<http::empty_body>> serializer_;
  std::string peer_;
  bool gone_ = false;
};

void Session::hand_to_api() {
  stream_.expires_never();  // the handler answers when it is done (a build's event stream lasts minutes)
  shared_->api->handle(std::move(request_), std::make_shared<SessionExchange>(shared_from_this()));
}

void Session::handle() {
  const Request& req = request_;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = text_response(req, http::status::method_not_allowed, "Only GET and HEAD are served.\n");
    res.set(http::field::allow, "GET, HEAD");
    return send(std::move(res));
  }
  Target target =
      resolve_target(std::string_view(req.target().data(), req.target().size()), shared_->state_dir, shared_->layout);
  switch (target.kind) {
    case Target::Kind::bad_request:
      return send(text_response(req, http::status::bad_request, "Bad request path.\n"));
    case Target::Kind::not_found:
      return send(text_response(req, http::status::not_found, "Not found.\n"));
    case Target::Kind::health: {
      auto res = text_response(req, http::status::ok, "");
      res.set(http::field::content_type, "application/json");
      res.set(http::field::cache_control, "no-store");
      res.body() = nlohmann::json{{"name", kServerName}, {"version", kVersion}, {"pid", ::getpid()},
                                  {"stateDir", shared_->state_dir.string()}}
                       .dump();
      res.prepare_payload();
      return send(std::move(res));
    }
    case Target::Kind::redirect: {
      auto res = text_response(req, http::status::moved_permanently, "Moved.\n");
      res.set(http::field::location, target.location);
      return send(std::move(res));
    }
    case Target::Kind::file:
      return serve_file(target);
  }
}

void Session::serve_file(const Target& target) {
  const Request& req = request_;
  auto not_found = [&] { send(text_response(req, http::status::not_found, "Not found.\n")); };
  int fd = open_beneath(target.root, target.relative);
  if (fd < 0) return not_found();
  struct stat st {};
  ::fstat(fd, &st);
  std::string name = target.relative;
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    if (!target.directory_form && !target.relative.empty()) {
      std::string location(req.target());
      auto q = location.find('?');
      location.insert(q == std::string::npos ? location.size() : q, "/");
      auto res = text_response(req, http::status::moved_permanently, "Moved.\n");
      res.set(http::field::location, location);
      return send(std::move(res));
    }
    name = target.relative.empty() ? "index.html" : target.relative + "/index.html";  // never a listing
    fd = open_beneath(target.root, name);
    if (fd < 0) return not_found();
    ::fstat(fd, &st);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return not_found();
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  char etag_buf[96];
  std::snprintf(etag_buf, sizeof etag_buf, "\"%llx-%llx-%llx\"", static_cast<unsigned long long>(st.st_ino),
                static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec));
  std::string etag = etag_buf;
  std::string last_modified = http_date(st.st_mtim.tv_sec);
  http::response<http::empty_body> res{http::status::ok, req.version()};
  common_headers(res, req);
  res.set(http::field::content_type, std::string(mime_type(name)));
  res.set(http::field::etag, etag);
  res.set(http::field::last_modified, last_modified);
  res.set(http::field::accept_ranges, "bytes");
  res.set(http::field::cache_control, target.immutable ? "public, max-age=31536000, immutable" : "no-cache");

  auto inm = req[http::field::if_none_match];
  auto ims = req[http::field::if_modified_since];
  if ((!inm.empty() && (inm == etag || inm == "*")) || (inm.empty() && !ims.empty() && ims == last_modified)) {
    ::close(fd);
    res.result(http::status::not_modified);
    return send(std::move(res));
  }
  std::optional<std::pair<uint64_t, uint64_t>> range;
  try {
    auto if_range = req[http::field::if_range];
    auto range_header = req[http::field::range];
    if (if_range.empty() || if_range == etag)
      range = parse_range(std::string_view(range_header.data(), range_header.size()), size);
  } catch (const std::range_error&) {
    ::close(fd);
    auto bad = text_response(req, http::status::range_not_satisfiable, "Range not satisfiable.\n");
    bad.set(http::field::content_range, "bytes */" + std::to_string(size));
    return send(std::move(bad));
  }
  uint64_t first = range ? range->first : 0, count = range ? range->second - range->first + 1 : size;
  if (range) {
    res.result(http::status::partial_content);
    res.set(http::field::content_range,
            "bytes " + std::to_string(range->first) + "-" + std::to_string(range->second) + "/" + std::to_string(size));
  }
  res.content_length(count);
  if (req.method() == http::verb::head || count == 0) {
    ::close(fd);
    return send(std::move(res));
  }
  if (count <= kSmallFile) {
    // Small files go out with their header in one write; sendfile pays off for larger ones.
    http::response<http::string_body> small{res.result(), req.version(), std::string(count, '\0')};
    for (const auto& field : res) small.set(field.name_string(), field.value());
    small.keep_alive(req.keep_alive());
    size_t got = 0;
    while (got < count) {
      ssize_t n = ::pread(fd, small.body().data() + got, count - got, static_cast<off_t>(first + got));
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    ::close(fd);
    if (got != count) return not_found();
    small.content_length(count);
    return send(std::move(small));
  }
  send_file(std::move(res), fd, static_cast<off_t>(first), count);
}

class Listener : public StaticHost, public std::enable_shared_from_this<Listener> {
 public:
  Listener(const HostOptions& o)
      : threads_(o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency())),
        ioc_(static_cast<int>(threads_)),
        acceptor_(net::make_strand(ioc_)),
        shared_(std::make_shared<Shared>()) {
    shared_->state_dir = o.state_dir;
    shared_->layout = o.layout;
    shared_->api = o.api;
  }

  Status listen(const HostOptions& o) {
    auto bound = listen_on(acceptor_, o.address, o.port, "choose another port with --port");
    if (!bound) return bound;
    port_ = acceptor_.local_endpoint().port();
    return ok_status();
  }

  uint16_t port() const override { return port_; }

  void run() override {
    accept_sessions<Session>(acceptor_, ioc_, shared_);
    run_on_threads(ioc_, threads_);
  }

  void stop() override { ioc_.stop(); }

 private:
  unsigned threads_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<StaticHost>> StaticHost::start(const HostOptions& options) {
  auto listener = std::make_unique<Listener>(options);
  auto ok = listener->listen(options);
  if (!ok) return ok.error();
  return std::unique_ptr<StaticHost>(std::move(listener));
}

}  // namespace studyhub::host
