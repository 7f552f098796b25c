#include "hub/blob_owners.h"

#include "core/text.h"

namespace studyhub::hub {

namespace {

// A PostgreSQL array literal of blob ids (40 hex digits each: nothing to quote).
std::string array_literal(const std::vector<std::string>& oids) {
  std::string out = "{";
  for (const auto& oid : oids) out += (out.size() > 1 ? "," : "") + oid;
  return out + "}";
}

}  // namespace

Result<std::vector<std::string>> not_owned(db::Connection& conn, int64_t user_id, const std::vector<std::string>& oids) {
  if (oids.empty()) return std::vector<std::string>();
  auto rows = conn.exec(
      "SELECT o.oid FROM unnest($2::text[]) WITH ORDINALITY AS o(oid, n) "
      "WHERE NOT EXISTS (SELECT 1 FROM blob_owners b WHERE b.user_id = $1 AND b.oid = o.oid) ORDER BY o.n",
      {db::param(user_id), db::param(array_literal(oids))});
  if (!rows) return rows.error();
  std::vector<std::string> out;
  for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
  return out;
}

Result<int64_t> stored_bytes(db::Connection& conn, int64_t user_id) {
  auto rows = conn.exec("SELECT coalesce(sum(size), 0) FROM blob_owners WHERE user_id = $1", {db::param(user_id)});
  if (!rows) return rows.error();
  return rows->integer(0, 0);
}

Status fits_quota(db::Connection& conn, int64_t user_id, int64_t more, int64_t max_stored_bytes) {
  auto used = stored_bytes(conn, user_id);
  if (!used) return used.error();
  if (used.value() + more <= max_stored_bytes) return ok_status();
  return Error{"this upload would take your stored files to " + human_bytes(static_cast<uint64_t>(used.value() + more)) +
                   ", over this hub's limit of " + human_bytes(static_cast<uint64_t>(max_stored_bytes)) +
                   " a user; unpublish sites you no longer need",
               false, "quota.storage"};
}

Status record_upload(db::Connection& conn, int64_t user_id, const std::string& oid, int64_t size,
                     int64_t max_stored_bytes) {
  return db::transaction(conn, [&](db::Connection& c) -> Status {
    // One upload of this user at a time passes the check and the insert: two parallel uploads
    // cannot both fit under the quota's last byte.
    auto locked = c.exec("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", {db::param(user_id)});
    if (!locked) return locked.error();
    if (locked->empty()) return Error{"your user was removed", false, "auth.invalid"};
    auto owned = c.exec("SELECT 1 FROM blob_owners WHERE user_id = $1 AND oid = $2", {db::param(user_id), db::param(oid)});
    if (!owned) return owned.error();
    if (!owned->empty()) return ok_status();
    if (auto fits = fits_quota(c, user_id, size, max_stored_bytes); !fits) return fits;
    auto inserted = c.exec("INSERT INTO blob_owners (user_id, oid, size) VALUES ($1, $2, $3)",
                           {db::param(user_id), db::param(oid), db::param(size)});
    if (!inserted) return inserted.error();
    return ok_status();
  });
}

Result<bool> has_deployed(db::Connection& conn, int64_t user_id, const std::string& snapshot_id) {
  auto rows = conn.exec("SELECT 1 FROM deployments WHERE user_id = $1 AND snapshot_id = $2 LIMIT 1",
                        {db::param(user_id), db::param(snapshot_id)});
  if (!rows) return rows.error();
  return !rows->empty();
}

}  // namespace studyhub::hub
