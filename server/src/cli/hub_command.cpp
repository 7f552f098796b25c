// `studyhub-sandbox hub serve | worker | migrate | user add|list|remove|token`.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "core/env.h"
#include "core/log.h"
#include "core/signals.h"
#include "core/text.h"
#include "hub/hub.h"
#include "hub/build_caches.h"
#include "hub/schema.h"
#include "hub/site_files.h"
#include "hub/users.h"

namespace studyhub::cli {

namespace {

struct HubFlags {
  std::string database, data, public_url, listen = "127.0.0.1", work_dir;
  uint16_t port = 8090;
  unsigned workers = 1;
  std::vector<std::string> docker_run_urls;
  std::string docker_run_image;
  uint64_t max_file_bytes = 0, max_files = 0, max_deployment_bytes = 0;
  int64_t max_sites = 0, max_queued = 0;
  int lease_seconds = 0, max_build_seconds = 0, grace_seconds = -1, keep_versions = 0;
  std::string isolation = "sandbox", build_network = "install", memory, disk, build_user, max_stored;
  size_t max_streams = 0;
  uint64_t max_processes = 0;
  std::string user_name;
  bool json = false;
};

void add_connection_flags(CLI::App* cmd, HubFlags& f) {
  cmd->add_option("--database", f.database, "libpq connection string or URI (else STUDYHUB_HUB_DATABASE_URL)");
}

void add_service_flags(CLI::App* cmd, HubFlags& f, bool http) {
  add_connection_flags(cmd, f);
  cmd->add_option("--data", f.data, "The data folder every hub of the team shares (else STUDYHUB_HUB_DATA)");
  cmd->add_option("--work-dir", f.work_dir, "Where this machine's builds run (default <data>/work; keep it on local disk)");
  cmd->add_option("--docker-run-url", f.docker_run_urls,
                  "Build on this docker-run service (repeatable: a fleet; else STUDYHUB_SANDBOX_DOCKER_RUN_URL, "
                  "comma-separated; the token from STUDYHUB_SANDBOX_TOKEN). None: build on this machine");
  cmd->add_option("--docker-run-image", f.docker_run_image, "Image the docker-run services build in");
  cmd->add_option("--lease-seconds", f.lease_seconds, "A worker's lease on a job, renewed while it builds (default 30)")
      ->check(CLI::Range(3, 3600));
  cmd->add_option("--max-build-seconds", f.max_build_seconds, "Longest a build may run (default 900)")
      ->check(CLI::Range(1, 24 * 3600));
  cmd->add_option("--shutdown-grace", f.grace_seconds,
                  "On SIGTERM, seconds running builds may take to finish before they go back to the queue (default 20)")
      ->check(CLI::Range(0, 3600));
  cmd->add_option("--isolation", f.isolation,
                  "sandbox (default: local builds in bubblewrap with limits, as the runner does) or none (plain processes "
                  "of the hub: only for code you trust)")
      ->check(CLI::IsMember({"sandbox", "none"}));
  cmd->add_option("--build-network", f.build_network, "Network for builds: install (default), none, all")
      ->check(CLI::IsMember({"install", "none", "all"}));
  cmd->add_option("--memory", f.memory, "Memory of a build, e.g. 2g (default 2g)");
  cmd->add_option("--max-processes", f.max_processes, "Processes of a build at once (default 512)");
  cmd->add_option("--disk", f.disk, "Size of a build's work folder, e.g. 2g (default 2g)");
  cmd->add_option("--build-user", f.build_user, "User builds run as when the hub is root (default nobody)");
  if (!http) return;
  cmd->add_option("--public-url", f.public_url, "What returned URLs start with (else STUDYHUB_HUB_PUBLIC_URL)");
  cmd->add_option("--listen", f.listen, "Address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", f.port, "Port (default 8090)");
  cmd->add_option("--workers", f.workers, "Build workers in this process (default 1; 0: API and sites only)")
      ->check(CLI::Range(0u, 64u));
  cmd->add_option("--max-file-size", f.max_file_bytes, "Largest file in bytes (default 50 MiB)");
  cmd->add_option("--max-files", f.max_files, "Most files in a deployment (default 20,000)");
  cmd->add_option("--max-deployment-size", f.max_deployment_bytes, "Largest deployment in bytes (default 500 MiB)");
  cmd->add_option("--max-sites-per-user", f.max_sites, "Sites a user may have (default 100)");
  cmd->add_option("--max-queued-per-user", f.max_queued, "Deployments a user may have waiting (default 20)");
  cmd->add_option("--keep-versions", f.keep_versions, "Ready versions kept per site for rollbacks (default 5)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--max-stored-bytes-per-user", f.max_stored, "Bytes of uploads a user may store, e.g. 2G (default 2G)");
  cmd->add_option("--max-streams-per-user", f.max_streams, "Uploads and event streams a user may have open at once (default 8)")
      ->check(CLI::Range(size_t{1}, size_t{10000}));
}

std::string database_of(const HubFlags& f) { return !f.database.empty() ? f.database : env_value("STUDYHUB_HUB_DATABASE_URL").value_or(""); }

int with_database(const HubFlags& f, const std::function<int(hub::db::Connection&)>& fn) {
  std::string database = database_of(f);
  if (database.empty())
    return usage_error("the hub's database is needed: pass --database or set STUDYHUB_HUB_DATABASE_URL");
  auto conn = hub::db::Connection::open(database);
  if (!conn) return fail(conn.error().message + "; check --database / STUDYHUB_HUB_DATABASE_URL");
  auto migrated = hub::migrate(conn.value());
  if (!migrated) return fail(migrated.error().message);
  return fn(conn.value());
}

Result<hub::HubOptions> service_options(const HubFlags& f, bool http) {
  hub::HubOptions o;
  o.database = database_of(f);
  o.data_dir = !f.data.empty() ? f.data : env_value("STUDYHUB_HUB_DATA").value_or("");
  o.work_dir = f.work_dir;
  o.public_url = !f.public_url.empty() ? f.public_url : env_value("STUDYHUB_HUB_PUBLIC_URL").value_or("");
  o.listen = f.listen;
  o.port = f.port;
  o.workers = http ? f.workers : std::max(1u, f.workers);
  o.serve_http = http;
  o.docker_run_urls = f.docker_run_urls;
  if (o.docker_run_urls.empty()) o.docker_run_urls = split_list(env_value("STUDYHUB_SANDBOX_DOCKER_RUN_URL").value_or(""), ',');
  o.docker_run_token = env_value("STUDYHUB_SANDBOX_TOKEN").value_or("");
  if (!f.docker_run_image.empty()) o.docker_run_image = f.docker_run_image;
  if (f.max_file_bytes) o.limits.max_file_bytes = f.max_file_bytes;
  if (f.max_files) o.limits.max_files = f.max_files;
  if (f.max_deployment_bytes) o.limits.max_deployment_bytes = f.max_deployment_bytes;
  if (f.max_sites) o.quotas.max_sites = f.max_sites;
  if (f.max_queued) o.quotas.max_queued = f.max_queued;
  if (f.lease_seconds) o.lease.lease = std::chrono::seconds(f.lease_seconds);
  if (f.max_build_seconds) o.max_build_seconds = f.max_build_seconds;
  if (f.grace_seconds >= 0) o.shutdown_grace = std::chrono::seconds(f.grace_seconds);
  if (f.keep_versions) o.keep_versions = f.keep_versions;
  o.isolate = f.isolation != "none";
  o.sandbox.network = runner::parse_network(f.build_network).value();
  if (f.max_streams) o.max_streams_per_user = f.max_streams;
  for (auto [text, out, what] : {std::tuple{&f.memory, &o.sandbox.memory_bytes, "--memory"},
                                 std::tuple{&f.disk, &o.sandbox.disk_bytes, "--disk"},
                                 std::tuple{&f.max_stored, &o.max_stored_bytes_per_user, "--max-stored-bytes-per-user"}}) {
    if (text->empty()) continue;
    auto bytes = runner::parse_size(*text);
    if (!bytes || *bytes == 0) return Error{std::string(what) + " must be a size such as 2g or 512m"};
    *out = *bytes;
  }
  if (f.max_processes) o.sandbox.max_processes = f.max_processes;
  if (!f.build_user.empty()) o.sandbox.build_user = f.build_user;
  return o;
}

int run_service(const HubFlags& f, bool http) {
  auto options = service_options(f, http);
  if (!options) return usage_error(options.error().message);
  if (options->database.empty())
    return usage_error("the hub's database is needed: pass --database or set STUDYHUB_HUB_DATABASE_URL");
  if (options->data_dir.empty()) return usage_error("the hub's data folder is needed: pass --data or set STUDYHUB_HUB_DATA");
  sigset_t signals = block_stop_signals();  // before any thread starts
  (void)signals;
  auto hub = hub::open_hub(std::move(options.value()));
  if (!hub) return fail(hub.error().message);
  auto& h = *hub.value();
  return hub::run_hub(h, [&](uint16_t port) {
    if (http)
      std::cout << "hub listening on http://" << h.options.listen << ":" << port << " (public URL " << h.options.public_url
                << "; " << h.options.workers << " workers; Ctrl-C to stop)\n"
                << std::flush;
    else
      std::cout << "hub worker running (" << h.options.workers << " workers; Ctrl-C to stop)\n" << std::flush;
  });
}

}  // namespace

std::function<std::optional<int>()> add_hub_command(CLI::App& app) {
  auto flags = std::make_shared<HubFlags>();
  auto* hub = app.add_subcommand("hub", "The team's publishing service: API, sites and build workers on PostgreSQL");
  hub->require_subcommand(1);
  auto* serve = hub->add_subcommand("serve", "Run the HTTP API, serve the sites, and build with --workers N workers");
  add_service_flags(serve, *flags, true);
  auto* worker = hub->add_subcommand("worker", "Run build workers only (more build machines)");
  add_service_flags(worker, *flags, false);
  worker->add_option("--workers", flags->workers, "Build workers in this process (default 1)")->check(CLI::Range(1u, 64u));
  auto* migrate_cmd = hub->add_subcommand("migrate", "Create or upgrade the database schema");
  add_connection_flags(migrate_cmd, *flags);
  auto* user = hub->add_subcommand("user", "Manage users and their access tokens");
  user->require_subcommand(1);
  auto* add = user->add_subcommand("add", "Add a user; prints its new token, alone, on stdout (shown only once)");
  add->add_option("NAME", flags->user_name, "1 to 39 lowercase letters, digits and dashes")->required();
  add_connection_flags(add, *flags);
  auto* token = user->add_subcommand("token", "Print another token for a user (the old ones keep working)");
  token->add_option("NAME", flags->user_name)->required();
  add_connection_flags(token, *flags);
  auto* list = user->add_subcommand("list", "List users");
  list->add_flag("--json", flags->json, "Print JSON");
  add_connection_flags(list, *flags);
  auto* remove = user->add_subcommand("remove", "Remove a user: its tokens stop working at once, its sites go down");
  remove->add_option("NAME", flags->user_name)->required();
  remove->add_option("--data", flags->data, "The data folder, to take the user's sites down at once (else STUDYHUB_HUB_DATA)");
  add_connection_flags(remove, *flags);

  return [=]() -> std::optional<int> {
    const HubFlags& f = *flags;
    if (serve->parsed()) return run_service(f, true);
    if (worker->parsed()) return run_service(f, false);
    if (migrate_cmd->parsed())
      return with_database(f, [](hub::db::Connection&) {
        std::cout << "the database is at schema version " << hub::latest_schema_version() << "\n";
        return 0;
      });
    if (add->parsed() || token->parsed())
      return with_database(f, [&](hub::db::Connection& conn) {
        auto made = add->parsed() ? hub::add_user(conn, f.user_name) : hub::add_token(conn, f.user_name);
        if (!made) return fail(made.error().message);
        std::cout << made.value() << "\n";
        std::cerr << "studyhub-sandbox: the token above is shown only now; the hub keeps only its digest\n";
        return 0;
      });
    if (list->parsed())
      return with_database(f, [&](hub::db::Connection& conn) {
        auto users = hub::list_users(conn);
        if (!users) return fail(users.error().message);
        if (f.json) {
          nlohmann::json out = nlohmann::json::array();
          for (const auto& u : users.value())
            out.push_back({{"name", u.name}, {"createdAt", u.created_at}, {"sites", u.sites}, {"tokens", u.tokens}});
          std::cout << nlohmann::json{{"users", out}}.dump() << "\n";
          return 0;
        }
        for (const auto& u : users.value())
          std::cout << u.name << "\t" << u.created_at << "\t" << u.sites << " sites\t" << u.tokens << " tokens\n";
        return 0;
      });
    if (remove->parsed())
      return with_database(f, [&](hub::db::Connection& conn) {
        auto removed = hub::remove_user(conn, f.user_name);
        if (!removed) return fail(removed.error().message);
        if (!removed.value()) return fail("there is no user '" + f.user_name + "'");
        std::string data = !f.data.empty() ? f.data : env_value("STUDYHUB_HUB_DATA").value_or("");
        if (!data.empty()) {
          // Its sites and versions go at once; its build caches on this machine too (other
          // machines' before their next build; its blobs at the next collection).
          hub::SiteFiles(data).remove_user(f.user_name);
          std::filesystem::path work = !f.work_dir.empty() ? std::filesystem::path(f.work_dir) : std::filesystem::path(data) / "work";
          (void)hub::sweep_caches(conn, work);
        }
        std::cout << "removed " << f.user_name << ": its tokens no longer work"
                  << (data.empty() ? "; running hubs take its sites down within a minute" : " and its sites are down")
                  << "\n";
        return 0;
      });
    return std::nullopt;
  };
}

}  // namespace studyhub::cli
