#include "hub/schema.h"

#include <array>
#include <string_view>

namespace studyhub::hub {

namespace {

// Never edit a migration that has shipped; add the next one.
constexpr std::array<std::string_view, 2> kMigrations = {
    // 1: users and their tokens, sites, deployments and their events, the job queue.
    R"sql(
CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- When a build of this user last started: the claim order serves the least recently served
  -- user first, so one user's many publishes never starve another's first.
  last_build_at timestamptz
);

CREATE TABLE tokens (
  id         bigserial PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  digest     bytea NOT NULL UNIQUE,  -- sha256 of the token; the token itself is never stored
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sites (
  id                    bigserial PRIMARY KEY,
  user_id               bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  name                  text NOT NULL,
  current_deployment_id bigint,
  -- Order of what the site showed: a build may point the site only when its deployment is newer
  -- than what points it now (a rollback counts as newer than everything before it).
  pointed_seq           bigint NOT NULL DEFAULT 0,
  published_at          timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, name)
);

CREATE SEQUENCE pointing_seq;

CREATE TABLE deployments (
  id               bigserial PRIMARY KEY,
  site_id          bigint NOT NULL REFERENCES sites ON DELETE CASCADE,
  user_id          bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  snapshot_id      text NOT NULL,
  state            text NOT NULL CHECK (state IN ('queued', 'building', 'publishing', 'ready', 'failed',
                                                  'canceled', 'superseded')),
  file_count       integer NOT NULL DEFAULT 0,
  bytes            bigint NOT NULL DEFAULT 0,
  request_key      text,
  seq              bigint NOT NULL DEFAULT nextval('pointing_seq'),
  cached           boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  started_at       timestamptz,
  finished_at      timestamptz,
  error            text,
  error_code       text,
  diagnostics      jsonb,
  superseded_by    bigint REFERENCES deployments ON DELETE SET NULL,
  cancel_requested boolean NOT NULL DEFAULT false,
  attempts         integer NOT NULL DEFAULT 0,
  worker           text,
  last_seq         bigint NOT NULL DEFAULT 0,  -- the newest event's seq
  last_position    integer                     -- the queue position last reported as an event
);
CREATE UNIQUE INDEX deployments_request_key ON deployments (user_id, request_key) WHERE request_key IS NOT NULL;
CREATE INDEX deployments_site ON deployments (site_id, id DESC);
CREATE INDEX deployments_live ON deployments (state) WHERE state IN ('queued', 'building', 'publishing');
ALTER TABLE sites ADD FOREIGN KEY (current_deployment_id) REFERENCES deployments ON DELETE SET NULL;

CREATE TABLE events (
  deployment_id bigint NOT NULL REFERENCES deployments ON DELETE CASCADE,
  seq           bigint NOT NULL,
  at            timestamptz NOT NULL DEFAULT clock_timestamp(),
  type          text NOT NULL,
  data          jsonb NOT NULL,
  PRIMARY KEY (deployment_id, seq)
);

-- The queue: one row per deployment waiting or building; gone when it finishes.
CREATE TABLE jobs (
  deployment_id bigint PRIMARY KEY REFERENCES deployments ON DELETE CASCADE,
  site_id       bigint NOT NULL,
  user_id       bigint NOT NULL,
  state         text NOT NULL CHECK (state IN ('available', 'running')),
  attempt       integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL DEFAULT 3,
  worker        text,
  lease_until   timestamptz,
  enqueued_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Never two builds of one site at once, whatever two workers race to claim.
CREATE UNIQUE INDEX jobs_one_running_per_site ON jobs (site_id) WHERE state = 'running';
CREATE INDEX jobs_available ON jobs (enqueued_at) WHERE state = 'available';
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';
)sql",
    // 2: tenants apart. Blobs belong to the users who uploaded them (the store keeps one copy);
    // blobs uploaded before this migration have no owner, and a client's next deployment is told
    // they are missing and sends them again.
    R"sql(
CREATE TABLE blob_owners (
  user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  oid        text NOT NULL,
  size       bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, oid)
);
CREATE INDEX blob_owners_oid ON blob_owners (oid);
CREATE INDEX deployments_user_snapshot ON deployments (user_id, snapshot_id);
)sql",
};

constexpr int64_t kMigrationLock = 0x5354554459485542;  // "STUDYHUB"

}  // namespace

int latest_schema_version() { return static_cast<int>(kMigrations.size()); }

Result<MigrationReport> migrate(db::Connection& conn) {
  // Session-level: held across the migrations' own transactions, released below (or by the
  // server when this connection dies).
  auto locked = conn.exec("SELECT pg_advisory_lock($1)", {db::param(kMigrationLock)});
  if (!locked) return locked.error();
  auto unlock = [&] { (void)conn.exec("SELECT pg_advisory_unlock($1)", {db::param(kMigrationLock)}); };

  auto created = conn.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
      "applied_at timestamptz NOT NULL DEFAULT now())");
  if (!created) {
    unlock();
    return created.error();
  }
  auto current = conn.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!current) {
    unlock();
    return current.error();
  }
  MigrationReport report;
  report.from = static_cast<int>(current->integer(0, 0));
  report.to = report.from;
  if (report.from > latest_schema_version()) {
    unlock();
    return Error{"the database holds schema version " + std::to_string(report.from) + ", newer than this hub knows (" +
                 std::to_string(latest_schema_version()) + "); run the newer studyhub-sandbox"};
  }
  for (int version = report.from + 1; version <= latest_schema_version(); ++version) {
    auto applied = db::transaction(conn, [&](db::Connection& c) -> Status {
      auto ran = c.exec_script(kMigrations[static_cast<size_t>(version - 1)]);
      if (!ran) return Error{"schema migration " + std::to_string(version) + " failed: " + ran.error().message, false,
                             ran.error().code};
      auto recorded = c.exec("INSERT INTO schema_migrations (version) VALUES ($1)", {db::param(version)});
      if (!recorded) return recorded.error();
      return ok_status();
    });
    if (!applied) {
      unlock();
      return applied.error();
    }
    report.to = version;
  }
  unlock();
  return report;
}

}  // namespace studyhub::hub
