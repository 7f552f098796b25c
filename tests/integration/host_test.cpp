// The static host's own HTTP/1.1 path and its caches, over raw keep-alive connections: what a
// swap, a rollback or an unpublish does to the very next request, pipelining, bodies on GET,
// HTTP/1.0, oversized headers, and large files sent from a kept descriptor.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "support/fs_helpers.h"
#include "support/http_client.h"
#include "support/sandbox_world.h"

using namespace studyhub::testing;

namespace {

struct RawResponse {
  int status = 0;  // 0: the connection closed before an answer
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// One TCP connection, spoken to byte for byte: nothing between the test and the host.
class RawClient {
 public:
  explicit RawClient(const std::string& url) {
    std::smatch m;
    REQUIRE(std::regex_search(url, m, std::regex(R"(http://127\.0\.0\.1:(\d+))")));
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(m[1])));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~RawClient() { ::close(fd_); }

  void send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      sent += static_cast<size_t>(n);
    }
  }

  RawResponse get(const std::string& path, const std::string& extra = "") {
    send("GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n");
    return read(false);
  }

  // One answer; a HEAD or 304 answer has no body whatever its Content-Length says.
  RawResponse read(bool no_body) {
    RawResponse r;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return r;
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    std::smatch m;
    if (!std::regex_search(head, m, std::regex(R"(^HTTP/1\.[01] (\d{3}))"))) return r;
    r.status = std::stoi(m[1]);
    for (size_t at = head.find("\r\n"); at != std::string::npos;) {
      size_t next = head.find("\r\n", at + 2);
      std::string line = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      at = next;
    }
    size_t length = no_body || r.status == 304 ? 0 : std::stoul(r.headers["content-length"]);
    while (buffer_.size() < length)
      if (!fill()) return RawResponse{};
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
  }

  // Whether the host closed the connection (read returns 0) within the receive timeout.
  bool closed_by_host() {
    char c;
    return buffer_.empty() && ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool fill() {
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

std::string path_of(const std::string& url) { return url.substr(url.find('/', std::string("http://").size())); }

}  // namespace

TEST_CASE("the host's caches: every publish, rollback and unpublish is seen by the very next request") {
  World w;
  fs::path site = w.root / "swap";
  write_file(site / "index.html", "version 0\n");
  write_file(site / "same.txt", "unchanged\n");
  auto first = w.cli({"publish", "--json", site.string()});
  REQUIRE(first.status == 0);
  auto result = nlohmann::json::parse(World::url_of(first));
  std::string url = result["url"];
  std::string first_version = path_of(result["immutableUrl"]);
  // Connections on both of the host's threads, warmed up: every answer below comes from a cache
  // unless the cache noticed the change.
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<RawClient>(url));
    for (int k = 0; k < 3; ++k) CHECK(clients.back()->get(path_of(url)).body == "version 0\n");
    CHECK(clients.back()->get(first_version).body == "version 0\n");
  }
  for (int round = 1; round <= 8; ++round) {
    CAPTURE(round);
    write_file(site / "index.html", "version " + std::to_string(round) + "\n");
    REQUIRE(w.cli({"publish", site.string()}).status == 0);
    for (auto& c : clients) {
      CHECK(c->get(path_of(url)).body == "version " + std::to_string(round) + "\n");
      CHECK(c->get(path_of(url) + "same.txt").body == "unchanged\n");
    }
    // A new connection's first request is read before epoll reports it: it must see the swap too.
    for (int i = 0; i < 2; ++i) CHECK(RawClient(url).get(path_of(url)).body == "version " + std::to_string(round) + "\n");
  }
  REQUIRE(w.cli({"rollback", "swap"}).status == 0);
  for (auto& c : clients) CHECK(c->get(path_of(url)).body == "version 7\n");
  // The first version is no longer kept (history is bounded) or is: either way /v/ answers it
  // exactly as the versions folder has it.
  bool kept = fs::exists(fs::path(w.state) / "versions" / first_version.substr(3, 40));
  for (auto& c : clients) CHECK(c->get(first_version).status == (kept ? 200 : 404));

  auto current = path_of(nlohmann::json::parse(World::url_of(w.cli({"publish", "--json", site.string()})))["immutableUrl"]);
  for (auto& c : clients) CHECK(c->get(current).status == 200);
  REQUIRE(w.cli({"unpublish", "swap"}).status == 0);
  for (auto& c : clients) {
    CHECK(c->get(path_of(url)).status == 404);
    CHECK(c->get(current).status == 404);  // its versions went with it
  }
  // Published again under the same name: served again at once.
  REQUIRE(w.cli({"publish", site.string()}).status == 0);
  for (auto& c : clients) CHECK(c->get(path_of(url)).body == "version 8\n");
}

TEST_CASE("the host speaks HTTP/1.1 with care: pipelining, bodies on GET, HEAD, HTTP/1.0, oversized headers, Date") {
  World w;
  fs::path site = w.static_site("proto", "Proto");
  std::string big(300 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);
  write_file(site / "big.bin", big);
  auto r = w.cli({"publish", site.string()});
  REQUIRE(r.status == 0);
  std::string url = World::url_of(r), base = path_of(url);

  SUBCASE("three requests in one write are answered in order on one connection") {
    RawClient c(url);
    c.send("GET " + base + "css/site.css HTTP/1.1\r\nHost: t\r\n\r\n" + "HEAD " + base +
           "js/app.js HTTP/1.1\r\nHost: t\r\n\r\n" + "GET " + base + "missing HTTP/1.1\r\nHost: t\r\n\r\n");
    auto css = c.read(false);
    CHECK(css.status == 200);
    CHECK(css.body == "h1 { color: red }\n");
    auto head = c.read(true);
    CHECK(head.status == 200);
    CHECK(head.headers["content-length"] == std::to_string(std::string("console.log('Proto')\n").size()));
    CHECK(c.read(false).status == 404);
    CHECK(c.get(base).status == 200);  // and the connection is still good
  }
  SUBCASE("a large file goes out whole, many times over one connection, and in ranges") {
    RawClient c(url);
    for (int i = 0; i < 20; ++i) {
      auto res = c.get(base + "big.bin");
      REQUIRE(res.status == 200);
      CHECK(res.body.size() == big.size());
      CHECK(res.body == big);
    }
    auto part = c.get(base + "big.bin", "Range: bytes=100000-100009\r\n");
    CHECK(part.status == 206);
    CHECK(part.body == big.substr(100000, 10));
    CHECK(part.headers["content-range"] == "bytes 100000-100009/" + std::to_string(big.size()));
    auto tail = c.get(base + "big.bin", "Range: bytes=-5\r\n");
    CHECK(tail.body == big.substr(big.size() - 5));
    auto etag = c.get(base + "big.bin").headers["etag"];
    CHECK(c.get(base + "big.bin", "If-None-Match: " + etag + "\r\n").status == 304);
    // If-Range with another validator: the whole file, not the range.
    CHECK(c.get(base + "big.bin", "Range: bytes=0-9\r\nIf-Range: \"other\"\r\n").body.size() == big.size());
  }
  SUBCASE("a GET with a small body: the body is skipped and the next request read") {
    RawClient c(url);
    c.send("GET " + base + "css/site.css HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
    CHECK(c.read(false).body == "h1 { color: red }\n");
    CHECK(c.get(base + "js/app.js").body == "console.log('Proto')\n");
  }
  SUBCASE("a GET announcing a large body gets 413 and the connection ends") {
    RawClient c(url);
    c.send("GET " + base + " HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\nxxxx");
    auto res = c.read(false);
    CHECK(res.status == 413);
    CHECK(res.headers["connection"] == "close");
  }
  SUBCASE("HTTP/1.0 without keep-alive: one answer, then the host closes") {
    RawClient c(url);
    c.send("GET " + base + "css/site.css HTTP/1.0\r\n\r\n");
    auto res = c.read(false);
    CHECK(res.status == 200);
    CHECK(res.body == "h1 { color: red }\n");
    CHECK(c.closed_by_host());
  }
  SUBCASE("an oversized header gets 431; a malformed request 400; both close") {
    RawClient c(url);
    c.send("GET " + base + " HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    CHECK(c.read(false).status == 431);
    CHECK(c.closed_by_host());
    RawClient d(url);
    d.send("GET " + base + " HTTP/9\r\n\r\n");
    CHECK(d.read(false).status == 400);
    CHECK(d.closed_by_host());
  }
  SUBCASE("every answer carries Date, and the same fields as before") {
    RawClient c(url);
    for (const std::string& p : {base, base + "missing", base + "css"}) {
      auto res = c.get(p);
      CHECK(std::regex_match(res.headers["date"], std::regex(R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)")));
      CHECK(res.headers["server"] == "studyhub-sandbox");
      CHECK(res.headers["x-content-type-options"] == "nosniff");
    }
    auto page = c.get(base);
    CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
    CHECK(page.headers["cache-control"] == "no-cache");
    CHECK(page.headers["accept-ranges"] == "bytes");
    CHECK(!page.headers["last-modified"].empty());
  }
}
