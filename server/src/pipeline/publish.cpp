#include "pipeline/publish.h"

#include <thread>

#include "core/file_lock.h"
#include "pipeline/build.h"
#include "pipeline/hub_publish.h"
#include "publish/store.h"
#include "runner/process.h"

namespace studyhub::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<FileLock> wait_for_build_lock(const fs::path& state_dir, std::stop_token stop, const EventSink& emit,
                                     bool& waited) {
  auto lock = FileLock::try_acquire(state_dir / "build.lock");
  waited = false;
  if (!lock || lock->held()) return lock;
  waited = true;
  emit(queued_event(Queue::machine, "waiting for another publish on this machine to finish"));
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

PublishResult finish(const PublishPlan& plan, const std::string& base_url, bool cached,
                     std::chrono::steady_clock::time_point started) {
  PublishResult r;
  r.target = plan.target.name();
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
  auto payload = runner::build_payload(plan.snapshot, snapshot::shadow_repo_path(state_dir) / "objects", plan.settings);
  if (payload && plan.target.docker()) runner::prefer_image_build_commands(payload.value(), plan.target.docker_run.language);
  return payload;
}

Result<PublishPlan> plan_publish(const PublishRequest& request, const PipelineEnv& env, std::stop_token stop,
                                 const EventSink& emit) {
  PublishPlan plan;
  auto settings = settings::load_workspace_settings(request.folder);
  if (!settings) return settings.error();
  plan.settings = settings.value();
  for (const auto& w : plan.settings.warnings) emit(log_event(Stage::snapshot, "warning: " + w));
  auto layers = request.target_layers;
  layers.push_back(runner::target_from_environment());
  auto target = runner::choose_target(layers, plan.settings);
  if (!target) return target.error();
  plan.target = std::move(target.value());

  emit(stage_event(Stage::snapshot, "reading " + request.folder.filename().string(), 0));
  plan.snapshot_at_ms = now_ms();
  auto snap = snapshot::take_snapshot(request.folder, plan.settings,
                                      {.state_dir = env.state_dir, .stop = stop, .progress = [&](std::string_view what, int pct) {
                                         emit(progress_event(Stage::snapshot, std::string(what), pct / 10));
                                       }});
  if (!snap) return snap.error();
  plan.snapshot = std::move(snap.value());
  for (const auto& w : plan.snapshot.warnings) emit(log_event(Stage::snapshot, "warning: " + w));

  if (request.name) plan.name = *request.name;
  else if (plan.settings.name) plan.name = publish::slugify(*plan.settings.name);
  else plan.name = publish::slugify(plan.snapshot.folder.filename().string());
  emit(progress_event(Stage::snapshot,
                std::to_string(plan.snapshot.files.size()) + " files, snapshot " + plan.snapshot.id.substr(0, 12), 10));
  return plan;
}

PublishOutcome run_publish(const PublishRequest& request, const PipelineEnv& env, std::stop_token stop,
                           const EventSink& emit) {
  auto started = std::chrono::steady_clock::now();
  auto fail = [](Error e, std::string folder = {}) { return PublishFailure{std::move(e), {}, {}, std::move(folder)}; };

  auto plan = plan_publish(request, env, stop, emit);
  if (!plan) return fail(plan.error());
  if (plan->target.kind == runner::TargetChoice::Kind::hub) return publish_to_hub(plan.value(), env, stop, emit, started);
  std::string folder = plan->snapshot.folder.string();
  publish::SiteStore store(env.state_dir, static_cast<size_t>(plan->settings.keep_versions.value_or(5)));

  // Points the name at the built version (committing it first when just built); a newer snapshot of
  // the same folder published meanwhile stays, and is the answer.
  auto point = [&](bool cached, std::optional<fs::path> staging = std::nullopt) -> PublishOutcome {
    emit(stage_event(Stage::publish, "publishing " + plan->name, 95));
    publish::SiteInfo info{.name = plan->name, .snapshot_id = plan->snapshot.id, .folder = folder,
                           .published_at_ms = now_ms(), .files = plan->snapshot.files.size(),
                           .bytes = plan->snapshot.bytes, .history = {}, .snapshot_at_ms = plan->snapshot_at_ms};
    auto pointed = staging ? store.commit_and_point(*staging, info) : store.point(info);
    if (!pointed) return fail(pointed.error(), folder);
    auto base = env.host_url();
    if (!base) return fail(base.error(), folder);
    PublishResult r = finish(plan.value(), base.value(), cached, started);
    if (pointed->snapshot_id != plan->snapshot.id) {
      emit(progress_event(Stage::publish, "a newer snapshot of this folder was published meanwhile; it stays", 100));
      r.snapshot_id = pointed->snapshot_id;
      r.immutable_url = base.value() + "/v/" + pointed->snapshot_id + "/";
      r.files = pointed->files;
      r.bytes = pointed->bytes;
      return r;
    }
    emit(progress_event(Stage::publish, cached ? "already built: published at once" : "published", 100));
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

  int timeout = request.build_timeout_seconds.value_or(plan->settings.build_timeout_seconds.value_or(600));
  auto staging = store.new_staging();
  if (!staging) return fail(staging.error(), folder);
  std::optional<runner::SandboxRun> sandbox;
  const fs::path work_dir = env.state_dir / "work" / snapshot::folder_key(plan->snapshot.folder);
  if (request.isolate && plan->target.kind == runner::TargetChoice::Kind::local) {
    runner::SandboxOptions options;
    auto support = runner::probe_sandbox(options);
    if (!support.bwrap) return fail(Error{"--isolate: " + support.problem}, folder);
    emit(log_event(Stage::build, "isolated: " + support.describe()));
    // node_modules carry over in the folder's work folder, as they do without the sandbox.
    sandbox = runner::SandboxRun{.cache_dir = work_dir, .options = options,
                                 .support = support, .limits = {}};
  }
  BuildRequest build{.snapshot = &plan->snapshot,
                     .objects_dir = snapshot::shadow_repo_path(env.state_dir) / "objects",
                     .settings = plan->settings,
                     .target = plan->target,
                     .payload = std::move(plan->payload),
                     .work_dir = work_dir,
                     .pid_file = env.state_dir / "build.pid",
                     .timeout_seconds = timeout,
                     .sandbox = sandbox};
  auto built = build_site(build, staging.value(), stop, emit);
  if (!built) return built.error();
  return point(false, staging.value());
}

Status recover_after_crash(const fs::path& state_dir, bool try_only) {
  auto lock = try_only ? FileLock::try_acquire(state_dir / "build.lock") : FileLock::acquire(state_dir / "build.lock");
  if (!lock) return lock.error();
  if (!lock->held()) return ok_status();  // a build is running: it is not debris
  return clear_debris(state_dir);
}

json to_json(const PublishResult& r) {
  json j{{"url", r.url},         {"immutableUrl", r.immutable_url}, {"snapshotId", r.snapshot_id},
         {"cached", r.cached},   {"files", r.files},                {"bytes", r.bytes},
         {"durationMs", r.duration_ms}, {"name", r.name},           {"folder", r.folder},
         {"target", r.target}};
  if (r.deployment_id) {
    j["deploymentId"] = *r.deployment_id;
    j["uploadedFiles"] = r.uploaded_files;
    j["uploadedBytes"] = r.uploaded_bytes;
  }
  return j;
}

json to_json(const PublishFailure& f) {
  json diagnostics = json::array();
  for (const auto& d : f.diagnostics) diagnostics.push_back(to_json(d));
  return {{"message", f.error.message}, {"logTail", f.log_tail}, {"diagnostics", diagnostics}};
}

}  // namespace studyhub::pipeline
