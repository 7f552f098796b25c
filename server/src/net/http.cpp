#include "net/http.h"

#include "libs/curl.h"

#include <cctype>
#include <ctime>
#include <memory>
#include <mutex>

#include "core/version.h"

namespace studyhub::net {

namespace {

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// What one transfer collects through libcurl's callbacks.
struct Transfer {
  const Request* request = nullptr;
  CURL* handle = nullptr;
  Response response;
  bool too_large = false, stopped = false;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  std::string agent;
  // perform_all: the bytes this transfer has moved, for the total.
  uint64_t sent = 0;
  std::function<void()> on_sent;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = 0;
  if (t->request->on_data) curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  if (t->request->on_data && status >= 200 && status < 300) {
    if (!t->request->on_data(std::string_view(data, n))) {
      t->stopped = true;
      return 0;
    }
    return n;
  }
  if (t->response.body.size() + n > t->request->max_response_bytes) {
    t->too_large = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    t->response.headers[name] = std::string(value);
  } else if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response (after 100 Continue)
  }
  return size * count;
}

int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(user);
  if (t->request->stop.stop_requested()) {
    t->stopped = true;
    return 1;
  }
  if (t->on_sent && static_cast<uint64_t>(ulnow) != t->sent) {
    t->sent = static_cast<uint64_t>(ulnow);
    t->on_sent();
  }
  if (t->request->on_progress)
    t->request->on_progress({static_cast<uint64_t>(ulnow), static_cast<uint64_t>(ultotal),
                             static_cast<uint64_t>(dlnow), static_cast<uint64_t>(dltotal)});
  return 0;
}

// Owners of libcurl's handles (its functions are reached through a table: see libs/curl.h).
template <class T, auto Free>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using Easy = std::unique_ptr<CURL, Freer<CURL, [](CURL* h) { curl_easy_cleanup(h); }>>;
using Headers = std::unique_ptr<curl_slist, Freer<curl_slist, [](curl_slist* l) { curl_slist_free_all(l); }>>;
using Multi = std::unique_ptr<CURLM, Freer<CURLM, [](CURLM* m) { curl_multi_cleanup(m); }>>;
using Url = std::unique_ptr<CURLU, Freer<CURLU, [](CURLU* u) { curl_url_cleanup(u); }>>;

Easy setup(Transfer& t) {
  init_curl();
  Easy curl(curl_easy_init());
  if (!curl) return curl;
  CURL* c = curl.get();
  t.handle = c;
  const Request& r = *t.request;
  for (const auto& h : r.headers) t.headers = curl_slist_append(t.headers, h.c_str());
  t.headers = curl_slist_append(t.headers, "Expect:");  // no 100-continue round trip
  t.agent = std::string(kServerName) + "/" + kVersion;
  curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  if (r.url.starts_with("http:")) curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (r.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (r.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    if (r.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, t.headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, t.agent.c_str());
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
  if (r.timeout.count() > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  if (r.idle_timeout.count() > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(r.idle_timeout.count()));
  }
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  return curl;
}

TransportError classify(CURLcode rc, const Transfer& t, CURL* c) {
  std::string detail = t.errbuf[0] ? t.errbuf : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
      return {Failure::cancelled, detail};
    case CURLE_COULDNT_CONNECT:
      return {Failure::refused, detail};
    case CURLE_COULDNT_RESOLVE_HOST:
      return {Failure::resolve, detail};
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connected = 0;
      curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
      return {connected == 0 ? Failure::connect_timeout : Failure::timeout, detail};
    }
    case CURLE_WRITE_ERROR:
      if (t.too_large) return {Failure::too_large, detail};
      if (t.stopped) return {Failure::cancelled, detail};
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return {Failure::tls, detail};
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
      return {Failure::broken, detail};
    default:
      break;
  }
  return {Failure::other, detail};
}

Result<Response, TransportError> finish(CURLcode rc, Transfer& t, CURL* c) {
  if (t.request->stop.stop_requested()) return TransportError{Failure::cancelled, "cancelled"};
  if (rc != CURLE_OK) return classify(rc, t, c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  return std::move(t.response);
}

}  // namespace

std::optional<int> Response::retry_after() const {
  auto it = headers.find("retry-after");
  if (it == headers.end() || it->second.empty()) return std::nullopt;
  const std::string& v = it->second;
  if (v.find_first_not_of("0123456789") == std::string::npos) return std::min(86400, std::atoi(v.c_str()));
  std::tm tm{};
  if (!strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return std::nullopt;
  long long delta = static_cast<long long>(timegm(&tm)) - static_cast<long long>(std::time(nullptr));
  return static_cast<int>(std::clamp<long long>(delta, 0, 86400));
}

Result<Response, TransportError> perform(const Request& request) {
  Transfer t;
  t.request = &request;
  Easy curl = setup(t);
  Headers headers(t.headers);
  if (!curl) return TransportError{Failure::other, "libcurl failed to initialise"};
  CURLcode rc = curl_easy_perform(curl.get());
  return finish(rc, t, curl.get());
}

std::vector<Result<Response, TransportError>> perform_all(const std::vector<Request>& requests, size_t parallel,
                                                          const std::function<void(uint64_t)>& on_progress,
                                                          std::stop_token stop) {
  init_curl();
  std::vector<Result<Response, TransportError>> results(requests.size(), TransportError{Failure::other, "not sent"});
  std::vector<std::unique_ptr<Transfer>> transfers(requests.size());
  std::vector<Easy> handles;
  handles.reserve(requests.size());
  Multi multi(curl_multi_init());
  if (!multi) return results;
  uint64_t done_bytes = 0;  // of finished transfers
  auto total = [&] {
    uint64_t sum = done_bytes;
    for (const auto& t : transfers)
      if (t) sum += t->sent;
    return sum;
  };
  size_t next = 0, running = 0;
  auto start_next = [&] {
    while (next < requests.size() && running < std::max<size_t>(1, parallel)) {
      auto t = std::make_unique<Transfer>();
      t->request = &requests[next];
      t->on_sent = [&] {
        if (on_progress) on_progress(total());
      };
      handles.push_back(setup(*t));
      CURL* c = handles.back().get();
      curl_easy_setopt(c, CURLOPT_PRIVATE, reinterpret_cast<void*>(next));
      curl_multi_add_handle(multi.get(), c);
      transfers[next] = std::move(t);
      ++next;
      ++running;
    }
  };
  start_next();
  while (running > 0) {
    int still = 0;
    curl_multi_perform(multi.get(), &still);
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &still)) {
      if (msg->msg != CURLMSG_DONE) continue;
      void* index = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &index);
      size_t i = reinterpret_cast<size_t>(index);
      Transfer& t = *transfers[i];
      results[i] = finish(msg->data.result, t, msg->easy_handle);
      curl_multi_remove_handle(multi.get(), msg->easy_handle);
      curl_slist_free_all(t.headers);
      t.headers = nullptr;
      done_bytes += t.sent;
      t.sent = 0;
      --running;
    }
    if (stop.stop_requested()) break;
    start_next();
    if (running > 0) curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
  }
  for (size_t i = 0; i < transfers.size(); ++i)
    if (transfers[i] && transfers[i]->headers) curl_slist_free_all(transfers[i]->headers);
  for (auto& h : handles) curl_multi_remove_handle(multi.get(), h.get());
  return results;
}

std::optional<UrlParts> parse_url(const std::string& url) {
  init_curl();
  Url h(curl_url());
  if (!h || curl_url_set(h.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  UrlParts parts;
  auto get = [&](CURLUPart part, std::string& out, unsigned flags = 0) {
    char* v = nullptr;
    if (curl_url_get(h.get(), part, &v, flags) == CURLUE_OK && v) out = v;
    curl_free(v);
  };
  get(CURLUPART_SCHEME, parts.scheme);
  get(CURLUPART_HOST, parts.host);
  get(CURLUPART_PORT, parts.port);
  get(CURLUPART_USER, parts.user);
  get(CURLUPART_PASSWORD, parts.password);
  get(CURLUPART_PATH, parts.path, CURLU_URLDECODE);
  return parts;
}

std::string url_host(const std::string& url, const std::string& fallback) {
  auto parts = parse_url(url);
  if (!parts || parts->host.empty()) return fallback;
  return parts->port.empty() ? parts->host : parts->host + ":" + parts->port;
}

std::optional<std::string> file_uri_path(const std::string& uri) {
  auto parts = parse_url(uri);
  if (!parts || parts->scheme != "file") return std::nullopt;
  if (!parts->host.empty() && parts->host != "localhost") return std::nullopt;  // another machine's file
  return parts->path;
}

}  // namespace studyhub::net
