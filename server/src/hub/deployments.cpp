#include "hub/deployments.h"

#include <algorithm>

#include "hub/events.h"

namespace studyhub::hub {

using nlohmann::json;

namespace {

// The columns every deployment read selects, in the order row_to_deployment reads them.
constexpr const char* kDeploymentColumns =
    "d.id, s.name, u.name, d.snapshot_id, d.state, d.last_position, d.cached, d.file_count, d.bytes, "
    STUDYHUB_SQL_TIME("d.created_at") ", " STUDYHUB_SQL_TIME("d.started_at") ", " STUDYHUB_SQL_TIME("d.finished_at")
    ", d.error, d.error_code, d.diagnostics, d.superseded_by, d.attempts";
constexpr const char* kDeploymentFrom =
    " FROM deployments d JOIN sites s ON s.id = d.site_id JOIN users u ON u.id = d.user_id ";

Deployment row_to_deployment(const db::Rows& r, int i) {
  Deployment d;
  d.id = r.integer(i, 0);
  d.site = r.text(i, 1);
  d.user = r.text(i, 2);
  d.snapshot_id = r.text(i, 3);
  d.state = r.text(i, 4);
  if (d.state == "queued" && !r.is_null(i, 5)) d.position = static_cast<int>(r.integer(i, 5));
  d.cached = r.boolean(i, 6);
  d.files = r.integer(i, 7);
  d.bytes = r.integer(i, 8);
  d.created_at = r.text(i, 9);
  d.started_at = r.optional_text(i, 10);
  d.finished_at = r.optional_text(i, 11);
  d.error = r.optional_text(i, 12);
  d.error_code = r.optional_text(i, 13);
  if (!r.is_null(i, 14)) d.diagnostics = json::parse(r.text(i, 14), nullptr, false);
  if (!r.is_null(i, 15)) d.superseded_by = r.integer(i, 15);
  d.attempts = static_cast<int>(r.integer(i, 16));
  return d;
}

Result<Deployment> load(db::Connection& conn, int64_t id) {
  auto rows = conn.exec(std::string("SELECT ") + kDeploymentColumns + kDeploymentFrom + "WHERE d.id = $1", {db::param(id)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error{"no deployment " + std::to_string(id), false, "not_found"};
  return row_to_deployment(rows.value(), 0);
}

Error quota(std::string code, std::string message) { return Error{std::move(message), false, std::move(code)}; }

json state_event(std::string state) { return json{{"type", "state"}, {"state", std::move(state)}}; }

Status notify(db::Connection& conn, const char* channel, const std::string& payload) {
  auto sent = conn.exec("SELECT pg_notify($1, $2)", {db::param(channel), db::param(payload)});
  if (!sent) return sent.error();
  return ok_status();
}

// The site's row, locked for this transaction; created when `create` (within the quota).
Result<std::optional<int64_t>> lock_site(db::Connection& conn, int64_t user_id, const std::string& name) {
  auto rows = conn.exec("SELECT id FROM sites WHERE user_id = $1 AND name = $2 FOR UPDATE",
                        {db::param(user_id), db::param(name)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(rows->integer(0, 0));
}

}  // namespace

json to_json(const Deployment& d, const Urls& urls) {
  json j{{"id", d.id},
         {"site", d.site},
         {"user", d.user},
         {"snapshotId", d.snapshot_id},
         {"state", d.state},
         {"url", urls.site(d.user, d.site)},
         {"immutableUrl", urls.version(d.user, d.snapshot_id)},
         {"cached", d.cached},
         {"files", d.files},
         {"bytes", d.bytes},
         {"attempts", d.attempts},
         {"createdAt", d.created_at}};
  if (d.position) j["position"] = *d.position;
  if (d.started_at) j["startedAt"] = *d.started_at;
  if (d.finished_at) j["finishedAt"] = *d.finished_at;
  if (d.error) j["error"] = *d.error;
  if (d.error_code) j["errorCode"] = *d.error_code;
  if (d.diagnostics.is_array()) j["diagnostics"] = d.diagnostics;
  if (d.superseded_by) j["supersededBy"] = *d.superseded_by;
  return j;
}

namespace {

// The site's row, locked; made first when the user has none of that name (within the quota).
Result<int64_t> lock_or_create_site(db::Connection& c, const User& user, const std::string& name, const Quotas& quotas) {
  auto site = lock_site(c, user.id, name);
  if (!site) return site.error();
  if (site.value()) return *site.value();
  auto count = c.exec("SELECT count(*) FROM sites WHERE user_id = $1", {db::param(user.id)});
  if (!count) return count.error();
  if (count->integer(0, 0) >= quotas.max_sites)
    return quota("quota.sites", "you have " + std::to_string(count->integer(0, 0)) +
                                    " sites, this hub's limit per user; unpublish one first");
  auto made = c.exec("INSERT INTO sites (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                     {db::param(user.id), db::param(name)});
  if (!made) return made.error();
  site = lock_site(c, user.id, name);
  if (!site) return site.error();
  if (!site.value()) return Error{"the site " + name + " vanished while it was created; try again"};
  return *site.value();
}

// A deployment that answers this request instead of a new one: a retried request (same key), the
// published snapshot (cached), or the same snapshot already on its way.
Result<std::optional<Deployment>> existing_answer(db::Connection& c, const User& user, int64_t site_id,
                                                  const NewDeployment& request) {
  if (request.request_key) {
    auto same = c.exec("SELECT id FROM deployments WHERE user_id = $1 AND request_key = $2",
                       {db::param(user.id), db::param(*request.request_key)});
    if (!same) return same.error();
    if (!same->empty()) {
      auto d = load(c, same->integer(0, 0));
      if (!d) return d.error();
      return std::optional<Deployment>(d.value());
    }
  }
  auto existing = c.exec(
      "SELECT d.id, d.id = s.current_deployment_id AS current FROM deployments d JOIN sites s ON s.id = d.site_id "
      "WHERE d.site_id = $1 AND d.snapshot_id = $2 "
      "  AND (d.id = s.current_deployment_id OR d.state IN ('queued', 'building', 'publishing')) "
      "ORDER BY current DESC, d.id DESC LIMIT 1",
      {db::param(site_id), db::param(request.snapshot_id)});
  if (!existing) return existing.error();
  if (existing->empty()) return std::optional<Deployment>();
  auto d = load(c, existing->integer(0, 0));
  if (!d) return d.error();
  if (existing->boolean(0, 1)) d->cached = true;
  return std::optional<Deployment>(d.value());
}

// A new queued deployment and its job; what still waited for the site is superseded by it (only
// the newest content is worth building; a build already running finishes, then this one runs).
Result<int64_t> enqueue(db::Connection& c, const User& user, int64_t site_id, const NewDeployment& request) {
  auto inserted = c.exec(
      "INSERT INTO deployments (site_id, user_id, snapshot_id, state, file_count, bytes, request_key) "
      "VALUES ($1, $2, $3, 'queued', $4, $5, $6) RETURNING id",
      {db::param(site_id), db::param(user.id), db::param(request.snapshot_id), db::param(request.files),
       db::param(request.bytes), request.request_key ? db::param(*request.request_key) : db::null()});
  if (!inserted) return inserted.error();
  const int64_t id = inserted->integer(0, 0);
  auto superseded = c.exec(
      "WITH gone AS (DELETE FROM jobs WHERE site_id = $1 AND state = 'available' RETURNING deployment_id) "
      "UPDATE deployments SET state = 'superseded', superseded_by = $2, finished_at = clock_timestamp(), "
      "  last_position = NULL "
      "WHERE id IN (SELECT deployment_id FROM gone) RETURNING id",
      {db::param(site_id), db::param(id)});
  if (!superseded) return superseded.error();
  for (int i = 0; i < superseded->size(); ++i) {
    json e = state_event("superseded");
    e["supersededBy"] = id;
    if (auto s = append_events(c, superseded->integer(i, 0), {e}); !s) return s.error();
  }
  auto job = c.exec("INSERT INTO jobs (deployment_id, site_id, user_id, state) VALUES ($1, $2, $3, 'available')",
                    {db::param(id), db::param(site_id), db::param(user.id)});
  if (!job) return job.error();
  if (auto s = append_events(c, id, {state_event("queued")}); !s) return s.error();
  if (auto s = notify(c, kJobsChannel, std::to_string(id)); !s) return s.error();
  return id;
}

}  // namespace

Result<CreateOutcome> create_deployment(db::Connection& conn, const User& user, const NewDeployment& request,
                                        const Quotas& quotas) {
  CreateOutcome out;
  int64_t created_id = 0;
  auto done = db::transaction(conn, [&](db::Connection& c) -> Status {
    out = {};
    created_id = 0;
    auto site_id = lock_or_create_site(c, user, request.site, quotas);
    if (!site_id) return site_id.error();
    auto answer = existing_answer(c, user, site_id.value(), request);
    if (!answer) return answer.error();
    if (answer.value()) {
      out.deployment = *answer.value();
      return ok_status();
    }
    auto queued = c.exec("SELECT count(*) FROM deployments WHERE user_id = $1 AND state = 'queued' AND site_id <> $2",
                         {db::param(user.id), db::param(site_id.value())});
    if (!queued) return queued.error();
    if (queued->integer(0, 0) >= quotas.max_queued)
      return quota("quota.queued", "you have " + std::to_string(queued->integer(0, 0)) +
                                       " deployments waiting, this hub's limit per user; wait for some to finish");
    auto id = enqueue(c, user, site_id.value(), request);
    if (!id) return id.error();
    created_id = id.value();
    out.created = true;
    return ok_status();
  });
  if (!done) return done.error();
  if (out.created) {
    (void)refresh_positions(conn);  // positions are advice; a failure here loses nothing
    auto d = load(conn, created_id);
    if (!d) return d.error();
    out.deployment = d.value();
    if (const Deployment& now = d.value(); now.state != "queued")
      // A worker claimed it between its creation and this answer (it was next in line). The answer
      // to a creation is the deployment as created; its events tell what came after.
      out.deployment = Deployment{.id = now.id, .site = now.site, .user = now.user, .snapshot_id = now.snapshot_id,
                                  .state = "queued", .position = 1, .files = now.files, .bytes = now.bytes,
                                  .created_at = now.created_at};
  }
  return out;
}

Result<std::optional<Deployment>> get_deployment(db::Connection& conn, int64_t id, int64_t user_id) {
  auto rows = conn.exec(std::string("SELECT ") + kDeploymentColumns + kDeploymentFrom + "WHERE d.id = $1 AND d.user_id = $2",
                        {db::param(id), db::param(user_id)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Deployment>();
  return std::optional<Deployment>(row_to_deployment(rows.value(), 0));
}

Result<std::optional<Deployment>> cancel_deployment(db::Connection& conn, int64_t id, int64_t user_id) {
  bool was_queued = false;
  auto done = db::transaction(conn, [&](db::Connection& c) -> Status {
    was_queued = false;
    // The job row first (the order claim and finish lock in), then the deployment.
    auto removed = c.exec("DELETE FROM jobs WHERE deployment_id = $1 AND user_id = $2 AND state = 'available' "
                          "RETURNING deployment_id",
                          {db::param(id), db::param(user_id)});
    if (!removed) return removed.error();
    if (!removed->empty()) {
      was_queued = true;
      auto updated = c.exec(
          "UPDATE deployments SET state = 'canceled', finished_at = clock_timestamp(), last_position = NULL, "
          "  error = 'canceled before it was built', error_code = 'canceled' WHERE id = $1",
          {db::param(id)});
      if (!updated) return updated.error();
      json e = state_event("canceled");
      e["error"] = "canceled before it was built";
      return append_events(c, id, {e});
    }
    auto marked = c.exec(
        "UPDATE deployments SET cancel_requested = true WHERE id = $1 AND user_id = $2 "
        "AND state IN ('building', 'publishing') AND NOT cancel_requested RETURNING id",
        {db::param(id), db::param(user_id)});
    if (!marked) return marked.error();
    if (marked->empty()) return ok_status();
    if (auto s = append_events(c, id, {log_line("cancel requested")}); !s)
      return s;
    return notify(c, kCancelChannel, std::to_string(id));
  });
  if (!done) return done.error();
  if (was_queued) (void)refresh_positions(conn);
  return get_deployment(conn, id, user_id);
}

Result<std::vector<SiteSummary>> list_sites(db::Connection& conn, int64_t user_id, int keep) {
  auto rows = conn.exec(
      "SELECT s.name, d.snapshot_id, " STUDYHUB_SQL_TIME("s.published_at") ", d.id, "
      "  (SELECT coalesce(json_agg(r.snapshot_id ORDER BY r.id DESC), '[]') FROM "
      "     (SELECT id, snapshot_id FROM deployments WHERE site_id = s.id AND state = 'ready' ORDER BY id DESC LIMIT $2) r) "
      "FROM sites s JOIN deployments d ON d.id = s.current_deployment_id "
      "WHERE s.user_id = $1 ORDER BY s.name",
      {db::param(user_id), db::param(keep)});
  if (!rows) return rows.error();
  std::vector<SiteSummary> out;
  for (int i = 0; i < rows->size(); ++i) {
    SiteSummary site{rows->text(i, 0), rows->text(i, 1), rows->text(i, 2), rows->integer(i, 3), {}};
    json history = json::parse(rows->text(i, 4), nullptr, false);
    if (history.is_array())
      for (const auto& id : history)
        if (id.is_string() && std::find(site.history.begin(), site.history.end(), id.get<std::string>()) == site.history.end())
          site.history.push_back(id.get<std::string>());
    out.push_back(std::move(site));
  }
  return out;
}

Result<std::optional<SiteHistory>> site_history(db::Connection& conn, int64_t user_id, const std::string& name) {
  auto site = conn.exec("SELECT s.id, s.name, coalesce(d.snapshot_id, ''), " STUDYHUB_SQL_TIME("s.published_at") ", "
                        "coalesce(d.id, 0) FROM sites s LEFT JOIN deployments d ON d.id = s.current_deployment_id "
                        "WHERE s.user_id = $1 AND s.name = $2",
                        {db::param(user_id), db::param(name)});
  if (!site) return site.error();
  if (site->empty()) return std::optional<SiteHistory>();
  SiteHistory h;
  h.site = {site->text(0, 1), site->text(0, 2), site->text(0, 3), site->integer(0, 4), {}};
  auto rows = conn.exec(std::string("SELECT ") + kDeploymentColumns + kDeploymentFrom +
                            "WHERE d.site_id = $1 AND d.state = 'ready' ORDER BY d.id DESC LIMIT 20",
                        {db::param(site->integer(0, 0))});
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) h.ready.push_back(row_to_deployment(rows.value(), i));
  return std::optional<SiteHistory>(std::move(h));
}

Result<SiteSummary> rollback_site(db::Connection& conn, const User& user, const std::string& name,
                                  const std::optional<std::string>& snapshot_id,
                                  const std::function<bool(const std::string&)>& version_exists,
                                  const std::function<Status(const std::string&)>& repoint) {
  SiteSummary out;
  auto done = db::transaction(conn, [&](db::Connection& c) -> Status {
    auto site = c.exec(
        "SELECT s.id, s.current_deployment_id, coalesce(d.snapshot_id, '') FROM sites s "
        "LEFT JOIN deployments d ON d.id = s.current_deployment_id "
        "WHERE s.user_id = $1 AND s.name = $2 FOR UPDATE OF s",
        {db::param(user.id), db::param(name)});
    if (!site) return site.error();
    if (site->empty()) return Error{"you have no site named " + name, false, "not_found"};
    int64_t site_id = site->integer(0, 0), current = site->integer(0, 1);
    std::string current_snapshot = site->text(0, 2);
    auto ready = c.exec("SELECT id, snapshot_id FROM deployments WHERE site_id = $1 AND state = 'ready' ORDER BY id DESC",
                        {db::param(site_id)});
    if (!ready) return ready.error();
    std::optional<std::pair<int64_t, std::string>> pick;
    for (int i = 0; i < ready->size() && !pick; ++i) {
      int64_t id = ready->integer(i, 0);
      std::string snap = ready->text(i, 1);
      bool wanted = snapshot_id ? (snapshot_id->size() >= 7 && snap.starts_with(*snapshot_id))
                                : (id < current && snap != current_snapshot);
      if (wanted && version_exists(snap)) pick = {id, snap};
    }
    if (!pick)
      return Error{snapshot_id ? "the site " + name + " has no kept version " + *snapshot_id + " to go back to"
                               : "the site " + name + " has no earlier version to go back to",
                   false, "not_found"};
    if (auto moved = repoint(pick->second); !moved) return moved;
    auto updated = c.exec(
        "UPDATE sites SET current_deployment_id = $2, pointed_seq = nextval('pointing_seq'), "
        "published_at = clock_timestamp() WHERE id = $1 RETURNING " STUDYHUB_SQL_TIME("published_at"),
        {db::param(site_id), db::param(pick->first)});
    if (!updated) return updated.error();
    out = {name, pick->second, updated->text(0, 0), pick->first, {}};
    return ok_status();
  });
  if (!done) return done.error();
  return out;
}

Result<bool> delete_site(db::Connection& conn, const User& user, const std::string& name,
                         const std::function<Status(const std::vector<std::string>& versions)>& take_down) {
  bool found = false;
  auto done = db::transaction(conn, [&](db::Connection& c) -> Status {
    found = false;
    auto site = lock_site(c, user.id, name);
    if (!site) return site.error();
    if (!site.value()) return ok_status();
    found = true;
    // Running builds are told to stop; the rows (theirs included) go with the site.
    auto running = c.exec(
        "SELECT pg_notify($2, id::text) FROM deployments WHERE site_id = $1 AND state IN ('building', 'publishing')",
        {db::param(*site.value()), db::param(kCancelChannel)});
    if (!running) return running.error();
    // The site's versions that no other site of this user shows or keeps.
    auto only_here = c.exec(
        "SELECT DISTINCT snapshot_id FROM deployments WHERE site_id = $1 "
        "EXCEPT SELECT snapshot_id FROM deployments WHERE user_id = $2 AND site_id <> $1",
        {db::param(*site.value()), db::param(user.id)});
    if (!only_here) return only_here.error();
    std::vector<std::string> versions;
    for (int i = 0; i < only_here->size(); ++i) versions.push_back(only_here->text(i, 0));
    if (auto removed = take_down(versions); !removed) return removed;
    auto deleted = c.exec("DELETE FROM sites WHERE id = $1", {db::param(*site.value())});
    if (!deleted) return deleted.error();
    return ok_status();
  });
  if (!done) return done.error();
  if (found) (void)refresh_positions(conn);
  return found;
}

Result<bool> was_built_for(db::Connection& conn, int64_t user_id, const std::string& snapshot_id) {
  auto rows = conn.exec("SELECT 1 FROM deployments WHERE user_id = $1 AND snapshot_id = $2 AND state = 'ready' LIMIT 1",
                        {db::param(user_id), db::param(snapshot_id)});
  if (!rows) return rows.error();
  return !rows->empty();
}

Result<std::vector<std::tuple<std::string, std::string, std::string>>> all_current_sites(db::Connection& conn) {
  auto rows = conn.exec(
      "SELECT u.name, s.name, d.snapshot_id FROM sites s JOIN users u ON u.id = s.user_id "
      "JOIN deployments d ON d.id = s.current_deployment_id");
  if (!rows) return rows.error();
  std::vector<std::tuple<std::string, std::string, std::string>> out;
  for (int i = 0; i < rows->size(); ++i) out.emplace_back(rows->text(i, 0), rows->text(i, 1), rows->text(i, 2));
  return out;
}

Result<std::vector<std::string>> referenced_snapshots(db::Connection& conn, int keep) {
  auto rows = conn.exec(
      "SELECT DISTINCT u.name || '.' || x.snapshot_id FROM ("
      "  SELECT d.user_id, d.snapshot_id FROM sites s JOIN deployments d ON d.id = s.current_deployment_id"
      "  UNION ALL"
      "  SELECT user_id, snapshot_id FROM (SELECT user_id, snapshot_id,"
      "                                           row_number() OVER (PARTITION BY site_id ORDER BY id DESC) AS n"
      "                                    FROM deployments WHERE state = 'ready') r WHERE n <= $1"
      "  UNION ALL"
      "  SELECT user_id, snapshot_id FROM deployments WHERE state IN ('queued', 'building', 'publishing')"
      ") x JOIN users u ON u.id = x.user_id",
      {db::param(keep)});
  if (!rows) return rows.error();
  std::vector<std::string> out;
  for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
  return out;
}

Status refresh_positions(db::Connection& conn) {
  // Round-robin across users, the order the claim serves them in: every user's first waiting
  // deployment (least recently served user first), then every user's second, and so on. One
  // refresh at a time (an advisory lock), so two never deadlock over the same rows.
  return db::transaction(conn, [](db::Connection& c) -> Status {
    auto locked = c.exec("SELECT pg_advisory_xact_lock(7562033441)");
    if (!locked) return locked.error();
    auto done = c.exec(
        "WITH waiting AS ("
        "  SELECT j.deployment_id, u.last_build_at, j.enqueued_at,"
        "         row_number() OVER (PARTITION BY j.user_id ORDER BY j.enqueued_at, j.deployment_id) AS turn"
        "  FROM jobs j JOIN users u ON u.id = j.user_id WHERE j.state = 'available'),"
        " ranked AS ("
        "  SELECT deployment_id, row_number() OVER (ORDER BY turn, last_build_at NULLS FIRST, enqueued_at,"
        "                                                    deployment_id) AS position FROM waiting),"
        " changed AS ("
        "  UPDATE deployments d SET last_seq = d.last_seq + 1, last_position = r.position FROM ranked r"
        "  WHERE d.id = r.deployment_id AND d.state = 'queued' AND d.last_position IS DISTINCT FROM r.position"
        "  RETURNING d.id, d.last_seq, r.position),"
        " inserted AS ("
        "  INSERT INTO events (deployment_id, seq, type, data)"
        "  SELECT id, last_seq, 'state', jsonb_build_object('state', 'queued', 'position', position) FROM changed"
        "  RETURNING deployment_id)"
        "SELECT pg_notify($1, deployment_id::text) FROM inserted",
        {db::param(kEventsChannel)});
    if (!done) return done.error();
    return ok_status();
  });
}

}  // namespace studyhub::hub
