#include "runner/local_runner.h"

#include <fstream>

#include "core/relpath.h"

namespace studyhub::runner {

namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::optional<Language> code_runner_language(const std::string& name, const std::string& first_file) {
  if (name == "buildcreatereactapp")
    return Language{{"npm install 2>&1", "npm install create-react-app react-scripts 2>&1", "npm run build"},
                    "tar -cz build | base64"};
  if (name == "python") return Language{{}, "python3 " + shell_quote(first_file)};
  if (name == "javascript") return Language{{}, "node " + shell_quote(first_file)};
  if (name == "bash") return Language{{}, "bash " + shell_quote(first_file)};
  return std::nullopt;
}

namespace {

Status prepare_work_dir(const fs::path& dir, const Payload& payload) {
  std::error_code ec;
  // The folder is emptied below: through a planted link that would empty another folder.
  if (fs::is_symlink(dir, ec))
    return Error{"the build folder " + dir.string() + " is a link, which could redirect the build's writes; remove it"};
  fs::create_directories(dir, ec);
  if (ec) return Error{"cannot create the build folder " + dir.string() + ": " + ec.message()};
  // Start from the payload alone; only installed dependencies carry over.
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename() != "node_modules") fs::remove_all(e.path(), ec);
  for (const auto& f : payload.files) {
    if (!relpath::problem(f.name).empty()) return Error{"the payload holds an unsafe file name", false, "request.files"};
    fs::path dest = dir / f.name;
    fs::create_directories(dest.parent_path(), ec);
    std::ofstream out(dest, std::ios::binary | std::ios::trunc);
    if (!out.write(f.content.data(), static_cast<std::streamsize>(f.content.size())))
      return Error{"cannot write " + dest.string() + " for the build; is the disk full?"};
  }
  return ok_status();
}

Error limit_error(const ProcessOutcome& o, const ProcessLimits& limits) {
  if (o.cancelled) return cancelled_error();
  if (o.timed_out)
    return Error{"the build ran longer than its limit of " +
                     std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limits.timeout).count()) +
                     " s and was stopped; raise buildTimeoutSeconds in .studyhub-sandbox.json if it needs longer",
                 false, std::string(kTimeLimitCode)};
  return Error{"the build wrote more than " + std::to_string(limits.output_cap) +
                   " bytes of output and was stopped; check it for a runaway loop",
               false, std::string(kOutputLimitCode)};
}

}  // namespace

Result<RunResult> run_local(const Payload& payload, const LocalRunOptions& options) {
  if (options.sandbox) {
    SandboxRun run = *options.sandbox;
    run.limits = options.limits;
    return run_sandboxed(payload, run, options.stop, options.on_log);
  }
  auto prepared = prepare_work_dir(options.work_dir, payload);
  if (!prepared) return prepared.error();

  std::vector<std::string> steps;
  std::string run_command;
  if (payload.command) {
    run_command = *payload.command;
  } else if (auto lang = code_runner_language(payload.language, payload.files.empty() ? "" : payload.files.front().name)) {
    steps = lang->build;
    run_command = lang->run;
  } else {
    return Error{"the local runner does not know the language '" + payload.language +
                 "' (it knows buildcreatereactapp, python, javascript, bash); send a command"};
  }

  ProcessSpec spec{.argv = {"/bin/sh", "-c", ""}, .cwd = options.work_dir, .env = scrubbed_environment(options.extra_env),
                   .stdin_text = payload.stdin_text.value_or(""), .pid_file = options.pid_file};
  RunResult result;
  auto started = std::chrono::steady_clock::now();
  auto remaining = [&] {
    auto used = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    return ProcessLimits{.timeout = std::max(std::chrono::milliseconds(1), options.limits.timeout - used),
                         .output_cap = options.limits.output_cap};
  };
  for (const auto& step : steps) {  // build commands: their output is the log
    spec.argv[2] = step;
    ProcessOutcome o = run_process(spec, remaining(), options.stop, options.on_log, /*stream_stdout=*/true);
    if (!o.error.empty()) return Error{o.error};
    if (o.cancelled || o.timed_out || o.output_capped) return limit_error(o, options.limits);
    if (o.exit_code != 0) {
      result.stdout_text = std::move(o.stdout_text);
      result.stderr_text = std::move(o.stderr_text);
      result.error = "Exit code: " + std::to_string(o.exit_code != -1 ? o.exit_code : 128 + o.signal);
      return result;
    }
  }
  spec.argv[2] = run_command;
  ProcessOutcome o = run_process(spec, remaining(), options.stop, options.on_log, /*stream_stdout=*/false);
  if (!o.error.empty()) return Error{o.error};
  if (o.cancelled || o.timed_out || o.output_capped) return limit_error(o, options.limits);
  result.stdout_text = std::move(o.stdout_text);
  result.stderr_text = std::move(o.stderr_text);
  if (o.exit_code != 0) result.error = "Exit code: " + std::to_string(o.exit_code != -1 ? o.exit_code : 128 + o.signal);
  return result;
}

}  // namespace studyhub::runner

namespace studyhub::runner {

LocalRunner::LocalRunner(std::filesystem::path work_dir, ProcessLimits limits, std::filesystem::path pid_file,
                         std::optional<SandboxRun> sandbox)
    : work_dir_(std::move(work_dir)), pid_file_(std::move(pid_file)), limits_(limits), sandbox_(std::move(sandbox)) {}

Result<RunResult> LocalRunner::run(const Payload& payload, const RunObserver& observer) {
  return run_local(payload, {.work_dir = work_dir_, .limits = limits_, .stop = observer.stop, .on_log = observer.on_log,
                             .extra_env = {}, .pid_file = pid_file_, .sandbox = sandbox_});
}

}  // namespace studyhub::runner
