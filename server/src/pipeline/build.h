// The middle of every publish, the same for a local publish and a hub worker: payload → runner
// (this machine or a docker-run service) → RunResult → the build log and diagnostics → decode and
// extract the site into a staging folder. What comes before (where the snapshot came from) and
// after (which store the site goes to) is the caller's.
#pragma once

#include <filesystem>
#include <optional>
#include <stop_token>

#include "pipeline/event.h"
#include "pipeline/publish.h"
#include "runner/payload_builder.h"
#include "runner/sandbox.h"
#include "runner/target.h"

namespace studyhub::pipeline {

struct BuildRequest {
  const snapshot::Snapshot* snapshot = nullptr;  // the files, with their blob ids
  std::filesystem::path objects_dir;             // the object database holding the blobs
  settings::WorkspaceSettings settings;
  runner::TargetChoice target;
  std::optional<runner::BuiltPayload> payload;   // when built already; else built here
  // Local builds: where they run, the record of the running build's process group, the limits.
  std::filesystem::path work_dir;
  std::filesystem::path pid_file;
  int timeout_seconds = 600;
  size_t output_cap = 256u << 20;
  // Set: a local build runs in the sandbox (runner/sandbox.h) — the hub's workers, `publish --isolate`.
  std::optional<runner::SandboxRun> sandbox;
};

struct BuiltSite {
  std::filesystem::path staging;  // the extracted site
  uint64_t files = 0;
  std::string preset;
};

// Builds into `staging` (an empty folder the caller made); on failure the folder is removed.
Result<BuiltSite, PublishFailure> build_site(const BuildRequest& request, const std::filesystem::path& staging,
                                             std::stop_token stop, const EventSink& emit);

}  // namespace studyhub::pipeline
