#include "hub/worker.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "core/wait.h"
#include "hub/build_caches.h"
#include "hub/events.h"
#include "pipeline/build.h"
#include "runner/process.h"
#include "settings/workspace_settings.h"

namespace studyhub::hub {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr size_t kMaxLogLines = 20'000;  // per deployment; a runaway build's log is cut, not stored whole

// Buffers a build's events and writes them in small batches (one statement each), a few
// milliseconds after the first of a batch arrives: a follower sees a line within tens of
// milliseconds, and a chatty npm install costs a handful of statements, not thousands. A database
// that is briefly away delays the events; they are written when it returns.
class EventWriter {
 public:
  EventWriter(db::Pool& pool, int64_t deployment_id) : pool_(pool), id_(deployment_id) {
    thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
  }
  ~EventWriter() {
    flush();
    thread_.request_stop();
    wake_.notify_all();
  }

  void add(const pipeline::Event& event) {
    std::lock_guard lock(mutex_);
    if (event.kind == pipeline::Event::Kind::log && ++log_lines_ > kMaxLogLines) {
      if (log_lines_ == kMaxLogLines + 1)
        pending_.push_back(log_line("… the log is longer than " + std::to_string(kMaxLogLines) + " lines; the rest is not kept"));
      return;
    }
    pending_.push_back(event_line(event));
    wake_.notify_all();
  }

  // Returns once everything added so far is written (or the database stayed away for 10 s).
  void flush() {
    std::unique_lock lock(mutex_);
    uint64_t target = added_total() ;
    flushed_.wait_for(lock, 10s, [&] { return written_ >= target; });
  }

 private:
  uint64_t added_total() const { return written_ + in_flight_ + pending_.size(); }

  void loop(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, stop, [&] { return !pending_.empty(); });
      if (pending_.empty()) {
        if (stop.stop_requested()) return;
        continue;
      }
      // Let a burst gather for a moment.
      wake_.wait_for(lock, stop, 8ms, [&] { return pending_.size() >= 200; });
      std::vector<json> batch;
      while (!pending_.empty() && batch.size() < 500) {
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
      in_flight_ = batch.size();
      lock.unlock();
      Status written = write(batch);
      lock.lock();
      in_flight_ = 0;
      if (written) {
        written_ += batch.size();
        flushed_.notify_all();
      } else {
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) pending_.push_front(std::move(*it));
        if (stop.stop_requested()) return;
        wake_.wait_for(lock, stop, 500ms, [] { return false; });
      }
    }
  }

  Status write(const std::vector<json>& batch) {
    auto conn = pool_.acquire(2s);
    if (!conn) return conn.error();
    return append_events(*conn.value(), id_, batch);
  }

  db::Pool& pool_;
  int64_t id_;
  std::mutex mutex_;
  std::condition_variable_any wake_, flushed_;
  std::deque<json> pending_;
  uint64_t written_ = 0, in_flight_ = 0;
  size_t log_lines_ = 0;
  std::jthread thread_;
};

// The sandbox's own .studyhub-sandbox.json, when it has one (preset, outputDir, build time).
Result<settings::WorkspaceSettings> sandbox_settings(const BlobStore& blobs, const snapshot::Snapshot& snap) {
  for (const auto& f : snap.files) {
    if (f.path != settings::kSettingsFileName) continue;
    auto text = blobs.read(f.blob);
    if (!text) return text.error();
    return settings::parse_workspace_settings(text.value());
  }
  return settings::WorkspaceSettings{};
}

std::string pid_dir(const HubRuntime& hub) { return (hub.options.work_dir / ".pids").string(); }

}  // namespace

void stop_orphaned_worker_builds(const HubRuntime& hub) {
  // <machine>-<pid>-<n>.pid: a build whose hub process is gone is an orphan.
  std::error_code ec;
  for (auto& e : fs::directory_iterator(pid_dir(hub), ec)) {
    std::string name = e.path().stem().string();
    if (!name.starts_with(hub.machine + "-")) continue;  // another machine's, on a shared work folder
    std::string rest = name.substr(hub.machine.size() + 1);
    int pid = std::atoi(rest.c_str());
    if (pid > 0 && (pid == ::getpid() || ::kill(pid, 0) == 0)) continue;
    runner::stop_orphaned_build(e.path());
  }
}

Worker::Worker(HubRuntime& hub, std::string id) : hub_(hub), id_(std::move(id)) {}

void Worker::run(std::stop_token stop) {
  auto last_rescue = std::chrono::steady_clock::now() - 1h;
  std::chrono::milliseconds backoff = 200ms;
  while (!stop.stop_requested()) {
    uint64_t seen = hub_.notifier.count(kJobsChannel);
    std::optional<ClaimedJob> job;
    {
      auto conn = hub_.pool.acquire(5s);
      Result<std::optional<ClaimedJob>> claimed = conn ? Result<std::optional<ClaimedJob>>(std::nullopt) : conn.error();
      if (conn) {
        if (std::chrono::steady_clock::now() - last_rescue > hub_.options.lease.lease / 3) {
          last_rescue = std::chrono::steady_clock::now();
          if (auto moved = rescue_expired_jobs(*conn.value()); moved && moved.value() > 0)
            log::info("hub worker " + id_ + ": " + std::to_string(moved.value()) + " jobs of unresponsive workers rescued");
        }
        claimed = claim_job(*conn.value(), id_, hub_.options.lease);
      }
      if (!claimed) {
        log::warn("hub worker " + id_ + ": cannot claim a job: " + claimed.error().message + "; trying again");
        hub_.notifier.wait(kJobsChannel, "", seen, backoff, stop);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      backoff = 200ms;
      job = claimed.value();
    }  // no connection is held while building or waiting
    if (!job) {
      // Idle: a NOTIFY wakes us at once; the timeout is the fallback (and runs the rescue).
      hub_.notifier.wait(kJobsChannel, "", seen, std::chrono::milliseconds(hub_.options.lease.lease / 3), stop);
      continue;
    }
    busy_ = true;
    build(*job, stop);
    busy_ = false;
  }
}

namespace {

// What the lease keeper and the shutdown watch tell a build (stop), and what they found out.
struct BuildControl {
  std::stop_source stop;
  std::atomic<bool> lost{false}, canceled{false}, handing_back{false};
};

// Renews the lease while the build runs, and stops the build on a cancel or a lost lease. A cancel
// NOTIFY wakes it at once; otherwise it beats three times per lease.
std::jthread keep_lease(HubRuntime& hub, const ClaimedJob& job, const std::string& tag, BuildControl& control) {
  return std::jthread([&hub, &job, tag, &control](std::stop_token done) {
    const std::string id = std::to_string(job.deployment_id);
    auto last_ok = std::chrono::steady_clock::now();
    uint64_t seen = hub.notifier.count(kCancelChannel, id);
    while (!done.stop_requested()) {
      seen = hub.notifier.wait(kCancelChannel, id, seen, std::chrono::milliseconds(hub.options.lease.lease / 3), done);
      if (done.stop_requested()) return;
      auto conn = hub.pool.acquire(2s);
      auto beat = conn ? renew_lease(*conn.value(), job, hub.options.lease) : Result<Heartbeat>(conn.error());
      if (!beat) {
        if (std::chrono::steady_clock::now() - last_ok <= hub.options.lease.lease) continue;
        log::warn(tag + ": the database has been unreachable for a whole lease; another worker may take the job, "
                        "so this build stops");
        control.lost = true;
        control.stop.request_stop();
        return;
      }
      last_ok = std::chrono::steady_clock::now();
      if (!beat->ours) {
        log::warn(tag + ": the job is no longer this worker's (its lease lapsed, or the site was removed); stopping");
        control.lost = true;
        control.stop.request_stop();
        return;
      }
      if (beat->cancel_requested && !control.canceled) {
        control.canceled = true;
        control.stop.request_stop();
      }
    }
  });
}

// SIGTERM: the build may finish within the grace period; then it stops and goes back to the queue.
std::jthread watch_shutdown(HubRuntime& hub, EventWriter& events, std::stop_token shutdown, BuildControl& control) {
  return std::jthread([&hub, &events, shutdown, &control](std::stop_token done) {
    std::stop_source either;  // the build done, or the worker shutting down
    std::stop_callback on_done(done, [&] { either.request_stop(); });
    std::stop_callback on_shutdown(shutdown, [&] { either.request_stop(); });
    wait_until_stopped(either.get_token());
    if (done.stop_requested()) return;
    events.add(pipeline::log_event(pipeline::Stage::build, "the worker is shutting down; the build may finish within " +
                                                               std::to_string(hub.options.shutdown_grace.count()) + " s"));
    if (!wait_for(done, hub.options.shutdown_grace)) return;
    control.handing_back = true;
    control.stop.request_stop();
  });
}

JobOutcome failed_outcome(const Error& e, const std::vector<pipeline::Diagnostic>& diagnostics = {}) {
  JobOutcome outcome;
  outcome.kind = e.cancelled ? JobOutcome::Kind::canceled : JobOutcome::Kind::failed;
  outcome.error = e.message;
  outcome.error_code = e.code.empty() ? "build.failed" : e.code;
  if (!diagnostics.empty()) {
    outcome.diagnostics = json::array();
    for (const auto& d : diagnostics) outcome.diagnostics.push_back(pipeline::to_json(d));
  }
  return outcome;
}

// Builds the snapshot in a staging folder (in the sandbox, node_modules kept per user and site)
// and commits it as the user's version.
JobOutcome build_version(HubRuntime& hub, const std::string& worker_id, const ClaimedJob& job,
                         const snapshot::Snapshot& snap, const settings::WorkspaceSettings& settings,
                         EventWriter& events, std::stop_token stop) {
  stop_orphaned_worker_builds(hub);  // a dead worker's build on this machine must not share the folder
  if (auto conn = hub.pool.acquire(5s)) (void)sweep_caches(*conn.value(), hub.options.work_dir);
  auto staging = hub.sites.new_staging(worker_id);
  if (!staging) return failed_outcome(staging.error());
  std::error_code ec;
  fs::create_directories(pid_dir(hub), ec);
  const fs::path cache = cache_dir(hub.options.work_dir, job.user_id, job.site_id);
  std::optional<runner::SandboxRun> sandbox;
  if (hub.options.isolate && hub.target.kind == runner::TargetChoice::Kind::local) {
    fs::create_directories(cache.parent_path(), ec);
    ::chmod(cache.parent_path().c_str(), 0711);
    // A fresh folder per build; node_modules kept per site (one user's one site: nothing shared).
    sandbox = runner::SandboxRun{.cache_dir = cache, .options = hub.options.sandbox, .support = hub.sandbox, .limits = {}};
  }
  pipeline::BuildRequest request{
      .snapshot = &snap,
      .objects_dir = hub.blobs.objects_dir(),
      .settings = settings,
      .target = hub.target,
      .payload = std::nullopt,
      .work_dir = cache,
      .pid_file = fs::path(pid_dir(hub)) / (worker_id + ".pid"),
      .timeout_seconds = std::min(settings.build_timeout_seconds.value_or(hub.options.max_build_seconds),
                                  hub.options.max_build_seconds),
      .sandbox = sandbox};
  events.add(pipeline::stage_event(pipeline::Stage::snapshot, std::to_string(snap.files.size()) + " files, snapshot " +
                                                              job.snapshot_id.substr(0, 12), 10));
  auto built = pipeline::build_site(request, staging.value(), stop,
                                    [&](const pipeline::Event& e) { events.add(e); });
  if (!built) return failed_outcome(built.error().error, built.error().diagnostics);
  events.flush();  // the build's lines come before the state change
  if (auto conn = hub.pool.acquire(5s)) (void)mark_state(*conn.value(), job, "publishing");
  events.add(pipeline::stage_event(pipeline::Stage::publish, "publishing " + job.user + "/" + job.site, 95));
  if (auto committed = hub.sites.commit(staging.value(), job.user, job.snapshot_id); !committed)
    return failed_outcome(committed.error());
  return JobOutcome{.kind = JobOutcome::Kind::ready};
}

// The job's outcome: its version reused when it was built for this user before, else built.
JobOutcome produce(HubRuntime& hub, const std::string& worker_id, const ClaimedJob& job, EventWriter& events,
                   std::stop_token stop) {
  auto snap = hub.blobs.read_snapshot(job.snapshot_id);
  if (!snap) return failed_outcome(snap.error());
  auto settings = sandbox_settings(hub.blobs, snap.value());
  if (!settings) return failed_outcome(settings.error());
  // A version on disk is reused only when the database says it was built for this user (ids are
  // never reused: a user removed and added again under the same name built nothing yet). Another
  // user's build of the same files is never used: it came from their caches.
  auto built_for_user = [&] {
    auto conn = hub.pool.acquire(5s);
    auto ready = conn ? was_built_for(*conn.value(), job.user_id, job.snapshot_id) : Result<bool>(conn.error());
    return ready && ready.value();
  };
  if (hub.sites.has_version(job.user, job.snapshot_id) && built_for_user()) {
    hub.sites.touch_version(job.user, job.snapshot_id);
    events.add(pipeline::stage_event(pipeline::Stage::publish, "already built: published at once", 95));
    return JobOutcome{.kind = JobOutcome::Kind::ready, .reused = true};
  }
  return build_version(hub, worker_id, job, snap.value(), settings.value(), events, stop);
}

}  // namespace

void Worker::build(const ClaimedJob& job, std::stop_token shutdown) {
  const std::string tag = "hub worker " + id_ + ": deployment " + std::to_string(job.deployment_id) + " (" + job.user +
                          "/" + job.site + ")";
  log::info(tag + ": building, attempt " + std::to_string(job.attempt));
  EventWriter events(hub_.pool, job.deployment_id);
  BuildControl control;
  JobOutcome outcome;
  {
    std::jthread heartbeat = keep_lease(hub_, job, tag, control);
    std::jthread grace = watch_shutdown(hub_, events, shutdown, control);
    outcome = produce(hub_, id_, job, events, control.stop.get_token());
  }
  events.flush();
  if (control.lost) {
    log::warn(tag + ": result dropped (the job is no longer this worker's)");
    return;
  }
  if (outcome.kind == JobOutcome::Kind::canceled && control.handing_back && !control.canceled) {
    // Keep trying while the database is away: a job handed back is not lost either way (its lease
    // lapses), but handing it back lets another worker start at once.
    for (int i = 0; i < 10; ++i) {
      auto conn = hub_.pool.acquire(2s);
      if (conn && hand_back_job(*conn.value(), job, "the worker " + id_ + " shut down; the build goes back to the queue"))
        break;
      std::this_thread::sleep_for(500ms);
    }
    log::info(tag + ": handed back to the queue");
    return;
  }
  if (outcome.kind == JobOutcome::Kind::canceled) {
    outcome.error = "canceled while it was building";
    outcome.error_code = "canceled";
  }
  record(job, outcome, tag);
}

void Worker::record(const ClaimedJob& job, const JobOutcome& outcome, const std::string& tag) {
  // The result is recorded even if the database is away for a while; the lease covers that long.
  auto deadline = std::chrono::steady_clock::now() + hub_.options.lease.lease;
  for (auto wait = 200ms;; wait = std::min(wait * 2, std::chrono::milliseconds(3000))) {
    auto conn = hub_.pool.acquire(2s);
    Result<bool> finished = conn ? finish_job(*conn.value(), job, outcome,
                                              [&](const std::string& snapshot) {
                                                return hub_.sites.point(job.user, job.site, snapshot);
                                              },
                                              hub_.urls)
                                 : Result<bool>(conn.error());
    if (finished) {
      log::info(tag + (finished.value() ? ": " + std::string(outcome.kind == JobOutcome::Kind::ready ? "ready" : "finished: ") +
                                              outcome.error
                                        : ": result dropped (the job is no longer this worker's)"));
      return;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      log::error(tag + ": cannot record the result (" + finished.error().message + "); the job will be retried");
      return;
    }
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace studyhub::hub
