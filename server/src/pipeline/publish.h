// A publish, end to end: snapshot → payload → runner → RunResult → decode and extract → store → URL.
// Emits one event stream; returns the result or a failure with the log tail and diagnostics.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>

#include "pipeline/event.h"
#include "runner/payload_builder.h"
#include "runner/target.h"
#include "settings/workspace_settings.h"
#include "snapshot/snapshot.h"

namespace studyhub::pipeline {

struct PublishRequest {
  std::filesystem::path folder;
  std::optional<std::string> name;  // validated by the caller; else settings, else the folder's name
  std::optional<int> build_timeout_seconds;
  // Where to build, highest layer first (flags or params, then initializationOptions); the
  // environment and the settings file come after these.
  std::vector<runner::TargetLayer> target_layers;
  bool isolate = false;  // a local build in the sandbox the runner service and the hub use
};

struct PipelineEnv {
  std::filesystem::path state_dir;
  // The host's base URL ("http://127.0.0.1:PORT"), starting it when needed.
  std::function<Result<std::string>()> host_url;
};

struct PublishResult {
  std::string name, url, immutable_url, snapshot_id, folder;
  bool cached = false;
  uint64_t files = 0, bytes = 0;
  int64_t duration_ms = 0;
  // The hub target only: where the deployment is, and what had to travel.
  std::optional<int64_t> deployment_id;
  uint64_t uploaded_files = 0, uploaded_bytes = 0;
  std::string target = "local";
};

struct PublishFailure {
  Error error;
  std::vector<Diagnostic> diagnostics;
  std::string log_tail;  // the last lines of build output
  std::string folder;    // canonical, when known (diagnostics are relative to it)
};

using PublishOutcome = Result<PublishResult, PublishFailure>;

// What a publish would send, without building (the first half of a publish; also --dry-run).
struct PublishPlan {
  snapshot::Snapshot snapshot;
  settings::WorkspaceSettings settings;
  runner::BuiltPayload payload;
  runner::TargetChoice target;
  std::string name;
  int64_t snapshot_at_ms = 0;  // when the snapshot started reading the folder
};
Result<PublishPlan> plan_publish(const PublishRequest& request, const PipelineEnv& env, std::stop_token stop,
                                 const EventSink& emit);

// The payload for the plan's runner (a docker-run image may build create-react-app itself).
Result<runner::BuiltPayload> payload_for(const PublishPlan& plan, const std::filesystem::path& state_dir);

PublishOutcome run_publish(const PublishRequest& request, const PipelineEnv& env, std::stop_token stop,
                           const EventSink& emit);

// Clears what a killed publish left behind (staging folders, temporary links, an orphaned build).
// Needs the machine-wide build lock; `try_only` skips the work when another build holds it.
Status recover_after_crash(const std::filesystem::path& state_dir, bool try_only);

nlohmann::json to_json(const PublishResult& result);
nlohmann::json to_json(const PublishFailure& failure);

}  // namespace studyhub::pipeline
