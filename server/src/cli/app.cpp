#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <iostream>

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

int run(int argc, char** argv) {
  CLI::App app{"Publish a front-end sandbox to a live, shareable URL.", "studyhub-sandbox"};
  app.set_version_flag("--version", std::string(kServerName) + " " + kVersion);
  app.require_subcommand(1);
  app.fallthrough();

  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "Server log on stderr: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  ServeOptions serve;
  serve.max_message_bytes = rpc::kDefaultMaxMessageBytes;
  auto* serve_cmd = app.add_subcommand("serve", "Speak JSON-RPC 2.0 (LSP framing) on stdin/stdout");
  bool stdio = true;
  serve_cmd->add_flag("--stdio", stdio, "Use stdin/stdout (the default and only transport)");
  serve_cmd->add_option("--max-message-bytes", serve.max_message_bytes,
                        "Refuse messages larger than this (default 64 MiB)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 32));

  std::string dir = ".";
  bool json_output = false;
  PublishCommandOptions publish;
  std::string name;
  int build_timeout = 0;
  auto* publish_cmd = app.add_subcommand("publish", "Build DIR and publish it; prints the URL");
  publish_cmd->add_option("DIR", publish.dir, "Sandbox folder (default: the current directory)");
  publish_cmd->add_option("--name", name, "Sandbox name in the URL (default: the folder's name)");
  publish_cmd->add_flag("--json", publish.json, "One JSON object per line for each event; the last is the result");
  publish_cmd->add_flag("--dry-run", publish.dry_run, "Show what would be sent, build nothing");
  publish_cmd->add_option("--build-timeout", build_timeout, "Stop a build after this many seconds (default 600)")
      ->check(CLI::Range(1, 24 * 3600));
  std::string target, docker_run_url, docker_run_image, hub_url;
  publish_cmd->add_option("--target", target, "Where to build: local (default), docker-run, or hub (the team's hub)")
      ->check(CLI::IsMember({"local", "docker-run", "hub"}));
  publish_cmd->add_option("--hub-url", hub_url,
                          "The team's hub (else STUDYHUB_SANDBOX_HUB_URL or the settings file); the token comes from "
                          "STUDYHUB_SANDBOX_HUB_TOKEN");
  publish_cmd->add_option("--docker-run-url", docker_run_url,
                          "docker-run service URL (else STUDYHUB_SANDBOX_DOCKER_RUN_URL or the settings file); the "
                          "token comes from STUDYHUB_SANDBOX_TOKEN");
  publish_cmd->add_option("--docker-run-image", docker_run_image, "Image to build in (default vermusl/create-react-app)");
  publish_cmd->add_flag("--isolate", publish.isolate,
                        "Build on this machine in the sandbox the runner service uses (bubblewrap, limits, the "
                        "network for installing only)");

  auto* snapshot_cmd = app.add_subcommand("snapshot", "Show what a publish of DIR would send");
  snapshot_cmd->add_option("DIR", dir, "Sandbox folder (default: the current directory)");
  snapshot_cmd->add_flag("--json", json_output, "Print the full manifest as JSON");

  SiteCommandOptions site;
  std::string site_hub_url;
  auto* list_cmd = app.add_subcommand("list", "List published sandboxes (and the hub's, when one is configured)");
  list_cmd->add_flag("--json", site.json, "Print the list as JSON");
  list_cmd->add_option("--hub-url", site_hub_url, "List this hub's sites too (else STUDYHUB_SANDBOX_HUB_URL)");
  auto* rollback_cmd = app.add_subcommand("rollback", "Point a site back at an earlier version, without building");
  rollback_cmd->add_option("NAME", site.name, "The site")->required();
  rollback_cmd->add_option("SNAPSHOT", site.snapshot, "The version to go back to (default: the one before)");
  auto* unpublish_cmd = app.add_subcommand("unpublish", "Take a site down");
  unpublish_cmd->add_option("NAME", site.name, "The site")->required();
  for (auto* cmd : {rollback_cmd, unpublish_cmd}) {
    cmd->add_option("--target", site.target, "local (default) or hub")->check(CLI::IsMember({"local", "hub"}));
    cmd->add_option("--hub-url", site_hub_url, "The hub (else STUDYHUB_SANDBOX_HUB_URL); token from STUDYHUB_SANDBOX_HUB_TOKEN");
    cmd->add_flag("--json", site.json, "Print the answer as JSON");
  }

  HostCommandOptions host;
  uint16_t host_port = 0;
  auto* host_cmd = app.add_subcommand("host", "Serve published sandboxes on 127.0.0.1 in the foreground");
  host_cmd->add_option("--listen", host.listen, "Address to listen on (default 127.0.0.1, loopback only)");
  auto* port_opt = host_cmd->add_option("--port", host_port, "Port (default: the previous one, else any free port)");
  host_cmd->add_flag("--stop", host.stop, "Stop the background host of the state directory");
  host_cmd->add_flag("--background", host.background, "Run quietly (how publish starts the shared host)");

  RunnerCommandOptions runner;
  std::string runner_listen;
  uint16_t runner_port = 0;
  int runner_exec = 0;
  uint64_t runner_output = 0;
  auto* runner_cmd = app.add_subcommand(
      "runner", "Serve the docker-run API (GET /, GET /version, POST /run) backed by the local runner; needs "
                "STUDYHUB_SANDBOX_TOKEN or API_ACCESS_TOKEN");
  auto* runner_listen_opt = runner_cmd->add_option("--listen", runner_listen,
                                                   "Address (else SERVER_LISTEN_ADDR, else 127.0.0.1: loopback only)");
  auto* runner_port_opt = runner_cmd->add_option("--port", runner_port, "Port (else SERVER_LISTEN_PORT, else 8088; 0: any free port)");
  auto* runner_exec_opt = runner_cmd->add_option("--max-execution-time", runner_exec,
                                                 "Seconds a build may run (else RUN_MAX_EXECUTION_TIME, else 900)")
                              ->check(CLI::Range(1, 24 * 3600));
  auto* runner_output_opt = runner_cmd->add_option("--max-output-size", runner_output,
                                                   "Bytes of output a build may write (else RUN_MAX_OUTPUT_SIZE, else 64 MiB)")
                                ->check(CLI::Range(uint64_t{1024}, uint64_t{1} << 34));
  runner_cmd->add_option("--max-request-size", runner.max_request_bytes, "Largest request body in bytes (default 16 MiB)")
      ->check(CLI::Range(uint64_t{1024}, uint64_t{1} << 32));
  runner_cmd->add_option("--max-queue", runner.max_queue, "Requests that may wait for a build (default 16)")
      ->check(CLI::Range(size_t{1}, size_t{1000}));
  runner_cmd->add_option("--image", runner.images, "Accept only this image (repeatable; default: any)");
  runner_cmd->add_option("--isolation", runner.isolation,
                         "sandbox (default: every build in bubblewrap with limits) or none (builds run as plain "
                         "processes of this service: only for code you trust)")
      ->check(CLI::IsMember({"sandbox", "none"}));
  runner_cmd->add_option("--build-network", runner.build_network,
                         "Network for builds: install (default: the install step only), none, all "
                         "(DOCKER_CONTAINER_NETWORK_DISABLED=true means none)")
      ->check(CLI::IsMember({"install", "none", "all"}));
  runner_cmd->add_option("--memory", runner.memory, "Memory of a build, e.g. 2g (else DOCKER_CONTAINER_MEMORY, else 2g)");
  runner_cmd->add_option("--max-processes", runner.max_processes,
                         "Processes of a build at once (else DOCKER_CONTAINER_ULIMIT_NPROC_HARD, else 512)")
      ->check(CLI::Range(uint64_t{16}, uint64_t{1} << 20));
  runner_cmd->add_option("--disk", runner.disk,
                         "Size of a build's work folder, e.g. 2g (else size= of DOCKER_CONTAINER_WORK_DIR_OPTIONS, else 2g)");
  runner_cmd->add_option("--build-user", runner.build_user,
                         "User builds run as when the runner is root (else DOCKER_CONTAINER_USER, else nobody)");

  auto run_hub = add_hub_command(app);

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

  if (serve_cmd->parsed()) return run_serve(serve);
  if (auto status = run_hub()) return *status;
  if (snapshot_cmd->parsed()) return run_snapshot({.dir = dir, .json = json_output});
  if (publish_cmd->parsed()) {
    if (!name.empty()) publish.name = name;
    if (build_timeout > 0) publish.build_timeout_seconds = build_timeout;
    if (!target.empty()) publish.target.target = target;
    if (!docker_run_url.empty()) publish.target.url = docker_run_url;
    if (!docker_run_image.empty()) publish.target.image = docker_run_image;
    if (!hub_url.empty()) publish.target.hub_url = hub_url;
    return run_publish(publish);
  }
  if (!site_hub_url.empty()) site.hub_url = site_hub_url;
  if (list_cmd->parsed()) return run_list(site);
  if (rollback_cmd->parsed()) return run_rollback(site);
  if (unpublish_cmd->parsed()) return run_unpublish(site);
  if (host_cmd->parsed()) {
    if (port_opt->count() > 0) host.port = host_port;
    return run_host(host);
  }
  if (runner_cmd->parsed()) {
    if (runner_listen_opt->count() > 0) runner.listen = runner_listen;
    if (runner_port_opt->count() > 0) runner.port = runner_port;
    if (runner_exec_opt->count() > 0) runner.max_execution_seconds = runner_exec;
    if (runner_output_opt->count() > 0) runner.max_output_bytes = runner_output;
    return run_runner(runner);
  }
  return usage_error("a subcommand is required");
}

}  // namespace studyhub::cli
