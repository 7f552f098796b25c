#include "hub/queue.h"

#include "hub/events.h"

namespace studyhub::hub {

using nlohmann::json;

namespace {

json state_event(const std::string& state) { return json{{"type", "state"}, {"state", state}}; }

}  // namespace

Result<std::optional<ClaimedJob>> claim_job(db::Connection& conn, const std::string& worker, const LeaseOptions& options) {
  std::optional<ClaimedJob> claimed;
  auto done = db::transaction(conn, [&](db::Connection& c) -> Status {
    claimed.reset();
    auto rows = c.exec(
        "WITH next AS ("
        "  SELECT j.deployment_id FROM jobs j JOIN users u ON u.id = j.user_id"
        "  WHERE j.state = 'available'"
        "    AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.site_id = j.site_id AND r.state = 'running')"
        "  ORDER BY (SELECT count(*) FROM jobs r WHERE r.user_id = j.user_id AND r.state = 'running'),"
        "           u.last_build_at NULLS FIRST, j.enqueued_at, j.deployment_id"
        "  LIMIT 1 FOR UPDATE OF j SKIP LOCKED)"
        "UPDATE jobs SET state = 'running', attempt = attempt + 1, worker = $1,"
        "  lease_until = clock_timestamp() + make_interval(secs => $2)"
        "FROM next WHERE jobs.deployment_id = next.deployment_id "
        "RETURNING jobs.deployment_id, jobs.site_id, jobs.user_id, jobs.attempt",
        {db::param(worker), db::param(static_cast<int64_t>(options.lease.count()))});
    if (!rows) return rows.error();
    if (rows->empty()) return ok_status();
    ClaimedJob job;
    job.deployment_id = rows->integer(0, 0);
    job.site_id = rows->integer(0, 1);
    job.user_id = rows->integer(0, 2);
    job.attempt = static_cast<int>(rows->integer(0, 3));
    job.worker = worker;
    auto d = c.exec(
        "UPDATE deployments d SET state = 'building', started_at = clock_timestamp(), attempts = $2, worker = $3, "
        "  last_position = NULL FROM sites s, users u "
        "WHERE d.id = $1 AND s.id = d.site_id AND u.id = d.user_id RETURNING u.name, s.name, d.snapshot_id",
        {db::param(job.deployment_id), db::param(job.attempt), db::param(worker)});
    if (!d) return d.error();
    if (d->empty()) return Error{"internal: a job without its deployment"};
    job.user = d->text(0, 0);
    job.site = d->text(0, 1);
    job.snapshot_id = d->text(0, 2);
    auto served = c.exec("UPDATE users SET last_build_at = clock_timestamp() WHERE id = $1", {db::param(job.user_id)});
    if (!served) return served.error();
    json e = state_event("building");
    e["attempt"] = job.attempt;
    e["worker"] = worker;
    if (auto s = append_events(c, job.deployment_id, {e}); !s) return s;
    claimed = job;
    return ok_status();
  });
  if (!done) {
    // Two workers raced for jobs of one site: the unique index turned the second away. Nothing
    // was claimed; the caller tries again.
    if (db::sql_state(done.error()) == "23505") return std::optional<ClaimedJob>();
    return done.error();
  }
  if (claimed) (void)refresh_positions(conn);
  return claimed;
}

Result<Heartbeat> renew_lease(db::Connection& conn, const ClaimedJob& job, const LeaseOptions& options) {
  auto rows = conn.exec(
      "UPDATE jobs j SET lease_until = clock_timestamp() + make_interval(secs => $4) FROM deployments d "
      "WHERE j.deployment_id = $1 AND j.worker = $2 AND j.attempt = $3 AND j.state = 'running' AND d.id = j.deployment_id "
      "RETURNING d.cancel_requested",
      {db::param(job.deployment_id), db::param(job.worker), db::param(job.attempt),
       db::param(static_cast<int64_t>(options.lease.count()))});
  if (!rows) return rows.error();
  if (rows->empty()) return Heartbeat{false, false};
  return Heartbeat{true, rows->boolean(0, 0)};
}

Status mark_state(db::Connection& conn, const ClaimedJob& job, const std::string& state) {
  return db::transaction(conn, [&](db::Connection& c) -> Status {
    auto updated = c.exec("UPDATE deployments SET state = $2 WHERE id = $1", {db::param(job.deployment_id), db::param(state)});
    if (!updated) return updated.error();
    return append_events(c, job.deployment_id, {state_event(state)});
  });
}

Result<bool> finish_job(db::Connection& conn, const ClaimedJob& job, const JobOutcome& outcome,
                        const std::function<Status(const std::string&)>& point, const Urls& urls) {
  bool ours = false;
  auto done = db::transaction(conn, [&](db::Connection& c) -> Status {
    ours = false;
    auto removed = c.exec("DELETE FROM jobs WHERE deployment_id = $1 AND worker = $2 AND attempt = $3 RETURNING 1",
                          {db::param(job.deployment_id), db::param(job.worker), db::param(job.attempt)});
    if (!removed) return removed.error();
    if (removed->empty()) return ok_status();  // not ours any more: another worker has it, or the site is gone
    ours = true;
    using Kind = JobOutcome::Kind;
    const char* state = outcome.kind == Kind::ready ? "ready" : outcome.kind == Kind::failed ? "failed" : "canceled";
    auto updated = c.exec(
        "UPDATE deployments SET state = $2, finished_at = clock_timestamp(), error = $3, error_code = $4, "
        "  diagnostics = $5::jsonb, cached = $6 WHERE id = $1 RETURNING seq, site_id",
        {db::param(job.deployment_id), db::param(state), outcome.error.empty() ? db::null() : db::param(outcome.error),
         outcome.error_code.empty() ? db::null() : db::param(outcome.error_code),
         outcome.diagnostics.is_array() ? db::param(outcome.diagnostics.dump()) : db::null(), db::param(outcome.reused)});
    if (!updated) return updated.error();
    json e = state_event(state);
    if (outcome.kind != Kind::ready) {
      e["error"] = outcome.error;
      if (!outcome.error_code.empty()) e["errorCode"] = outcome.error_code;
      return append_events(c, job.deployment_id, {e});
    }
    // Ready: the site shows it unless something newer points the site already (a later
    // deployment that finished first, or a rollback made after this deployment was created).
    auto site = c.exec("SELECT pointed_seq, coalesce(current_deployment_id, 0) FROM sites WHERE id = $1 FOR UPDATE",
                       {db::param(job.site_id)});
    if (!site) return site.error();
    int64_t seq = updated->integer(0, 0);
    std::vector<json> events;
    if (!site->empty() && site->integer(0, 0) < seq) {
      if (auto moved = point(job.snapshot_id); !moved) return moved;
      auto pointed = c.exec(
          "UPDATE sites SET current_deployment_id = $2, pointed_seq = $3, published_at = clock_timestamp() WHERE id = $1",
          {db::param(job.site_id), db::param(job.deployment_id), db::param(seq)});
      if (!pointed) return pointed.error();
    } else {
      events.push_back(log_line("the site shows a newer version already (published or rolled back to after "
                                "this deployment began); it stays",
                                pipeline::Stage::publish));
    }
    e["url"] = urls.site(job.user, job.site);
    e["immutableUrl"] = urls.version(job.user, job.snapshot_id);
    if (outcome.reused) e["cached"] = true;
    events.push_back(e);
    return append_events(c, job.deployment_id, events);
  });
  if (!done) return done.error();
  return ours;
}

Status hand_back_job(db::Connection& conn, const ClaimedJob& job, const std::string& why) {
  auto done = db::transaction(conn, [&](db::Connection& c) -> Status {
    auto back = c.exec(
        "UPDATE jobs SET state = 'available', worker = NULL, lease_until = NULL, attempt = attempt - 1 "
        "WHERE deployment_id = $1 AND worker = $2 AND attempt = $3 RETURNING 1",
        {db::param(job.deployment_id), db::param(job.worker), db::param(job.attempt)});
    if (!back) return back.error();
    if (back->empty()) return ok_status();
    auto updated = c.exec("UPDATE deployments SET state = 'queued', started_at = NULL WHERE id = $1",
                          {db::param(job.deployment_id)});
    if (!updated) return updated.error();
    auto woke = c.exec("SELECT pg_notify($1, $2)", {db::param(kJobsChannel), db::param(std::to_string(job.deployment_id))});
    if (!woke) return woke.error();
    return append_events(c, job.deployment_id,
                         {log_line(why), state_event("queued")});
  });
  if (!done) return done;
  return refresh_positions(conn);
}

Result<int> rescue_expired_jobs(db::Connection& conn) {
  int moved = 0;
  auto done = db::transaction(conn, [&](db::Connection& c) -> Status {
    moved = 0;
    auto lapsed = c.exec(
        "SELECT j.deployment_id, j.attempt, j.max_attempts, coalesce(j.worker, ''), d.cancel_requested "
        "FROM jobs j JOIN deployments d ON d.id = j.deployment_id "
        "WHERE j.state = 'running' AND j.lease_until < clock_timestamp() FOR UPDATE OF j SKIP LOCKED");
    if (!lapsed) return lapsed.error();
    for (int i = 0; i < lapsed->size(); ++i) {
      int64_t id = lapsed->integer(i, 0);
      int64_t attempt = lapsed->integer(i, 1), max = lapsed->integer(i, 2);
      std::string worker = lapsed->text(i, 3);
      bool cancel = lapsed->boolean(i, 4);
      std::string why = "the worker " + worker + " building it stopped responding";
      if (cancel || attempt >= max) {
        auto removed = c.exec("DELETE FROM jobs WHERE deployment_id = $1", {db::param(id)});
        if (!removed) return removed.error();
        std::string state = cancel ? "canceled" : "failed";
        std::string error = cancel ? "canceled while it was building" :
                                     "the build was started " + std::to_string(attempt) + " times and each time " +
                                         "its worker stopped responding (last: " + worker + "); giving up";
        auto updated = c.exec(
            "UPDATE deployments SET state = $2, finished_at = clock_timestamp(), error = $3, error_code = $4 "
            "WHERE id = $1",
            {db::param(id), db::param(state), db::param(error), db::param(cancel ? "canceled" : "worker.lost")});
        if (!updated) return updated.error();
        json e = state_event(state);
        e["error"] = error;
        if (auto s = append_events(c, id, {e}); !s) return s;
      } else {
        auto back = c.exec("UPDATE jobs SET state = 'available', worker = NULL, lease_until = NULL WHERE deployment_id = $1",
                           {db::param(id)});
        if (!back) return back.error();
        auto updated = c.exec("UPDATE deployments SET state = 'queued' WHERE id = $1", {db::param(id)});
        if (!updated) return updated.error();
        std::string note = why + "; the build goes back to the queue (attempt " + std::to_string(attempt + 1) + " of " +
                           std::to_string(max) + " next)";
        if (auto s = append_events(c, id, {log_line(note), state_event("queued")}); !s)
          return s;
        auto woke = c.exec("SELECT pg_notify($1, $2)", {db::param(kJobsChannel), db::param(std::to_string(id))});
        if (!woke) return woke.error();
      }
      ++moved;
    }
    return ok_status();
  });
  if (!done) return done.error();
  if (moved > 0) (void)refresh_positions(conn);
  return moved;
}

}  // namespace studyhub::hub
