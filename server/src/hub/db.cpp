#include "hub/db.h"

#include <poll.h>

#include <thread>

namespace studyhub::hub::db {

std::string Rows::text(int row, int col) const {
  if (is_null(row, col)) return {};
  return std::string(PQgetvalue(result_.get(), row, col), static_cast<size_t>(PQgetlength(result_.get(), row, col)));
}

std::optional<std::string> Rows::optional_text(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return text(row, col);
}

int64_t Rows::integer(int row, int col) const {
  if (is_null(row, col)) return 0;
  return std::strtoll(PQgetvalue(result_.get(), row, col), nullptr, 10);
}

bool Rows::boolean(int row, int col) const { return !is_null(row, col) && PQgetvalue(result_.get(), row, col)[0] == 't'; }

int64_t Rows::affected() const {
  const char* n = result_ ? PQcmdTuples(result_.get()) : "";
  return *n ? std::strtoll(n, nullptr, 10) : 0;
}

namespace {

// libpq's messages end in a newline and sometimes hold several lines; one sentence is wanted.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

Error Connection::failure(std::string_view what, PGresult* result) const {
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK)
    return Error{"the database is unavailable (" + one_line(conn_ ? PQerrorMessage(conn_.get()) : "not connected") + ")",
                 false, std::string(kUnavailable)};
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = result ? one_line(PQresultErrorMessage(result)) : one_line(PQerrorMessage(conn_.get()));
  return Error{std::string(what) + ": " + message, false, state ? "sql." + std::string(state) : "sql"};
}

Result<Connection> Connection::open(const std::string& conninfo, std::chrono::seconds timeout) {
  // connect_timeout and an application name go in as separate keywords, so conninfo may be a URI.
  std::string timeout_text = std::to_string(std::max<int64_t>(1, timeout.count()));
  const char* keys[] = {"dbname", "connect_timeout", "application_name", "client_encoding", nullptr};
  const char* values[] = {conninfo.c_str(), timeout_text.c_str(), "studyhub-hub", "UTF8", nullptr};
  Connection c;
  c.conn_.reset(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!c.conn_ || PQstatus(c.conn_.get()) != CONNECTION_OK) return c.failure("connect");
  // Errors and notices are ours to report; libpq would print notices to stderr.
  PQsetNoticeProcessor(c.conn_.get(), [](void*, const char*) {}, nullptr);
  return c;
}

Result<Rows> Connection::exec(std::string_view sql, const std::vector<Param>& params) {
  if (!conn_) return failure("query");
  std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* raw = PQexecParams(conn_.get(), text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
  Rows rows(raw);
  auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
  if (PQstatus(conn_.get()) != CONNECTION_OK) return failure("query");
  return failure("query failed", raw);
}

Status Connection::exec_script(std::string_view sql) {
  if (!conn_) return failure("script");
  std::string text(sql);
  PGresult* raw = PQexec(conn_.get(), text.c_str());
  Rows rows(raw);
  auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return ok_status();
  return failure("the statements failed", raw);
}

bool Connection::healthy() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

int Connection::socket() const { return conn_ ? PQsocket(conn_.get()) : -1; }

Result<std::vector<Notification>> Connection::take_notifications() {
  if (!conn_ || PQconsumeInput(conn_.get()) == 0 || PQstatus(conn_.get()) != CONNECTION_OK) return failure("listen");
  std::vector<Notification> out;
  while (PGnotify* n = PQnotifies(conn_.get())) {
    out.push_back({n->relname ? n->relname : "", n->extra ? n->extra : ""});
    PQfreemem(n);
  }
  return out;
}

Pool::Pool(std::string conninfo, size_t size) : conninfo_(std::move(conninfo)), size_(std::max<size_t>(1, size)) {}

Pool::Lease::~Lease() {
  if (pool_ && conn_) pool_->release(std::move(conn_));
}

Result<Pool::Lease> Pool::acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (!returned_.wait_for(lock, wait, [&] { return !idle_.empty() || open_ < size_; }))
    return Error{"the database is busy: all " + std::to_string(size_) + " connections are in use", false,
                 std::string(kUnavailable)};
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  auto opened = Connection::open(conninfo_);
  if (!opened) {
    std::lock_guard again(mutex_);
    --open_;
    returned_.notify_one();
    return opened.error();
  }
  return Lease(this, std::make_unique<Connection>(std::move(opened.value())));
}

void Pool::release(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(mutex_);
  if (conn->healthy()) idle_.push_back(std::move(conn));
  else --open_;
  returned_.notify_one();
}

Status transaction(Connection& conn, const std::function<Status(Connection&)>& fn) {
  for (int attempt = 0;; ++attempt) {
    auto begun = conn.exec("BEGIN");
    if (!begun) return begun.error();
    Status done = fn(conn);
    if (done) {
      auto committed = conn.exec("COMMIT");
      if (committed) return ok_status();
      done = committed.error();
    } else {
      (void)conn.exec("ROLLBACK");
    }
    std::string state = sql_state(done.error());
    bool retry = (state == "40001" || state == "40P01") && attempt < 4;
    if (!retry) return done;
    std::this_thread::sleep_for(std::chrono::milliseconds(5 << attempt));
  }
}

Result<Rows> exec(Pool& pool, std::string_view sql, const std::vector<Param>& params) {
  auto conn = pool.acquire();
  if (!conn) return conn.error();
  return (*conn.value()).exec(sql, params);
}

bool is_unavailable(const Error& e) { return e.code == kUnavailable; }

std::string sql_state(const Error& e) { return e.code.starts_with("sql.") ? e.code.substr(4) : std::string(); }

}  // namespace studyhub::hub::db
