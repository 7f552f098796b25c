#include "hub/api.h"

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <any>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <charconv>
#include <thread>

#include "core/log.h"
#include "core/version.h"
#include "core/text.h"
#include "hub/blob_owners.h"
#include "hub/build_caches.h"
#include "hub/events.h"
#include "publish/store.h"

namespace studyhub::hub {

namespace http = boost::beast::http;
using nlohmann::json;
using host::ApiRequest;
using host::ApiResponse;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kJsonBodyLimit = 16u << 20;  // a 20,000-file manifest is about 2 MB

struct ApiError {
  http::status status;
  std::string code, message;
  int retry_after = 0;  // seconds, for 503 and 429
};

ApiError bad(std::string code, std::string message) { return {http::status::bad_request, std::move(code), std::move(message)}; }
ApiError not_found(std::string message) { return {http::status::not_found, "not_found", std::move(message)}; }

// An Error from a component, as the API answers it.
ApiError from_error(const Error& e) {
  if (db::is_unavailable(e))
    return {http::status::service_unavailable, "database.unavailable",
            "the hub's database is unavailable; try again in a few seconds", 5};
  const std::string& c = e.code;
  if (c == "not_found") return not_found(e.message);
  if (c.starts_with("limits.")) return {http::status::payload_too_large, c, e.message};
  if (c == "quota.storage") return {http::status::payload_too_large, c, e.message};
  if (c.starts_with("quota.")) return {http::status::too_many_requests, c, e.message, c == "quota.queued" ? 30 : 0};
  if (c == "auth.invalid") return {http::status::unauthorized, c, e.message};
  if (c == "files.invalid" || c == "files.link" || c == "blob.mismatch" || c == "blobs.missing" || c == "request.parse" ||
      c == "name.invalid")
    return bad(c, e.message);
  log::error("hub: " + e.message);
  return {http::status::internal_server_error, "internal", "the hub failed: " + e.message};
}

ApiResponse json_response(const ApiRequest& req, http::status status, const json& body) {
  ApiResponse res{status, req.version()};
  res.set(http::field::server, std::string(kServerName) + "-hub/" + kVersion);
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  if (status != http::status::no_content) res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

ApiResponse error_response(const ApiRequest& req, const ApiError& e) {
  auto res = json_response(req, e.status, {{"error", e.code}, {"message", e.message}});
  if (e.retry_after > 0) res.set(http::field::retry_after, std::to_string(e.retry_after));
  if (e.status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer realm=\"studyhub-hub\"");
  return res;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  for (size_t start = 1; start <= path.size();) {
    size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

// The Content-Length a request's header announces (a header-only message has no body to measure).
std::optional<uint64_t> content_length(const ApiRequest& header) {
  auto field = header[http::field::content_length];
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (field.empty() || ec != std::errc() || end != field.data() + field.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_id(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

std::string query_value(std::string_view target, std::string_view key) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  for (size_t start = 0; start <= query.size();) {
    size_t amp = query.find('&', start);
    std::string_view pair = query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (pair.starts_with(key) && pair.size() > key.size() && pair[key.size()] == '=')
      return std::string(pair.substr(key.size() + 1));
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return {};
}

json site_json(const SiteSummary& s, const std::string& user, const Urls& urls) {
  json out{{"name", s.name},
           {"url", urls.site(user, s.name)},
           {"immutableUrl", urls.version(user, s.snapshot_id)},
           {"snapshotId", s.snapshot_id},
           {"publishedAt", s.published_at},
           {"deploymentId", s.deployment_id}};
  if (!s.history.empty()) out["history"] = s.history;
  return out;
}

// Streams a user holds open at once (uploads, event streams): a slot is taken at admission and
// given back when the last copy of it goes, however the request ends.
class UserSlots {
 public:
  std::shared_ptr<void> take(int64_t user_id, size_t max) {
    std::lock_guard lock(mutex_);
    size_t& held = held_[user_id];
    if (held >= max) return nullptr;
    ++held;
    // Not null (a null shared_ptr reads as "no slot"); what it points to is never used.
    return std::shared_ptr<void>(static_cast<void*>(this), [this, user_id](void*) {
      std::lock_guard lock(mutex_);
      if (--held_[user_id] == 0) held_.erase(user_id);
    });
  }

 private:
  std::mutex mutex_;
  std::map<int64_t, size_t> held_;
};

// A file an upload is spooled into, removed when the request is done with it.
struct SpoolFile {
  fs::path path;
  ~SpoolFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

// Who a request is from, decided on its header (host::Admission::context).
struct Caller {
  User user;
  std::shared_ptr<void> slot;
  std::shared_ptr<SpoolFile> spool;
};

ApiError quota_streams(size_t max) {
  return {http::status::too_many_requests, "quota.streams",
          "you have " + std::to_string(max) + " uploads or event streams open, this hub's limit per user; wait for them to end",
          2};
}

class Api : public host::ApiHandler, public std::enable_shared_from_this<Api> {
 public:
  explicit Api(HubRuntime& hub) : hub_(hub), pool_(8) {}

  bool owns(std::string_view path) const override { return path == "/" || path == "/v1" || path.starts_with("/v1/"); }

  ApiResponse too_large(const ApiRequest& header) const override {
    std::string_view target(header.target().data(), header.target().size());
    bool blob = header.method() == http::verb::put && target.starts_with("/v1/blobs/");
    return error_response(header, {http::status::payload_too_large, blob ? "limits.file" : "limits.body",
                                   blob ? "the file is larger than this hub's limit of " +
                                              std::to_string(hub_.options.limits.max_file_bytes) + " bytes a file"
                                        : "the request body is larger than this hub's limit of " +
                                              std::to_string(kJsonBodyLimit) + " bytes"});
  }

  void admit(const ApiRequest& header, std::function<void(host::Admission)> decide) override {
    if (stopping_) {
      host::Admission refused;
      refused.refusal = error_response(header, {http::status::service_unavailable, "capacity",
                                                "the hub is shutting down; try again shortly", 5});
      return decide(std::move(refused));
    }
    boost::asio::post(pool_, [self = shared_from_this(), header = ApiRequest(header.base()), decide = std::move(decide)] {
      decide(self->admission(header));
    });
  }

  void handle(ApiRequest request, host::Admission admitted, std::shared_ptr<host::Exchange> exchange) override {
    boost::asio::post(pool_, [self = shared_from_this(), req = std::move(request), admitted = std::move(admitted),
                              exchange]() mutable { self->serve(std::move(req), std::move(admitted), exchange); });
  }

  void shutdown() {
    stopping_ = true;
    pool_.join();
    while (followers_ > 0) std::this_thread::sleep_for(20ms);
  }

 private:
  // The header alone decides: a request without a valid token, an upload past a quota or the
  // user's open streams is answered before its body is read; an upload's body goes to a file.
  host::Admission admission(const ApiRequest& header) {
    host::Admission a;
    a.body_limit = kJsonBodyLimit;
    std::string_view target(header.target().data(), header.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    if (path == "/") return a;
    auto refuse = [&](const ApiError& e) {
      a.refusal = error_response(header, e);
      return std::move(a);
    };
    auto conn = hub_.pool.acquire(5s);
    if (!conn) return refuse(from_error(conn.error()));
    auto user = authenticate_request(header, *conn.value());
    if (!user) return refuse(user.error());
    auto caller = std::make_shared<Caller>(Caller{user.value(), nullptr, nullptr});
    const std::string_view blob = path.starts_with("/v1/blobs/") ? path.substr(10) : std::string_view{};
    if (header.method() == http::verb::put && !blob.empty() && blob != "missing" && blob.find('/') == std::string_view::npos) {
      std::string oid(blob);
      if (!is_oid(oid)) return refuse(bad("request.parse", "'" + oid.substr(0, 60) + "' is not a blob id"));
      caller->slot = uploads_.take(caller->user.id, hub_.options.max_streams_per_user);
      if (!caller->slot) return refuse(quota_streams(hub_.options.max_streams_per_user));
      auto unowned = not_owned(*conn.value(), caller->user.id, {oid});
      if (!unowned) return refuse(from_error(unowned.error()));
      if (auto length = content_length(header); length && !unowned->empty())  // what they own costs nothing again
        if (auto fits = fits_quota(*conn.value(), caller->user.id, static_cast<int64_t>(*length),
                                   static_cast<int64_t>(hub_.options.max_stored_bytes_per_user));
            !fits)
          return refuse(from_error(fits.error()));
      caller->spool = std::make_shared<SpoolFile>(SpoolFile{hub_.sites.new_upload_path()});
      a.spool_file = caller->spool->path;
      a.body_limit = hub_.options.limits.max_file_bytes;
    }
    a.context = caller;
    return a;
  }

  void serve(ApiRequest req, host::Admission admitted, const std::shared_ptr<host::Exchange>& exchange) {
    auto started = std::chrono::steady_clock::now();
    std::string target(req.target());
    auto caller = admitted.context.has_value() ? std::any_cast<std::shared_ptr<Caller>>(admitted.context) : nullptr;
    std::optional<ApiResponse> answer = dispatch(req, caller.get(), exchange);
    if (!answer) return;  // an event stream: its own thread answers
    ApiResponse& res = *answer;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    std::error_code ec;
    uint64_t bytes_in = caller && caller->spool ? fs::file_size(caller->spool->path, ec) : req.body().size();
    log::info("hub: " + exchange->peer() + " " + std::string(req.method_string()) + " " + target.substr(0, target.find('?')) +
              " " + std::to_string(res.result_int()) + " " + std::to_string(ms) + " ms" +
              (bytes_in == 0 || ec ? "" : ", " + std::to_string(bytes_in) + " bytes in"));
    exchange->respond(std::move(res));
  }

  // nullopt when an event stream took the request over. `caller` is null only for "/".
  std::optional<ApiResponse> dispatch(const ApiRequest& req, const Caller* caller,
                                      const std::shared_ptr<host::Exchange>& exchange) {
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    auto method = req.method();
    if (path == "/") {
      if (method != http::verb::get && method != http::verb::head) return method_not_allowed(req, "GET");
      return json_response(req, http::status::ok, {{"name", "studyhub-hub"}, {"version", kVersion}, {"api", kApiVersion}});
    }
    auto parts = split_path(path);  // "v1", …
    parts.erase(parts.begin());
    if (!parts.empty() && parts.back().empty()) parts.pop_back();  // a trailing slash
    if (!caller) return error_response(req, {http::status::unauthorized, "auth.missing", "this request needs a token"});
    const User& me = caller->user;

    auto conn = hub_.pool.acquire(5s);
    if (!conn) return error_response(req, from_error(conn.error()));

    auto route = [&](std::initializer_list<std::string_view> shape) { return matches(parts, shape); };
    db::Connection& c = *conn.value();
    if (route({"me"})) {
      if (method != http::verb::get) return method_not_allowed(req, "GET");
      return json_response(req, http::status::ok, {{"user", me.name}});
    }
    if (route({"blobs", "missing"})) {
      if (method != http::verb::post) return method_not_allowed(req, "POST");
      return missing_blobs(req, c, me);
    }
    if (route({"blobs", "*"})) {
      if (method != http::verb::put) return method_not_allowed(req, "PUT");
      if (!caller->spool) return error_response(req, bad("request.parse", "'" + std::string(parts[1].substr(0, 60)) + "' is not a blob id"));
      return put_blob(req, std::string(parts[1]), c, *caller);
    }
    if (route({"sites"})) {
      if (method != http::verb::get) return method_not_allowed(req, "GET");
      return sites(req, c, me);
    }
    if (route({"sites", "*"}) || route({"sites", "*", "deployments"}) || route({"sites", "*", "rollback"}))
      return site_route(req, c, me, parts);
    if (route({"deployments", "*"}) || route({"deployments", "*", "events"}) || route({"deployments", "*", "cancel"}))
      return deployment_route(req, c, me, parts, exchange);
    return error_response(req, not_found("no such route: " + std::string(path.substr(0, 100))));
  }

  static bool matches(const std::vector<std::string_view>& parts, std::initializer_list<std::string_view> shape) {
    if (parts.size() != shape.size()) return false;
    size_t i = 0;
    for (auto s : shape) {
      if (s != "*" && parts[i] != s) return false;
      ++i;
    }
    return true;
  }

  ApiResponse sites(const ApiRequest& req, db::Connection& c, const User& me) {
    auto sites = list_sites(c, me.id, hub_.options.keep_versions);
    if (!sites) return error_response(req, from_error(sites.error()));
    json list = json::array();
    for (const auto& s : sites.value()) list.push_back(site_json(s, me.name, hub_.urls));
    return json_response(req, http::status::ok, {{"sites", list}});
  }

  // /v1/sites/<name>, …/deployments, …/rollback
  ApiResponse site_route(const ApiRequest& req, db::Connection& c, const User& me, const std::vector<std::string_view>& parts) {
    const auto method = req.method();
    std::string name(parts[1]);
    if (!publish::is_valid_name(name))
      return error_response(req, bad("name.invalid", "'" + name.substr(0, 80) +
                                                         "' is not a site name: use lowercase letters, digits and "
                                                         "single dashes, at most 63"));
    if (parts.size() == 3 && parts[2] == "deployments") {
      if (method != http::verb::post) return method_not_allowed(req, "POST");
      return create(req, c, me, name);
    }
    if (parts.size() == 3) {
      if (method != http::verb::post) return method_not_allowed(req, "POST");
      return rollback(req, c, me, name);
    }
    if (method == http::verb::get) return site(req, c, me, name);
    if (method == http::verb::delete_) return remove_site(req, c, me, name);
    return method_not_allowed(req, "GET, DELETE");
  }

  // /v1/deployments/<id>, …/events, …/cancel (nullopt: an event stream took the request over)
  std::optional<ApiResponse> deployment_route(const ApiRequest& req, db::Connection& c, const User& me,
                                              const std::vector<std::string_view>& parts,
                                              const std::shared_ptr<host::Exchange>& exchange) {
    const auto method = req.method();
    auto id = parse_id(parts[1]);
    if (!id) return error_response(req, not_found("no deployment " + std::string(parts[1].substr(0, 40))));
    if (parts.size() == 3 && parts[2] == "events") {
      if (method != http::verb::get) return method_not_allowed(req, "GET");
      return follow(req, c, me, *id, exchange);
    }
    const bool cancel = parts.size() == 3;
    if (method != (cancel ? http::verb::post : http::verb::get)) return method_not_allowed(req, cancel ? "POST" : "GET");
    auto d = cancel ? cancel_deployment(c, *id, me.id) : get_deployment(c, *id, me.id);
    if (!d) return error_response(req, from_error(d.error()));
    if (!d.value()) return error_response(req, not_found("you have no deployment " + std::to_string(*id)));
    return json_response(req, http::status::ok, to_json(*d.value(), hub_.urls));
  }

  ApiResponse method_not_allowed(const ApiRequest& req, const char* allow) {
    auto res = error_response(req, {http::status::method_not_allowed, "method",
                                    std::string(req.method_string()) + " is not allowed here; use " + allow});
    res.set(http::field::allow, allow);
    return res;
  }

  Result<User, ApiError> authenticate_request(const ApiRequest& req, db::Connection& conn) {
    auto header = req[http::field::authorization];
    if (header.empty())
      return ApiError{http::status::unauthorized, "auth.missing",
                      "this request needs a token: send Authorization: Bearer <token>"};
    std::string_view value(header.data(), header.size());
    if (!value.starts_with("Bearer "))
      return ApiError{http::status::unauthorized, "auth.missing", "use Authorization: Bearer <token>"};
    auto user = authenticate(conn, std::string(value.substr(7)));
    if (!user) return from_error(user.error());
    if (!user.value())
      return ApiError{http::status::unauthorized, "auth.invalid",
                      "the token is not valid (mistyped, or its user was removed); ask the hub's admin for a new one "
                      "('studyhub-sandbox hub user add')"};
    return *user.value();
  }

  Result<json, ApiError> parse_body(const ApiRequest& req) {
    json body = json::parse(req.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) return bad("request.parse", "the request body is not a JSON object");
    return body;
  }

  // The blobs this user still has to send: those the store lacks, and those they never uploaded
  // (another user's copy of the same bytes is not theirs to use).
  ApiResponse missing_blobs(const ApiRequest& req, db::Connection& c, const User& me) {
    auto body = parse_body(req);
    if (!body) return error_response(req, body.error());
    auto it = body->find("blobs");
    if (it == body->end() || !it->is_array())
      return error_response(req, bad("request.parse", "expected {\"blobs\": [oid, …]}"));
    if (it->size() > hub_.options.limits.max_files * 2)
      return error_response(req, {http::status::payload_too_large, "limits.files", "too many blob ids in one request"});
    std::vector<std::string> oids;
    for (const auto& o : *it) {
      if (!o.is_string() || !is_oid(o.get<std::string>()))
        return error_response(req, bad("request.parse", "every blob id must be 40 lowercase hex digits"));
      oids.push_back(o.get<std::string>());
    }
    auto missing = missing_for(c, me, oids);
    if (!missing) return error_response(req, from_error(missing.error()));
    return json_response(req, http::status::ok, {{"missing", missing.value()}});
  }

  Result<std::vector<std::string>> missing_for(db::Connection& c, const User& me, const std::vector<std::string>& oids) {
    auto unowned = not_owned(c, me.id, oids);
    if (!unowned) return unowned.error();
    std::set<std::string> wanted(unowned->begin(), unowned->end());
    for (auto& oid : hub_.blobs.missing(oids)) wanted.insert(std::move(oid));
    std::vector<std::string> out;
    for (const auto& oid : oids)
      if (wanted.erase(oid)) out.push_back(oid);
    return out;
  }

  ApiResponse put_blob(const ApiRequest& req, const std::string& oid, db::Connection& c, const Caller& caller) {
    auto put = hub_.blobs.put_file(oid, caller.spool->path);
    if (!put) return error_response(req, from_error(put.error()));
    std::error_code ec;
    auto size = static_cast<int64_t>(fs::file_size(caller.spool->path, ec));
    auto owned = record_upload(c, caller.user.id, oid, size, static_cast<int64_t>(hub_.options.max_stored_bytes_per_user));
    if (!owned) return error_response(req, from_error(owned.error()));
    bool stored = put.value() == BlobStore::Put::stored;
    return json_response(req, stored ? http::status::created : http::status::ok,
                         {{"oid", oid}, {"size", size}, {"stored", stored}});
  }

  ApiResponse blobs_missing(const ApiRequest& req, const std::vector<std::string>& missing) {
    return json_response(req, http::status::bad_request,
                         {{"error", "blobs.missing"},
                          {"message", std::to_string(missing.size()) + " of the deployment's blobs are not stored "
                                                                      "yet; upload them, then ask again"},
                          {"missing", missing}});
  }

  ApiResponse create(const ApiRequest& req, db::Connection& c, const User& me, const std::string& name) {
    auto body = parse_body(req);
    if (!body) return error_response(req, body.error());
    auto snapshot_it = body->find("snapshotId");
    auto files_it = body->find("files");
    if (snapshot_it == body->end() || !snapshot_it->is_string() || !is_oid(snapshot_it->get<std::string>()) ||
        files_it == body->end() || !files_it->is_array())
      return error_response(req, bad("request.parse",
                                     "expected {\"snapshotId\": tree id, \"files\": [{\"path\", \"oid\", \"mode\"}, …]}"));
    const std::string snapshot_id = snapshot_it->get<std::string>();
    std::vector<ManifestFile> files;
    std::vector<std::string> oids;
    for (const auto& f : *files_it) {
      if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("oid") || !f["oid"].is_string() ||
          !f.contains("mode") || !f["mode"].is_string())
        return error_response(req, bad("files.invalid", "every file needs a \"path\", an \"oid\" and a \"mode\", all strings"));
      const std::string mode = f["mode"].get<std::string>();
      uint32_t m = mode == "100644" ? 0100644 : mode == "100755" ? 0100755 : mode == "120000" ? 0120000 : 0;
      if (m == 0)
        return error_response(req, bad("files.invalid", f["path"].get<std::string>().substr(0, 200) + " has the mode \"" +
                                                            mode.substr(0, 20) +
                                                            "\"; use \"100644\", \"100755\" or \"120000\""));
      files.push_back({f["path"].get<std::string>(), f["oid"].get<std::string>(), m});
      oids.push_back(files.back().oid);
    }
    if (files.size() > hub_.options.limits.max_files)
      return error_response(req, from_error(Error{"the deployment has " + std::to_string(files.size()) +
                                                      " files, over this hub's limit of " +
                                                      std::to_string(hub_.options.limits.max_files),
                                                  false, "limits.files"}));
    std::sort(oids.begin(), oids.end());
    oids.erase(std::unique(oids.begin(), oids.end()), oids.end());
    // Every blob must be one this user uploaded, unless they deployed this very snapshot before.
    auto deployed = has_deployed(c, me.id, snapshot_id);
    if (!deployed) return error_response(req, from_error(deployed.error()));
    if (!deployed.value()) {
      auto missing = missing_for(c, me, oids);
      if (!missing) return error_response(req, from_error(missing.error()));
      if (!missing->empty()) return blobs_missing(req, missing.value());
    }
    // The tree: for a tree this hub checked before it reads no blob at all. Only when blobs are
    // missing are they listed, so the client sends just those.
    auto tree = hub_.blobs.write_tree(files, hub_.options.limits, snapshot_id);
    if (!tree && tree.error().code == "blobs.missing") {
      auto missing = hub_.blobs.missing(oids);
      if (!missing.empty()) return blobs_missing(req, missing);
    }
    if (!tree) return error_response(req, from_error(tree.error()));
    if (tree->id != snapshot_id)
      return error_response(req, bad("files.invalid", "the files make the tree " + tree->id + ", not the snapshot " +
                                                          snapshot_id + "; the list and the id do not belong together"));
    NewDeployment request{.site = name, .snapshot_id = snapshot_id, .files = static_cast<int64_t>(tree->files),
                          .bytes = static_cast<int64_t>(tree->bytes), .request_key = std::nullopt};
    auto key = req["Idempotency-Key"];
    if (!key.empty()) {
      if (key.size() > 200) return error_response(req, bad("request.parse", "the Idempotency-Key is longer than 200 characters"));
      request.request_key = std::string(key);
    }
    auto made = create_deployment(c, me, request, hub_.options.quotas);
    if (!made) return error_response(req, from_error(made.error()));
    return json_response(req, made->created ? http::status::created : http::status::ok,
                         to_json(made->deployment, hub_.urls));
  }

  ApiResponse site(const ApiRequest& req, db::Connection& c, const User& me, const std::string& name) {
    auto h = site_history(c, me.id, name);
    if (!h) return error_response(req, from_error(h.error()));
    if (!h.value()) return error_response(req, not_found("you have no site named " + name));
    json out = site_json(h.value()->site, me.name, hub_.urls);
    json history = json::array();
    for (const auto& d : h.value()->ready) {
      json entry = to_json(d, hub_.urls);
      entry["current"] = d.id == h.value()->site.deployment_id;
      entry["kept"] = hub_.sites.has_version(me.name, d.snapshot_id);
      history.push_back(entry);
    }
    out["history"] = history;
    return json_response(req, http::status::ok, out);
  }

  ApiResponse remove_site(const ApiRequest& req, db::Connection& c, const User& me, const std::string& name) {
    auto removed = delete_site(c, me, name, [&](const std::vector<std::string>& versions) {
      auto unlinked = hub_.sites.unlink(me.name, name);
      if (unlinked) hub_.sites.remove_versions(me.name, versions);
      return unlinked;
    });
    if (removed && removed.value()) (void)sweep_caches(c, hub_.options.work_dir);
    if (!removed) return error_response(req, from_error(removed.error()));
    if (!removed.value()) return error_response(req, not_found("you have no site named " + name));
    return json_response(req, http::status::no_content, nullptr);
  }

  ApiResponse rollback(const ApiRequest& req, db::Connection& c, const User& me, const std::string& name) {
    std::optional<std::string> snapshot;
    if (!req.body().empty()) {
      auto body = parse_body(req);
      if (!body) return error_response(req, body.error());
      if (auto it = body->find("snapshotId"); it != body->end() && !it->is_null()) {
        if (!it->is_string() || it->get<std::string>().size() < 7 ||
            it->get<std::string>().find_first_not_of("0123456789abcdef") != std::string::npos)
          return error_response(req, bad("request.parse", "\"snapshotId\" must be a snapshot id (7 to 40 hex digits)"));
        snapshot = it->get<std::string>();
      }
    }
    auto done = rollback_site(
        c, me, name, snapshot, [&](const std::string& id) { return hub_.sites.has_version(me.name, id); },
        [&](const std::string& id) { return hub_.sites.point(me.name, name, id); });
    if (!done) return error_response(req, from_error(done.error()));
    return json_response(req, http::status::ok, site_json(done.value(), me.name, hub_.urls));
  }

  // GET /v1/deployments/<id>/events: NDJSON, following live until the final state.
  std::optional<ApiResponse> follow(const ApiRequest& req, db::Connection& c, const User& me, int64_t id,
                                    const std::shared_ptr<host::Exchange>& exchange) {
    auto d = get_deployment(c, id, me.id);
    if (!d) return error_response(req, from_error(d.error()));
    if (!d.value()) return error_response(req, not_found("you have no deployment " + std::to_string(id)));
    int64_t since = 0;
    std::string since_text = query_value(std::string_view(req.target().data(), req.target().size()), "since");
    if (!since_text.empty()) {
      auto parsed = parse_id(since_text);
      if (!parsed && since_text != "0") return error_response(req, bad("request.parse", "since must be a whole number ≥ 0"));
      since = parsed.value_or(0);
    }
    if (followers_ >= hub_.options.max_followers)
      return error_response(req, {http::status::service_unavailable, "capacity",
                                  "the hub is following as many builds as it can; try again shortly", 2});
    auto slot = streams_.take(me.id, hub_.options.max_streams_per_user);
    if (!slot) return error_response(req, quota_streams(hub_.options.max_streams_per_user));
    ++followers_;
    http::response<http::empty_body> header{http::status::ok, req.version()};
    header.set(http::field::server, std::string(kServerName) + "-hub/" + kVersion);
    header.set(http::field::content_type, "application/x-ndjson");
    header.set(http::field::cache_control, "no-store");
    header.set("X-Accel-Buffering", "no");  // nginx: pass lines through as they come
    header.keep_alive(req.keep_alive());
    std::thread([self = shared_from_this(), header = std::move(header), exchange, id, since, user_id = me.id,
                 slot = std::move(slot)]() mutable {
      self->stream_events(std::move(header), exchange, id, since, user_id);
      --self->followers_;
    }).detach();
    return std::nullopt;
  }

  void stream_events(http::response<http::empty_body> header, const std::shared_ptr<host::Exchange>& exchange,
                     int64_t id, int64_t since, int64_t user_id) {
    if (!exchange->begin_stream(std::move(header))) return;
    const std::string key = std::to_string(id);
    auto quiet_since = std::chrono::steady_clock::now();
    auto unavailable_since = std::chrono::steady_clock::time_point{};
    // The next lines, and whether anything is left to wait for when there are none (a removed site
    // takes its deployments with it).
    auto read = [&](bool& over) -> Result<std::vector<json>> {
      auto conn = hub_.pool.acquire(5s);
      if (!conn) return conn.error();
      auto lines = events_since(*conn.value(), id, since, 500);
      if (lines && lines->empty()) {
        auto d = get_deployment(*conn.value(), id, user_id);
        over = d && (!d.value() || is_final_state(d.value()->state));
      }
      return lines;
    };
    while (!stopping_) {
      uint64_t seen = hub_.notifier.count(kEventsChannel, key);
      bool over = false;
      Result<std::vector<json>> lines = read(over);
      if (!lines) {
        // The database is away: keep the stream open a while (it usually comes back); the client
        // resumes with ?since= if it gives up first.
        if (unavailable_since == std::chrono::steady_clock::time_point{}) unavailable_since = std::chrono::steady_clock::now();
        if (std::chrono::steady_clock::now() - unavailable_since > 60s) break;
        hub_.notifier.wait(kEventsChannel, key, seen, 1s);
        continue;
      }
      unavailable_since = {};
      bool final = false;
      std::string chunk;
      for (const auto& line : lines.value()) {
        since = line["seq"].get<int64_t>();
        chunk += line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        if (line["type"] == "state" && is_final_state(line.value("state", ""))) final = true;
      }
      if (!chunk.empty()) {
        if (!exchange->write_chunk(std::move(chunk))) return;
        quiet_since = std::chrono::steady_clock::now();
      }
      if (final || over) break;
      if (lines->size() >= 500) continue;  // more are waiting
      hub_.notifier.wait(kEventsChannel, key, seen, 1s);
      if (exchange->peer_closed()) return;  // its slot goes back at once, not at the next keep-alive
      if (std::chrono::steady_clock::now() - quiet_since > 15s) {
        // An empty line keeps proxies from closing an idle stream and tells us whether the client left.
        if (!exchange->write_chunk("\n")) return;
        quiet_since = std::chrono::steady_clock::now();
      }
    }
    exchange->end_stream();
  }

  HubRuntime& hub_;
  boost::asio::thread_pool pool_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> followers_{0};
  UserSlots uploads_, streams_;  // per user, at once
};

}  // namespace

std::shared_ptr<host::ApiHandler> make_api(HubRuntime& hub) { return std::make_shared<Api>(hub); }

void shutdown_api(host::ApiHandler& api) { static_cast<Api&>(api).shutdown(); }

}  // namespace studyhub::hub
