#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <memory>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "core/log.h"
#include "core/version.h"
#include "rpc/framing.h"

namespace studyhub::cli {

int fail(const std::string& message) {
  std::cerr << "studyhub-sandbox: " << message << "\n";
  return 1;
}

int usage_error(const std::string& reason) {
  std::cerr << "studyhub-sandbox: " << reason << "\n"
            << "Run 'studyhub-sandbox --help' for usage.\n";
  return 2;
}

namespace {

// Each adder puts one subcommand on the app and returns what runs it once parsed (nullopt when
// another subcommand was chosen).
using Run = std::function<std::optional<int>()>;

Run add_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  o->max_message_bytes = rpc::kDefaultMaxMessageBytes;
  auto* cmd = app.add_subcommand("serve", "Speak JSON-RPC 2.0 (LSP framing) on stdin/stdout");
  auto stdio = std::make_shared<bool>(true);
  cmd->add_flag("--stdio", *stdio, "Use stdin/stdout (the default and only transport)");
  cmd->add_option("--max-message-bytes", o->max_message_bytes, "Refuse messages larger than this (default 64 MiB)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 32));
  return [=]() -> std::optional<int> {
    (void)stdio;
    if (!cmd->parsed()) return std::nullopt;
    return run_serve(*o);
  };
}

Run add_publish(CLI::App& app) {
  struct Flags {
    PublishCommandOptions publish;
    std::string name, target, docker_run_url, docker_run_image, hub_url;
    int build_timeout = 0;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("publish", "Build DIR and publish it; prints the URL");
  cmd->add_option("DIR", f->publish.dir, "Sandbox folder (default: the current directory)");
  cmd->add_option("--name", f->name, "Sandbox name in the URL (default: the folder's name)");
  cmd->add_flag("--json", f->publish.json, "One JSON object per line for each event; the last is the result");
  cmd->add_flag("--dry-run", f->publish.dry_run, "Show what would be sent, build nothing");
  cmd->add_option("--build-timeout", f->build_timeout, "Stop a build after this many seconds (default 600)")
      ->check(CLI::Range(1, 24 * 3600));
  cmd->add_option("--target", f->target, "Where to build: local (default), docker-run, or hub (the team's hub)")
      ->check(CLI::IsMember({"local", "docker-run", "hub"}));
  cmd->add_option("--hub-url", f->hub_url,
                  "The team's hub (else STUDYHUB_SANDBOX_HUB_URL or the settings file); the token comes from "
                  "STUDYHUB_SANDBOX_HUB_TOKEN");
  cmd->add_option("--docker-run-url", f->docker_run_url,
                  "docker-run service URL (else STUDYHUB_SANDBOX_DOCKER_RUN_URL or the settings file); the "
                  "token comes from STUDYHUB_SANDBOX_TOKEN");
  cmd->add_option("--docker-run-image", f->docker_run_image, "Image to build in (default vermusl/create-react-app)");
  cmd->add_flag("--isolate", f->publish.isolate,
                "Build on this machine in the sandbox the runner service uses (bubblewrap, limits, the "
                "network for installing only)");
  return [=]() -> std::optional<int> {
    if (!cmd->parsed()) return std::nullopt;
    PublishCommandOptions publish = f->publish;
    if (!f->name.empty()) publish.name = f->name;
    if (f->build_timeout > 0) publish.build_timeout_seconds = f->build_timeout;
    if (!f->target.empty()) publish.target.target = f->target;
    if (!f->docker_run_url.empty()) publish.target.url = f->docker_run_url;
    if (!f->docker_run_image.empty()) publish.target.image = f->docker_run_image;
    if (!f->hub_url.empty()) publish.target.hub_url = f->hub_url;
    return run_publish(publish);
  };
}

Run add_snapshot(CLI::App& app) {
  auto o = std::make_shared<SnapshotCommandOptions>();
  auto* cmd = app.add_subcommand("snapshot", "Show what a publish of DIR would send");
  cmd->add_option("DIR", o->dir, "Sandbox folder (default: the current directory)");
  cmd->add_flag("--json", o->json, "Print the full manifest as JSON");
  return [=]() -> std::optional<int> {
    if (!cmd->parsed()) return std::nullopt;
    return run_snapshot(*o);
  };
}

// list, rollback and unpublish: sites, here and on the hub.
template <int (*RunSite)(const SiteCommandOptions&)>
Run add_site_command(CLI::App& app, const char* name, const char* description) {
  auto o = std::make_shared<SiteCommandOptions>();
  auto hub_url = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(name, description);
  if (RunSite == run_list) {
    cmd->add_flag("--json", o->json, "Print the list as JSON");
    cmd->add_option("--hub-url", *hub_url, "List this hub's sites too (else STUDYHUB_SANDBOX_HUB_URL)");
  } else {
    cmd->add_option("NAME", o->name, "The site")->required();
    if (RunSite == run_rollback)
      cmd->add_option("SNAPSHOT", o->snapshot, "The version to go back to (default: the one before)");
    cmd->add_option("--target", o->target, "local (default) or hub")->check(CLI::IsMember({"local", "hub"}));
    cmd->add_option("--hub-url", *hub_url, "The hub (else STUDYHUB_SANDBOX_HUB_URL); token from STUDYHUB_SANDBOX_HUB_TOKEN");
    cmd->add_flag("--json", o->json, "Print the answer as JSON");
  }
  return [=]() -> std::optional<int> {
    if (!cmd->parsed()) return std::nullopt;
    SiteCommandOptions site = *o;
    if (!hub_url->empty()) site.hub_url = *hub_url;
    return RunSite(site);
  };
}

Run add_host(CLI::App& app) {
  auto o = std::make_shared<HostCommandOptions>();
  auto port = std::make_shared<uint16_t>(0);
  auto* cmd = app.add_subcommand("host", "Serve published sandboxes on 127.0.0.1 in the foreground");
  cmd->add_option("--listen", o->listen, "Address to listen on (default 127.0.0.1, loopback only)");
  auto* port_opt = cmd->add_option("--port", *port, "Port (default: the previous one, else any free port)");
  cmd->add_flag("--stop", o->stop, "Stop the background host of the state directory");
  cmd->add_flag("--background", o->background, "Run quietly (how publish starts the shared host)");
  return [=]() -> std::optional<int> {
    if (!cmd->parsed()) return std::nullopt;
    HostCommandOptions host = *o;
    if (port_opt->count() > 0) host.port = *port;
    return run_host(host);
  };
}

Run add_runner(CLI::App& app) {
  struct Flags {
    RunnerCommandOptions runner;
    std::string listen;
    uint16_t port = 0;
    int exec = 0;
    uint64_t output = 0;
  };
  auto f = std::make_shared<Flags>();
  RunnerCommandOptions& r = f->runner;
  auto* cmd = app.add_subcommand(
      "runner", "Serve the docker-run API (GET /, GET /version, POST /run) backed by the local runner; needs "
                "STUDYHUB_SANDBOX_TOKEN or API_ACCESS_TOKEN");
  auto* listen_opt =
      cmd->add_option("--listen", f->listen, "Address (else SERVER_LISTEN_ADDR, else 127.0.0.1: loopback only)");
  auto* port_opt = cmd->add_option("--port", f->port, "Port (else SERVER_LISTEN_PORT, else 8088; 0: any free port)");
  auto* exec_opt = cmd->add_option("--max-execution-time", f->exec,
                                   "Seconds a build may run (else RUN_MAX_EXECUTION_TIME, else 900)")
                       ->check(CLI::Range(1, 24 * 3600));
  auto* output_opt = cmd->add_option("--max-output-size", f->output,
                                     "Bytes of output a build may write (else RUN_MAX_OUTPUT_SIZE, else 64 MiB)")
                         ->check(CLI::Range(uint64_t{1024}, uint64_t{1} << 34));
  cmd->add_option("--max-request-size", r.max_request_bytes, "Largest request body in bytes (default 16 MiB)")
      ->check(CLI::Range(uint64_t{1024}, uint64_t{1} << 32));
  cmd->add_option("--max-queue", r.max_queue, "Requests that may wait for a build (default 16)")
      ->check(CLI::Range(size_t{1}, size_t{1000}));
  cmd->add_option("--image", r.images, "Accept only this image (repeatable; default: any)");
  cmd->add_option("--isolation", r.isolation,
                  "sandbox (default: every build in bubblewrap with limits) or none (builds run as plain "
                  "processes of this service: only for code you trust)")
      ->check(CLI::IsMember({"sandbox", "none"}));
  cmd->add_option("--build-network", r.build_network,
                  "Network for builds: install (default: the install step only), none, all "
                  "(DOCKER_CONTAINER_NETWORK_DISABLED=true means none)")
      ->check(CLI::IsMember({"install", "none", "all"}));
  cmd->add_option("--memory", r.memory, "Memory of a build, e.g. 2g (else DOCKER_CONTAINER_MEMORY, else 2g)");
  cmd->add_option("--max-processes", r.max_processes,
                  "Processes of a build at once (else DOCKER_CONTAINER_ULIMIT_NPROC_HARD, else 512)")
      ->check(CLI::Range(uint64_t{16}, uint64_t{1} << 20));
  cmd->add_option("--disk", r.disk,
                  "Size of a build's work folder, e.g. 2g (else size= of DOCKER_CONTAINER_WORK_DIR_OPTIONS, else 2g)");
  cmd->add_option("--build-user", r.build_user,
                  "User builds run as when the runner is root (else DOCKER_CONTAINER_USER, else nobody)");
  return [=]() -> std::optional<int> {
    if (!cmd->parsed()) return std::nullopt;
    RunnerCommandOptions runner = f->runner;
    if (listen_opt->count() > 0) runner.listen = f->listen;
    if (port_opt->count() > 0) runner.port = f->port;
    if (exec_opt->count() > 0) runner.max_execution_seconds = f->exec;
    if (output_opt->count() > 0) runner.max_output_bytes = f->output;
    return run_runner(runner);
  };
}

struct Command {
  std::string_view name;
  Run (*add)(CLI::App&);
};

// In the order --help lists them.
constexpr Command kCommands[] = {
    {"serve", add_serve},
    {"publish", add_publish},
    {"snapshot", add_snapshot},
    {"list", [](CLI::App& app) { return add_site_command<run_list>(app, "list", "List published sandboxes (and the hub's, when one is configured)"); }},
    {"rollback", [](CLI::App& app) { return add_site_command<run_rollback>(app, "rollback", "Point a site back at an earlier version, without building"); }},
    {"unpublish", [](CLI::App& app) { return add_site_command<run_unpublish>(app, "unpublish", "Take a site down"); }},
    {"host", add_host},
    {"runner", add_runner},
    {"hub", add_hub_command},
};

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"Publish a front-end sandbox to a live, shareable URL.", "studyhub-sandbox"};
  app.set_version_flag("--version", std::string(kServerName) + " " + kVersion);
  app.require_subcommand(1);
  app.fallthrough();

  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "Server log on stderr: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  // Building every subcommand's options costs more than the rest of a quick command's start-up
  // (the editor runs `snapshot` on every publish): when the first argument names a subcommand,
  // only that one is built, and `--version` alone builds none. Anything else (--help, a
  // misspelled name, options before the subcommand) gets them all, for help and errors.
  std::string_view first = argc > 1 ? argv[1] : "";
  bool named = std::any_of(std::begin(kCommands), std::end(kCommands), [&](const Command& c) { return c.name == first; });
  bool version_only = argc == 2 && first == "--version";
  std::vector<Run> runs;
  for (const auto& command : kCommands)
    if (named ? command.name == first : !version_only) runs.push_back(command.add(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }
  log::set_level(*log::parse_level(log_level));
  for (const auto& run_command : runs)
    if (auto status = run_command()) return *status;
  return usage_error("a subcommand is required");
}

}  // namespace studyhub::cli
