#include "hub/users.h"

#include "core/digest.h"

namespace studyhub::hub {

namespace {
constexpr const char* kTokenPrefix = "shub_";  // recognisable in a leak scanner, as GitHub's ghp_
}

bool is_valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 39 || name.front() == '-' || name.back() == '-') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && name[i - 1] != '-');
    if (!ok) return false;
  }
  return true;
}

std::string token_digest(std::string_view token) { return sha256_hex(token); }

namespace {

Result<std::string> insert_token(db::Connection& conn, int64_t user_id) {
  std::string token = kTokenPrefix + random_token(32);
  auto inserted = conn.exec("INSERT INTO tokens (user_id, digest) VALUES ($1, decode($2, 'hex'))",
                            {db::param(user_id), db::param(token_digest(token))});
  if (!inserted) return inserted.error();
  return token;
}

}  // namespace

Result<std::string> add_user(db::Connection& conn, const std::string& name) {
  if (!is_valid_user_name(name))
    return Error{"'" + name + "' is not a valid user name: use 1 to 39 lowercase letters, digits and single dashes"};
  std::string token;
  auto done = db::transaction(conn, [&](db::Connection& c) -> Status {
    auto user = c.exec("INSERT INTO users (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id", {db::param(name)});
    if (!user) return user.error();
    if (user->empty()) return Error{"the user '" + name + "' exists already; add a token with 'hub user token " + name + "'", false, "exists"};
    auto made = insert_token(c, user->integer(0, 0));
    if (!made) return made.error();
    token = made.value();
    return ok_status();
  });
  if (!done) return done.error();
  return token;
}

Result<std::string> add_token(db::Connection& conn, const std::string& name) {
  auto user = conn.exec("SELECT id FROM users WHERE name = $1", {db::param(name)});
  if (!user) return user.error();
  if (user->empty()) return Error{"there is no user '" + name + "'", false, "not_found"};
  return insert_token(conn, user->integer(0, 0));
}

Result<std::vector<UserSummary>> list_users(db::Connection& conn) {
  auto rows = conn.exec(
      "SELECT u.name, to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
      "(SELECT count(*) FROM sites s WHERE s.user_id = u.id), (SELECT count(*) FROM tokens t WHERE t.user_id = u.id) "
      "FROM users u ORDER BY u.name");
  if (!rows) return rows.error();
  std::vector<UserSummary> out;
  for (int i = 0; i < rows->size(); ++i)
    out.push_back({rows->text(i, 0), rows->text(i, 1), rows->integer(i, 2), rows->integer(i, 3)});
  return out;
}

Result<bool> remove_user(db::Connection& conn, const std::string& name) {
  auto removed = conn.exec("DELETE FROM users WHERE name = $1", {db::param(name)});
  if (!removed) return removed.error();
  return removed->affected() > 0;
}

Result<std::optional<User>> authenticate(db::Connection& conn, const std::string& token) {
  if (!token.starts_with(kTokenPrefix) || token.size() > 200) return std::optional<User>();
  auto rows = conn.exec(
      "SELECT u.id, u.name FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.digest = decode($1, 'hex')",
      {db::param(token_digest(token))});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<User>();
  return std::optional<User>(User{rows->integer(0, 0), rows->text(0, 1)});
}

}  // namespace studyhub::hub
