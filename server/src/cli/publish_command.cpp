#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/terminal_renderer.h"
#include "core/state_dir.h"
#include "core/text.h"
#include "host/host_control.h"
#include "pipeline/publish.h"
#include "publish/store.h"
#include "runner/docker_run_client.h"
#include "snapshot/snapshot_json.h"

namespace studyhub::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::atomic<bool> g_interrupted{false};
void on_interrupt(int) { g_interrupted = true; }

void print_json_line(const json& j) {
  std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n" << std::flush;
}

int dry_run(const pipeline::PublishRequest& request, const pipeline::PipelineEnv& env, bool as_json) {
  auto plan = pipeline::plan_publish(request, env, {}, [](const pipeline::Event&) {});
  if (!plan) return fail("publish failed: " + plan.error().message);
  auto payload = pipeline::payload_for(plan.value(), env.state_dir);
  if (!payload) return fail("publish failed: " + payload.error().message);
  json files = json::array();
  for (const auto& f : payload->payload.files) files.push_back({{"name", f.name}, {"bytes", f.content.size()}});
  json out{{"dryRun", true},
           {"name", plan->name},
           {"snapshotId", plan->snapshot.id},
           {"preset", payload->preset.name},
           {"files", files},
           {"binaryFiles", payload->binary_files},
           {"emptyFiles", payload->empty_files},
           {"links", payload->links},
           {"payloadBytes", payload->bytes},
           {"language", payload->payload.language},
           {"command", payload->payload.command ? json(*payload->payload.command) : json(nullptr)},
           {"target", plan->target.name()},
           {"excluded", snapshot::to_json(plan->snapshot, false)["excluded"]}};
  if (as_json) {
    print_json_line(out);
    return 0;
  }
  std::cout << "would publish " << plan->name << " (snapshot " << plan->snapshot.id << ")\n"
            << "  preset   " << payload->preset.name << "\n"
            << "  target   " << (plan->target.docker() ? "docker-run at " + runner::DockerRunClient(plan->target.docker_run).where() +
                                                         " (image " + plan->target.docker_run.image + ")"
                                                   : std::string("this machine"))
            << "\n"
            << "  payload  " << payload->payload.files.size() << " files, " << payload->bytes << " bytes ("
            << payload->binary_files << " binary, " << payload->empty_files << " empty, " << payload->links
            << " links)\n";
  for (const auto& f : payload->payload.files) std::cout << "    " << f.name << "\n";
  if (!payload->payload.command) {
    std::cout << "  command  none: the image runs its " << payload->payload.language << " build commands\n";
    return 0;
  }
  std::cout << "  command\n";
  for_each_line(*payload->payload.command, [](std::string_view line) { std::cout << "    " << line << "\n"; });
  return 0;
}

}  // namespace

int run_publish(const PublishCommandOptions& o) {
  if (o.name && !publish::is_valid_name(*o.name))
    return usage_error("--name must be lowercase letters, digits and dashes (at most 63), e.g. " +
                       publish::slugify(*o.name));
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  std::error_code ec;
  fs::path folder = fs::absolute(o.dir, ec);
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  pipeline::PipelineEnv env{.state_dir = state_dir.value(),
                            .host_url = [&] { return host::ensure_host(state_dir.value(), self); }};
  pipeline::PublishRequest request{.folder = folder, .name = o.name, .build_timeout_seconds = o.build_timeout_seconds,
                                   .target_layers = {o.target}, .isolate = o.isolate};
  if (o.dry_run) return dry_run(request, env, o.json);

  // Ctrl-C cancels the build (its whole process group) instead of leaving it running.
  std::stop_source stop;
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  std::jthread watcher([&](std::stop_token done) {
    while (!done.stop_requested()) {
      if (g_interrupted) stop.request_stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  TerminalRenderer terminal(::isatty(STDERR_FILENO));
  pipeline::EventSink sink = o.json ? pipeline::EventSink([](const pipeline::Event& e) { print_json_line(to_json(e)); })
                                    : pipeline::EventSink(std::ref(terminal));
  auto outcome = pipeline::run_publish(request, env, stop.get_token(), sink);
  watcher = {};
  if (!o.json) terminal.clear_line();

  if (!outcome) {
    const auto& f = outcome.error();
    if (o.json) {
      print_json_line({{"event", "error"}, {"error", pipeline::to_json(f)}});
    } else {
      if (!f.log_tail.empty() && !f.error.cancelled) std::cerr << "--- last lines of the build log ---\n" << f.log_tail;
      for (const auto& d : f.diagnostics)
        std::cerr << (fs::path(f.folder) / d.file).string() << ":" << d.line << ":" << d.column << ": " << d.severity
                  << ": " << d.message << "\n";
    }
    return fail(f.error.cancelled ? "publish cancelled" : "publish failed: " + f.error.message);
  }
  const auto& r = outcome.value();
  if (o.json) {
    print_json_line(pipeline::to_json(r));
  } else {
    std::cerr << "published " << r.name << (r.cached ? " (already built, no rebuild)" : "") << " in "
              << r.duration_ms << " ms; immutable: " << r.immutable_url << "\n";
    std::cout << r.url << "\n";
  }
  return 0;
}

}  // namespace studyhub::cli
