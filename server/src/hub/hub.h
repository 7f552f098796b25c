// `studyhub-sandbox hub …`: the team's publishing service. One process runs any of: the HTTP API
// and the site host (serve), build workers (serve --workers N, or worker), and the housekeeping
// that keeps the data folder in step with the database (links, pruning, stale staging).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "hub/blob_store.h"
#include "hub/db.h"
#include "hub/deployments.h"
#include "hub/notifier.h"
#include "hub/queue.h"
#include "hub/site_files.h"
#include "runner/sandbox.h"
#include "runner/target.h"

namespace studyhub::hub {

struct HubOptions {
  std::string database;             // libpq conninfo or URI
  std::filesystem::path data_dir;   // shared by every hub of the team
  std::filesystem::path work_dir;   // where this machine's builds run (default <data>/work)
  std::string public_url;           // default http://<listen>:<port>
  std::string listen = "127.0.0.1";
  uint16_t port = 8090;
  unsigned workers = 1;
  bool serve_http = true;           // false: `hub worker`
  unsigned http_threads = 0;        // 0: one per core

  // Where workers build: the local runner, or a docker-run fleet (one or more URLs).
  std::vector<std::string> docker_run_urls;
  std::string docker_run_token;
  std::string docker_run_image = "vermusl/create-react-app";
  // Local builds run other people's code: in the sandbox by default (runner/sandbox.h).
  bool isolate = true;
  runner::SandboxOptions sandbox;

  Limits limits;
  Quotas quotas;
  LeaseOptions lease;
  int max_build_seconds = 900;       // a sandbox's own buildTimeoutSeconds is capped at this
  int keep_versions = 5;             // ready versions kept per site for rollbacks
  std::chrono::seconds shutdown_grace{20};  // SIGTERM: builds may finish within this, then go back to the queue
  size_t max_followers = 512;        // event streams open at once
  // Per user: bytes of uploads stored (413 quota.storage past it), uploads and event streams open at
  // once (429 quota.streams), so that one member cannot fill the disk or take every slot.
  uint64_t max_stored_bytes_per_user = 2ull << 30;
  size_t max_streams_per_user = 8;
};

// What every part of a running hub shares.
struct HubRuntime {
  HubOptions options;
  db::Pool pool;
  Notifier notifier;
  BlobStore blobs;
  SiteFiles sites;
  Urls urls;
  runner::TargetChoice target;
  runner::SandboxSupport sandbox;  // probed at start, when builds are local and isolated
  std::string machine;  // host name, for worker ids and pid files

  HubRuntime(HubOptions o, BlobStore b, runner::TargetChoice t);
};

// Opens the database (applying migrations), the data folder and the blob store.
Result<std::unique_ptr<HubRuntime>> open_hub(HubOptions options);

// Runs until SIGINT/SIGTERM (block them with block_stop_signals() before open_hub starts threads):
// then stops taking jobs, lets running builds finish within the grace
// period, hands back the rest, and returns 0. `ready` gets the bound port (0 for worker-only).
int run_hub(HubRuntime& hub, const std::function<void(uint16_t port)>& ready);

}  // namespace studyhub::hub
