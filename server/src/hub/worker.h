// A build worker: claims the next job, builds it with the same pipeline a local publish uses
// (presets, payload, runner, extraction, diagnostics), records every stage, percentage, log line and
// diagnostic as a deployment event, commits the version and points the site. While it builds, a
// heartbeat renews the lease and watches for a cancel; a lost lease stops the build and drops its
// result (another worker has the job).
#pragma once

#include <atomic>
#include <stop_token>
#include <string>

#include "hub/hub.h"

namespace studyhub::hub {

class Worker {
 public:
  Worker(HubRuntime& hub, std::string id);

  // Claims and builds until `stop`; then finishes the running build within `grace`, or stops it
  // and hands the job back to the queue.
  void run(std::stop_token stop);

  const std::string& id() const { return id_; }
  bool busy() const { return busy_; }

 private:
  void build(const ClaimedJob& job, std::stop_token shutdown);
  // Records the outcome, retrying while the database is away for up to a lease.
  void record(const ClaimedJob& job, const JobOutcome& outcome, const std::string& tag);
  HubRuntime& hub_;
  std::string id_;
  std::atomic<bool> busy_{false};
};

// Stops builds whose worker process died on this machine (their pid files are left behind).
void stop_orphaned_worker_builds(const HubRuntime& hub);

}  // namespace studyhub::hub
