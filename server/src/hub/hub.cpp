#include "hub/hub.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "core/log.h"
#include "core/signals.h"
#include "core/wait.h"
#include "host/static_host.h"
#include "hub/api.h"
#include "hub/build_caches.h"
#include "hub/schema.h"
#include "hub/worker.h"
#include "runner/target.h"

namespace studyhub::hub {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "hub";
  std::string out;
  for (char c : std::string(buf)) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '-');
  return out;
}

// Keeps the data folder in step with the database: links as the database says, versions no site
// keeps pruned, staging left by crashed workers cleared.
void housekeeping(HubRuntime& hub) {
  auto conn = hub.pool.acquire(5s);
  if (!conn) return;
  if (auto current = all_current_sites(*conn.value())) {
    int changed = hub.sites.reconcile(current.value());
    if (changed > 0) log::info("hub: " + std::to_string(changed) + " site links made to match the database");
  }
  if (auto keep = referenced_snapshots(*conn.value(), hub.options.keep_versions)) {
    std::set<std::string> kept(keep->begin(), keep->end());
    int removed = hub.sites.prune(kept, 10min);
    if (removed > 0) log::info("hub: " + std::to_string(removed) + " versions no site keeps were pruned");
  }
  hub.sites.clear_stale_staging(24h);
  (void)sweep_caches(*conn.value(), hub.options.work_dir);
}

// What URLs start with when --public-url is not given: this hub's own address.
std::string default_public_url(const HubOptions& o, uint16_t port) {
  std::string host = o.listen == "0.0.0.0" || o.listen == "::" ? std::string("127.0.0.1") : o.listen;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port);
}

}  // namespace

HubRuntime::HubRuntime(HubOptions o, BlobStore b, runner::TargetChoice t)
    : options(std::move(o)),
      pool(options.database, options.workers * 3 + 12),
      notifier(options.database, {kJobsChannel, kEventsChannel, kCancelChannel}),
      blobs(std::move(b)),
      sites(options.data_dir),
      urls{options.public_url},
      target(std::move(t)),
      machine(host_name()) {}

Result<std::unique_ptr<HubRuntime>> open_hub(HubOptions o) {
  if (o.database.empty())
    return Error{"the hub needs its database: pass --database or set STUDYHUB_HUB_DATABASE_URL (a libpq connection "
                 "string, e.g. postgresql://hub@db.example.com/studyhub)"};
  if (o.data_dir.empty())
    return Error{"the hub needs a data folder: pass --data or set STUDYHUB_HUB_DATA (shared by every hub of the team)"};
  std::error_code ec;
  o.data_dir = fs::absolute(o.data_dir, ec);
  fs::create_directories(o.data_dir, ec);
  if (ec) return Error{"cannot create the data folder " + o.data_dir.string() + ": " + ec.message()};
  // The hub user's alone: its host serves the sites (a front server proxies to it). Sandboxed
  // builds run as another user, who must pass through to its site's node_modules below work/.
  ::chmod(o.data_dir.c_str(), o.isolate ? 0711 : 0700);
  if (o.work_dir.empty()) o.work_dir = o.data_dir / "work";
  fs::create_directories(o.work_dir, ec);
  // Builds' sources are private. Sandboxed builds run as another user, who must reach its site's
  // node_modules folder: the work folder may be passed through then (not listed); each site's
  // folder is that user's alone.
  ::chmod(o.work_dir.c_str(), o.isolate ? 0711 : 0700);
  if (o.public_url.empty() && !o.serve_http) o.public_url = default_public_url(o, o.port);
  while (!o.public_url.empty() && o.public_url.back() == '/') o.public_url.pop_back();

  auto conn = db::Connection::open(o.database);
  if (!conn) return Error{conn.error().message + "; check --database / STUDYHUB_HUB_DATABASE_URL", false, conn.error().code};
  auto migrated = migrate(conn.value());
  if (!migrated) return migrated.error();
  if (migrated->to != migrated->from)
    log::info("hub: database schema " + std::to_string(migrated->from) + " → " + std::to_string(migrated->to));

  auto blobs = BlobStore::open(o.data_dir);
  if (!blobs) return blobs.error();

  runner::TargetChoice target;
  if (!o.docker_run_urls.empty()) {
    if (o.docker_run_token.empty())
      return Error{"building on docker-run needs its access token: set STUDYHUB_SANDBOX_TOKEN"};
    std::string urls;
    for (const auto& u : o.docker_run_urls) urls += (urls.empty() ? "" : ",") + u;
    runner::TargetLayer layer{.target = "docker-run", .url = urls, .token = o.docker_run_token,
                              .image = o.docker_run_image};
    auto chosen = runner::choose_target({layer}, settings::WorkspaceSettings{});
    if (!chosen) return chosen.error();
    target = chosen.value();
    target.docker_run.timeout = std::chrono::seconds(o.max_build_seconds + 60);
  }
  runner::SandboxSupport support;
  if (o.docker_run_urls.empty() && o.workers > 0) {
    if (o.isolate) {
      support = runner::probe_sandbox(o.sandbox);
      if (!support.bwrap)
        return Error{"cannot isolate builds: " + support.problem + "; fix that, or run with --isolation none for code you trust"};
      log::info("hub: builds are sandboxed: " + support.describe());
    } else {
      log::warn("hub: --isolation none: builds run as plain processes of the hub, with its user, files and network; "
                "only for code you trust");
    }
  }
  auto runtime = std::make_unique<HubRuntime>(std::move(o), std::move(blobs.value()), std::move(target));
  runtime->sandbox = support;
  return runtime;
}

int run_hub(HubRuntime& hub, const std::function<void(uint16_t)>& ready) {
  sigset_t signals = block_stop_signals();  // blocked already by the caller; this answers the set

  std::shared_ptr<host::ApiHandler> api;
  std::unique_ptr<host::StaticHost> server;
  std::thread server_thread;
  if (hub.options.serve_http) {
    api = make_api(hub);
    auto started = host::StaticHost::start({.state_dir = hub.options.data_dir,
                                            .address = hub.options.listen,
                                            .port = hub.options.port,
                                            .threads = hub.options.http_threads,
                                            .layout = {.site_depth = 2, .health = false},
                                            .api = api});
    if (!started) {
      std::cerr << "studyhub-sandbox: " << started.error().message << "\n";
      return 1;
    }
    server = std::move(started.value());
    if (hub.options.public_url.empty()) {
      // Known only now when the port was 0 (any free port).
      hub.options.public_url = default_public_url(hub.options, server->port());
      hub.urls.public_url = hub.options.public_url;
    }
    server_thread = std::thread([&] { server->run(); });
  }

  stop_orphaned_worker_builds(hub);
  housekeeping(hub);
  std::stop_source stop;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::jthread> worker_threads;
  for (unsigned i = 0; i < hub.options.workers; ++i) {
    workers.push_back(std::make_unique<Worker>(hub, hub.machine + "-" + std::to_string(::getpid()) + "-" + std::to_string(i)));
    worker_threads.emplace_back([w = workers.back().get(), token = stop.get_token()] { w->run(token); });
  }
  std::jthread keeper([&hub](std::stop_token done) {
    while (wait_for(done, 60s)) housekeeping(hub);
  });
  ready(server ? server->port() : 0);

  int signal_number = wait_stop_signal(signals);
  log::info(std::string("hub: ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") +
            ": taking no more jobs; running builds may finish within " +
            std::to_string(hub.options.shutdown_grace.count()) + " s, then go back to the queue");
  stop.request_stop();
  worker_threads.clear();  // joins: each finishes or hands back its build
  keeper = {};
  if (server) {
    shutdown_api(*api);
    server->stop();
    server_thread.join();
  }
  log::info("hub: stopped");
  return 0;
}

}  // namespace studyhub::hub
