// The build queue in PostgreSQL, as the mature engines do it (River, Oban, graphile-worker): a
// worker claims the next job with FOR UPDATE SKIP LOCKED and holds a short lease it renews with a
// heartbeat. A worker that dies (kill -9, machine gone, network cut) stops renewing; once its lease
// lapses the job is available again, a few attempts, then failed with the reason.
//
// The claim order is fair across users: the user with the fewest builds running goes first, then
// the one served least recently, then the oldest job. So one user's fifty publishes never keep
// another user's first publish waiting behind more than one build per busy user. Never two builds
// of one site at once: a job whose site is building waits, and a unique index stops any race.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "hub/db.h"
#include "hub/deployments.h"

namespace studyhub::hub {

struct ClaimedJob {
  int64_t deployment_id = 0, site_id = 0, user_id = 0;
  int attempt = 0;
  std::string user, site, snapshot_id;
  std::string worker;
};

struct LeaseOptions {
  std::chrono::seconds lease{30};
  int max_attempts = 3;
};

// The next job for `worker`, or nullopt when none can start now.
Result<std::optional<ClaimedJob>> claim_job(db::Connection& conn, const std::string& worker, const LeaseOptions& options);

struct Heartbeat {
  bool ours = false;              // false: the lease was lost (lapsed and taken, or the site removed)
  bool cancel_requested = false;
};
Result<Heartbeat> renew_lease(db::Connection& conn, const ClaimedJob& job, const LeaseOptions& options);

// Records a state change of a running job (publishing) with an event.
Status mark_state(db::Connection& conn, const ClaimedJob& job, const std::string& state);

struct JobOutcome {
  enum class Kind { ready, failed, canceled } kind = Kind::failed;
  std::string error, error_code;
  nlohmann::json diagnostics;  // null or a list
  bool reused = false;         // ready without a build: the version existed already
};

// Ends the job: the deployment becomes ready (and, when it is newer than what the site shows, the
// site points at it: `point(snapshot)` swaps the link while the site's row is locked), failed or
// canceled. Answers false when the job was no longer this worker's (its result is dropped).
Result<bool> finish_job(db::Connection& conn, const ClaimedJob& job, const JobOutcome& outcome,
                        const std::function<Status(const std::string& snapshot)>& point, const Urls& urls);

// Gives a running job back to the queue without counting the attempt (a worker shutting down).
Status hand_back_job(db::Connection& conn, const ClaimedJob& job, const std::string& why);

// Jobs whose lease lapsed: back to the queue, or failed after max_attempts, or canceled when a
// cancel was asked for. Answers how many it moved.
Result<int> rescue_expired_jobs(db::Connection& conn);

}  // namespace studyhub::hub
