#include "pipeline/build.h"

#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "archive/base64.h"
#include "archive/extract.h"
#include "core/text.h"
#include "pipeline/diagnostics.h"
#include "runner/docker_run_client.h"
#include "runner/local_runner.h"

namespace studyhub::pipeline {

namespace fs = std::filesystem;

namespace {

constexpr size_t kLogTailLines = 60;

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

// A remote build's output arrives all at once with the result; the log shows it then. On success
// stdout is the site, not log.
void replay_remote_log(const runner::RunResult& r, const std::function<void(std::string_view)>& on_log) {
  if (!r.error.empty()) for_each_line(r.stdout_text, on_log);
  for_each_line(r.stderr_text, on_log);
}

std::unique_ptr<runner::Runner> make_runner(const BuildRequest& request) {
  if (request.target.docker()) return std::make_unique<runner::DockerRunClient>(request.target.docker_run);
  return std::make_unique<runner::LocalRunner>(
      request.work_dir,
      runner::ProcessLimits{.timeout = std::chrono::seconds(request.timeout_seconds), .output_cap = request.output_cap},
      request.pid_file, request.sandbox);
}

}  // namespace

Result<BuiltSite, PublishFailure> build_site(const BuildRequest& request, const fs::path& staging, std::stop_token stop,
                                             const EventSink& emit) {
  const snapshot::Snapshot& snap = *request.snapshot;
  const std::string folder = snap.folder.string();
  auto fail = [&](Error e, std::vector<Diagnostic> diagnostics = {}, std::string log = {}) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    return PublishFailure{std::move(e), std::move(diagnostics), std::move(log), folder};
  };

  runner::BuiltPayload built;
  if (request.payload) {
    built = *request.payload;
  } else {
    auto payload = runner::build_payload(snap, request.objects_dir, request.settings);
    if (!payload) return fail(payload.error());
    if (request.target.docker()) runner::prefer_image_build_commands(payload.value(), request.target.docker_run.language);
    built = std::move(payload.value());
  }

  auto builder = make_runner(request);
  const std::string where = builder->where();
  const bool remote = request.target.docker();
  if (remote)
    for (const auto& url : request.target.docker_run.urls) {
      std::string host = runner::url_host(url);
      if (url.starts_with("http://") && !host.starts_with("127.") && !host.starts_with("localhost") &&
          !host.starts_with("[::1]"))
        emit(log_event(Stage::build, "warning: " + host +
                                    " is reached over plain http, so the access token crosses the network unencrypted; "
                                    "use an https:// URL"));
    }

  emit(stage_event(Stage::build, "building with the " + built.preset.name + " preset on " + where, 20));
  LogTail tail;
  auto on_log = [&](std::string_view line) {
    tail.add(line);
    emit(log_event(Stage::build, std::string(line)));
  };
  std::atomic<bool> building{true};
  std::jthread ticker;
  if (!remote) {
    ticker = std::jthread([&](std::stop_token) {
      // A local build has no progress channel: say how long it has been building.
      for (int seconds = 1; building; ++seconds) {
        for (int i = 0; i < 10 && building; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (building)
          emit(progress_event(Stage::build, "building… " + std::to_string(seconds) + " s", 20));
      }
    });
  }
  std::string last_step = "build";
  auto run = builder->run(built.payload, {.stop = stop, .on_log = on_log,
                                          .on_step = [&](const std::string& step, const std::string& message, int pct) {
                                            int base = step == "upload" ? 20 : step == "build" ? 30 : 70;
                                            int percent = base + (step == "build" ? 0 : pct / 10);
                                            emit(Event{.kind = step != last_step ? Event::Kind::stage : Event::Kind::progress,
                                                       .stage = stage_named(step).value_or(Stage::build),
                                                       .message = message, .percent = percent});
                                            last_step = step;
                                          }});
  building = false;
  ticker = {};
  if (!run) return fail(run.error(), {}, tail.text());
  if (remote) replay_remote_log(run.value(), on_log);
  if (!run->error.empty()) {
    std::set<std::string> known;
    for (const auto& f : snap.files) known.insert(f.path);
    auto diagnostics =
        parse_diagnostics(run->stderr_text + "\n" + run->stdout_text, remote ? fs::path() : request.work_dir, known);
    if (!diagnostics.empty()) emit(Event{.kind = Event::Kind::diagnostics, .diagnostics = diagnostics});
    std::string message = (remote ? "the build on " + where + " failed (" : std::string("the build failed (")) + run->error + ")";
    if (!diagnostics.empty())
      message += ": " + diagnostics.front().file + ":" + std::to_string(diagnostics.front().line) + ": " +
                 diagnostics.front().message;
    else
      message += "; see the build log";
    std::string log = tail.text();
    if (log.empty()) log = run->stderr_text.substr(run->stderr_text.size() > 4000 ? run->stderr_text.size() - 4000 : 0);
    return fail(Error{message}, diagnostics, log);
  }
  // A remote answer is not ours to trust: say whose it was when it cannot be used (but a failure
  // of this machine's disk is nobody's answer).
  auto unusable = [&](const Error& e) {
    return remote && e.code != "io" ? Error{"the answer from " + where + " is unusable: " + e.message, false, e.code} : e;
  };

  emit(stage_event(Stage::extract, "unpacking the built site", 80));
  auto extracted = archive::extract_site_base64(run->stdout_text, staging);
  if (!extracted) return fail(unusable(extracted.error()));
  emit(progress_event(Stage::extract, std::to_string(extracted->files) + " files in the site", 90));
  return BuiltSite{staging, extracted->files, built.preset.name};
}

}  // namespace studyhub::pipeline
