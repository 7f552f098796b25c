#include "pipeline/publish.h"

#include <deque>
#include <mutex>
#include <thread>

#include "archive/base64.h"
#include "archive/extract.h"
#include "core/file_lock.h"
#include "core/text.h"
#include "pipeline/diagnostics.h"
#include "publish/store.h"
#include "runner/docker_run_client.h"
#include "runner/local_runner.h"
#include "runner/process.h"

namespace studyhub::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kLogTailLines = 60;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Event stage(std::string name, std::string message, int percent) {
  return Event{.kind = Event::Kind::stage, .stage = std::move(name), .message = std::move(message), .percent = percent};
}
Event progress(std::string name, std::string message, int percent) {
  return Event{.kind = Event::Kind::progress, .stage = std::move(name), .message = std::move(message), .percent = percent};
}

// Keeps the last lines of the build output for a failure report.
class LogTail {
 public:
  void add(std::string_view line) {
    std::lock_guard lock(mutex_);
    lines_.emplace_back(line);
    if (lines_.size() > kLogTailLines) lines_.pop_front();
  }
  std::string text() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& l : lines_) out.append(l).append("\n");
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<std::string> lines_;
};

Result<FileLock> wait_for_build_lock(const fs::path& state_dir, std::stop_token stop, const EventSink& emit,
                                     bool& waited) {
  auto lock = FileLock::try_acquire(state_dir / "build.lock");
  waited = false;
  if (!lock || lock->held()) return lock;
  waited = true;
  emit(Event{.kind = Event::Kind::queued, .message = "waiting for another publish on this machine to finish"});
  for (int tick = 0;; ++tick) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (stop.stop_requested()) return cancelled_error();
    lock = FileLock::try_acquire(state_dir / "build.lock");
    if (!lock || lock->held()) return lock;
  }
}

// With the build lock held: whatever a killed publish left is debris now.
Status clear_debris(const fs::path& state_dir) {
  runner::stop_orphaned_build(state_dir / "build.pid");
  return publish::SiteStore(state_dir).recover();
}

// A remote build's output arrives all at once with the result; the log shows it then. On success
// stdout is the site, not log.
void replay_remote_log(const runner::RunResult& r, const std::function<void(std::string_view)>& on_log) {
  if (!r.error.empty()) for_each_line(r.stdout_text, on_log);
  for_each_line(r.stderr_text, on_log);
}

PublishResult finish(const PublishPlan& plan, const std::string& base_url, bool cached,
                     std::chrono::steady_clock::time_point started) {
  PublishResult r;
  r.name = plan.name;
  r.url = base_url + "/s/" + plan.name + "/";
  r.immutable_url = base_url + "/v/" + plan.snapshot.id + "/";
  r.snapshot_id = plan.snapshot.id;
  r.folder = plan.snapshot.folder.string();
  r.cached = cached;
  r.files = plan.snapshot.files.size();
  r.bytes = plan.snapshot.bytes;
  r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  return r;
}

}  // namespace

Result<runner::BuiltPayload> payload_for(const PublishPlan& plan, const fs::path& state_dir) {
  auto payload = runner::build_payload(plan.snapshot, state_dir, plan.settings);
  if (payload && plan.target.remote) runner::prefer_image_build_commands(payload.value(), plan.target.docker_run.language);
  return payload;
}

Result<PublishPlan> plan_publish(const PublishRequest& request, const PipelineEnv& env, std::stop_token stop,
                                 const EventSink& emit) {
  PublishPlan plan;
  auto settings = settings::load_workspace_settings(request.folder);
  if (!settings) return settings.error();
  plan.settings = settings.value();
  auto layers = request.target_layers;
  layers.push_back(runner::target_from_environment());
  auto target = runner::choose_target(layers, plan.settings);
  if (!target) return target.error();
  plan.target = std::move(target.value());
  for (const auto& w : plan.settings.warnings) emit(Event{.kind = Event::Kind::log, .stage = "snapshot", .message = "warning: " + w});

  emit(stage("snapshot", "reading " + request.folder.filename().string(), 0));
  plan.snapshot_at_ms = now_ms();
  auto snap = snapshot::take_snapshot(request.folder, plan.settings,
                                      {.state_dir = env.state_dir, .stop = stop, .progress = [&](std::string_view what, int pct) {
                                         emit(progress("snapshot", std::string(what), pct / 10));
                                       }});
  if (!snap) return snap.error();
  plan.snapshot = std::move(snap.value());
  for (const auto& w : plan.snapshot.warnings) emit(Event{.kind = Event::Kind::log, .stage = "snapshot", .message = "warning: " + w});

  if (request.name) plan.name = *request.name;
  else if (plan.settings.name) plan.name = publish::slugify(*plan.settings.name);
  else plan.name = publish::slugify(plan.snapshot.folder.filename().string());
  emit(progress("snapshot",
                std::to_string(plan.snapshot.files.size()) + " files, snapshot " + plan.snapshot.id.substr(0, 12), 10));
  return plan;
}

PublishOutcome run_publish(const PublishRequest& request, const PipelineEnv& env, std::stop_token stop,
                           const EventSink& emit) {
  auto started = std::chrono::steady_clock::now();
  auto fail = [](Error e, std::string folder = {}) { return PublishFailure{std::move(e), {}, {}, std::move(folder)}; };

  auto plan = plan_publish(request, env, stop, emit);
  if (!plan) return fail(plan.error());
  std::string folder = plan->snapshot.folder.string();
  publish::SiteStore store(env.state_dir, static_cast<size_t>(plan->settings.keep_versions.value_or(5)));

  // Points the name at the built version (committing it first when just built); a newer snapshot of
  // the same folder published meanwhile stays, and is the answer.
  auto point = [&](bool cached, std::optional<fs::path> staging = std::nullopt) -> PublishOutcome {
    emit(stage("publish", "publishing " + plan->name, 95));
    publish::SiteInfo info{.name = plan->name, .snapshot_id = plan->snapshot.id, .folder = folder,
                           .published_at_ms = now_ms(), .files = plan->snapshot.files.size(),
                           .bytes = plan->snapshot.bytes, .history = {}, .snapshot_at_ms = plan->snapshot_at_ms};
    auto pointed = staging ? store.commit_and_point(*staging, info) : store.point(info);
    if (!pointed) return fail(pointed.error(), folder);
    auto base = env.host_url();
    if (!base) return fail(base.error(), folder);
    PublishResult r = finish(plan.value(), base.value(), cached, started);
    if (pointed->snapshot_id != plan->snapshot.id) {
      emit(progress("publish", "a newer snapshot of this folder was published meanwhile; it stays", 100));
      r.snapshot_id = pointed->snapshot_id;
      r.immutable_url = base.value() + "/v/" + pointed->snapshot_id + "/";
      r.files = pointed->files;
      r.bytes = pointed->bytes;
      return r;
    }
    emit(progress("publish", cached ? "already built: published at once" : "published", 100));
    return r;
  };
  if (store.has_version(plan->snapshot.id)) return point(true);

  auto payload = payload_for(plan.value(), env.state_dir);
  if (!payload) return fail(payload.error(), folder);
  plan->payload = std::move(payload.value());

  bool waited = false;
  auto lock = wait_for_build_lock(env.state_dir, stop, emit, waited);
  if (!lock) return fail(lock.error(), folder);
  if (auto cleared = clear_debris(env.state_dir); !cleared) return fail(cleared.error(), folder);
  if (waited) {
    // The folder may have changed while this publish waited: build what it holds now, never an
    // older snapshot that a newer publish has replaced.
    auto fresh = plan_publish(request, env, stop, emit);
    if (!fresh) return fail(fresh.error(), folder);
    if (fresh->snapshot.id == plan->snapshot.id) {
      fresh->payload = std::move(plan->payload);  // same content: the payload built before still holds
    } else if (!store.has_version(fresh->snapshot.id)) {
      auto again = payload_for(fresh.value(), env.state_dir);
      if (!again) return fail(again.error(), folder);
      fresh->payload = std::move(again.value());
    }
    plan = std::move(fresh);
  }
  if (store.has_version(plan->snapshot.id)) return point(true);  // built by someone else meanwhile

  const fs::path work_dir = env.state_dir / "work" / snapshot::folder_key(plan->snapshot.folder);
  int timeout = request.build_timeout_seconds.value_or(plan->settings.build_timeout_seconds.value_or(600));
  std::unique_ptr<runner::Runner> builder;
  if (plan->target.remote)
    builder = std::make_unique<runner::DockerRunClient>(plan->target.docker_run);
  else
    builder = std::make_unique<runner::LocalRunner>(
        work_dir, runner::ProcessLimits{.timeout = std::chrono::seconds(timeout), .output_cap = 256u << 20},
        env.state_dir / "build.pid");
  const std::string where = builder->where();
  if (plan->target.remote && plan->target.docker_run.url.starts_with("http://") && !where.starts_with("127.") &&
      !where.starts_with("localhost") && !where.starts_with("[::1]"))
    emit(Event{.kind = Event::Kind::log, .stage = "build",
               .message = "warning: " + where + " is reached over plain http, so the access token crosses the network "
                          "unencrypted; use an https:// URL"});

  emit(stage("build", "building with the " + plan->payload.preset.name + " preset on " + where, 20));
  LogTail tail;
  auto on_log = [&](std::string_view line) {
    tail.add(line);
    emit(Event{.kind = Event::Kind::log, .stage = "build", .message = std::string(line)});
  };
  std::atomic<bool> building{true};
  std::jthread ticker;
  if (!plan->target.remote) {
    ticker = std::jthread([&](std::stop_token) {
      // A local build has no progress channel: say how long it has been building.
      for (int seconds = 1; building; ++seconds) {
        for (int i = 0; i < 10 && building; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (building) emit(progress("build", "building… " + std::to_string(seconds) + " s", 20));
      }
    });
  }
  std::string last_step = "build";
  auto run = builder->run(plan->payload.payload,
                          {.stop = stop, .on_log = on_log, .on_step = [&](const std::string& step, const std::string& message, int pct) {
                             int base = step == "upload" ? 20 : step == "build" ? 30 : 70;
                             int percent = base + (step == "build" ? 0 : pct / 10);
                             emit(step != last_step ? stage(step, message, percent) : progress(step, message, percent));
                             last_step = step;
                           }});
  building = false;
  ticker = {};
  if (!run) return PublishFailure{run.error(), {}, tail.text(), folder};
  if (plan->target.remote) replay_remote_log(run.value(), on_log);
  if (!run->error.empty()) {
    std::set<std::string> known;
    for (const auto& f : plan->snapshot.files) known.insert(f.path);
    auto diagnostics = parse_diagnostics(run->stderr_text + "\n" + run->stdout_text,
                                         plan->target.remote ? fs::path() : work_dir, known);
    if (!diagnostics.empty()) emit(Event{.kind = Event::Kind::diagnostics, .diagnostics = diagnostics});
    std::string message =
        (plan->target.remote ? "the build on " + where + " failed (" : std::string("the build failed (")) + run->error + ")";
    if (!diagnostics.empty())
      message += ": " + diagnostics.front().file + ":" + std::to_string(diagnostics.front().line) + ": " +
                 diagnostics.front().message;
    else
      message += "; see the build log";
    std::string log = tail.text();
    if (log.empty()) log = run->stderr_text.substr(run->stderr_text.size() > 4000 ? run->stderr_text.size() - 4000 : 0);
    return PublishFailure{Error{message}, diagnostics, log, folder};
  }
  // A remote answer is not ours to trust: say whose it was when it cannot be used (but a failure
  // of this machine's disk is nobody's answer).
  auto unusable = [&](const Error& e) {
    return plan->target.remote && e.code != "io" ? Error{"the answer from " + where + " is unusable: " + e.message} : e;
  };

  emit(stage("extract", "unpacking the built site", 80));
  auto archive = archive::decode_base64(run->stdout_text);
  if (!archive) return fail(unusable(archive.error()), folder);
  auto staging = store.new_staging();
  if (!staging) return fail(staging.error(), folder);
  auto extracted = archive::extract_site(archive.value(), staging.value());
  if (!extracted) {
    std::error_code ec;
    fs::remove_all(staging.value(), ec);
    return fail(unusable(extracted.error()), folder);
  }
  emit(progress("extract", std::to_string(extracted->files) + " files in the site", 90));
  return point(false, staging.value());
}

Status recover_after_crash(const fs::path& state_dir, bool try_only) {
  auto lock = try_only ? FileLock::try_acquire(state_dir / "build.lock") : FileLock::acquire(state_dir / "build.lock");
  if (!lock) return lock.error();
  if (!lock->held()) return ok_status();  // a build is running: it is not debris
  return clear_debris(state_dir);
}

json to_json(const PublishResult& r) {
  return {{"url", r.url},         {"immutableUrl", r.immutable_url}, {"snapshotId", r.snapshot_id},
          {"cached", r.cached},   {"files", r.files},                {"bytes", r.bytes},
          {"durationMs", r.duration_ms}, {"name", r.name},           {"folder", r.folder}};
}

json to_json(const PublishFailure& f) {
  json diagnostics = json::array();
  for (const auto& d : f.diagnostics) diagnostics.push_back(to_json(d));
  return {{"message", f.error.message}, {"logTail", f.log_tail}, {"diagnostics", diagnostics}};
}

}  // namespace studyhub::pipeline
