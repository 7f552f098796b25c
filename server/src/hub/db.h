// PostgreSQL through libpq, as values: a connection, the rows of a result, a small pool, and a
// transaction helper. libpq rather than libpqxx: it reports errors as values (libpqxx 6.4 throws),
// and the notifier needs its socket and PQnotifies directly.
//
// A lost connection is an Error with code "database.unavailable"; the API answers it with 503 and
// Retry-After, workers wait and try again. SQL errors carry their SQLSTATE as code "sql.<state>".
#pragma once

#include "libs/pq.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace studyhub::hub::db {

inline constexpr std::string_view kUnavailable = "database.unavailable";

// A query parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;
inline Param param(std::string s) { return Param(std::move(s)); }
inline Param param(const char* s) { return Param(std::string(s)); }
inline Param param(std::string_view s) { return Param(std::string(s)); }
inline Param param(int64_t v) { return Param(std::to_string(v)); }
inline Param param(int v) { return Param(std::to_string(v)); }
inline Param param(bool v) { return Param(v ? "true" : "false"); }
inline Param null() { return std::nullopt; }

class Rows {
 public:
  Rows() = default;
  explicit Rows(PGresult* result) : result_(result, PQclear) {}
  int size() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool empty() const { return size() == 0; }
  bool is_null(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string text(int row, int col) const;  // "" for NULL
  std::optional<std::string> optional_text(int row, int col) const;
  int64_t integer(int row, int col) const;  // 0 for NULL
  bool boolean(int row, int col) const;
  int64_t affected() const;  // rows an INSERT/UPDATE/DELETE touched

 private:
  std::shared_ptr<PGresult> result_;
};

struct Notification {
  std::string channel, payload;
};

class Connection {
 public:
  Connection() = default;
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  // conninfo: a libpq connection string or URI. Fails with code database.unavailable.
  static Result<Connection> open(const std::string& conninfo, std::chrono::seconds timeout = std::chrono::seconds(5));

  Result<Rows> exec(std::string_view sql, const std::vector<Param>& params = {});
  // Several statements without parameters (migrations).
  Status exec_script(std::string_view sql);

  bool healthy() const;  // the socket is up as far as libpq knows
  int socket() const;
  // Reads what arrived on the socket and returns the notifications received; fails when the
  // connection broke.
  Result<std::vector<Notification>> take_notifications();

 private:
  struct Free {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::unique_ptr<PGconn, Free> conn_;
  Error failure(std::string_view what, PGresult* result = nullptr) const;
};

// Up to `size` open connections, handed out one at a time. A broken connection is dropped when it
// comes back, and the next acquire opens a fresh one, so the pool heals when the database returns.
class Pool {
 public:
  Pool(std::string conninfo, size_t size);

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) noexcept = default;
    ~Lease();
    Connection& operator*() { return *conn_; }
    Connection* operator->() { return conn_.get(); }

   private:
    Pool* pool_ = nullptr;
    std::unique_ptr<Connection> conn_;
  };

  Result<Lease> acquire(std::chrono::milliseconds wait = std::chrono::seconds(10));
  const std::string& conninfo() const { return conninfo_; }

 private:
  void release(std::unique_ptr<Connection> conn);
  std::string conninfo_;
  size_t size_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t open_ = 0;
};

// Runs fn inside BEGIN … COMMIT (ROLLBACK when fn or the commit fails). A serialization failure
// or a deadlock is retried a few times, so fn must be safe to run again (results go into
// variables it captures and overwrites).
Status transaction(Connection& conn, const std::function<Status(Connection&)>& fn);

// Convenience over a pool: acquire, run, release.
Result<Rows> exec(Pool& pool, std::string_view sql, const std::vector<Param>& params = {});

bool is_unavailable(const Error& e);

// The SQLSTATE of a failed statement ("23505"), or "" when it was not an SQL error.
std::string sql_state(const Error& e);

}  // namespace studyhub::hub::db
