#include "runner/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

extern char** environ;

namespace studyhub::runner {

namespace {

bool looks_secret(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  for (const char* word : {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "AUTH", "CREDENTIAL", "PRIVATE", "_KEY"})
    if (upper.find(word) != std::string::npos) return true;
  return false;
}

bool allowed(std::string_view name) {
  static const char* const kExact[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "SHELL",
                                       "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "http_proxy",
                                       "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"};
  for (const char* e : kExact)
    if (name == e) return true;
  if (name.starts_with("LC_")) return true;
  if (name.starts_with("npm_config_") || name.starts_with("NPM_CONFIG_")) return !looks_secret(name);
  return false;
}

// Kills the group, politely first; returns once the leader is reaped.
void kill_group(pid_t pid, int& status) {
  ::killpg(pid, SIGTERM);
  for (int i = 0; i < 50; ++i) {  // up to half a second for a clean exit
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ::killpg(pid, SIGKILL);  // stragglers of the group
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::killpg(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
}

}  // namespace

void stop_orphaned_build(const std::filesystem::path& pid_file) {
  FILE* f = std::fopen(pid_file.c_str(), "r");
  if (!f) return;
  int pid = 0;
  bool read = std::fscanf(f, "%d", &pid) == 1;
  std::fclose(f);
  // Only a group whose leader still runs a shell of ours; a reused pid of another program is left alone.
  if (read && pid > 1 && ::getpgid(pid) == pid) ::killpg(pid, SIGKILL);
  std::remove(pid_file.c_str());
}

std::vector<std::string> scrubbed_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && allowed(kv.substr(0, eq))) env.emplace_back(kv);
  }
  if (std::none_of(env.begin(), env.end(), [](auto& s) { return s.starts_with("PATH="); }))
    env.emplace_back("PATH=/usr/local/bin:/usr/bin:/bin");
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

ProcessOutcome run_process(const ProcessSpec& spec, const ProcessLimits& limits, std::stop_token stop,
                           const std::function<void(std::string_view)>& on_line, bool stream_stdout) {
  ProcessOutcome out;
  int in[2], o[2], e[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(o, O_CLOEXEC) != 0 || ::pipe2(e, O_CLOEXEC) != 0) {
    out.error = std::string("cannot create pipes: ") + std::strerror(errno);
    return out;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, o[1], 1);
  posix_spawn_file_actions_adddup2(&actions, e[1], 2);
  posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, so one killpg reaches every descendant
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);  // SIGPIPE ignored here must not be ignored there

  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& v : spec.env) envp.push_back(const_cast<char*>(v.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(o[1]);
  ::close(e[1]);
  if (rc != 0) {
    out.error = "cannot start " + spec.argv[0] + ": " + std::strerror(rc);
    for (int fd : {in[1], o[0], e[0]}) ::close(fd);
    return out;
  }
  if (!spec.pid_file.empty()) {
    if (FILE* f = std::fopen(spec.pid_file.c_str(), "w")) {
      std::fprintf(f, "%d\n", static_cast<int>(pid));
      std::fclose(f);
    }
  }
  if (!spec.stdin_text.empty()) {
    // Small inputs only (the payload's stdin); a full pipe must not block us forever.
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);
    [[maybe_unused]] ssize_t n = ::write(in[1], spec.stdin_text.data(), spec.stdin_text.size());
  }
  ::close(in[1]);

  auto started = std::chrono::steady_clock::now();
  std::string partial[2];
  pollfd fds[2] = {{o[0], POLLIN, 0}, {e[0], POLLIN, 0}};
  int open_fds = 2, status = 0;
  bool reaped = false;
  char buf[65536];
  auto emit_lines = [&](int which, std::string_view chunk) {
    if (!on_line || (which == 0 && !stream_stdout)) return;
    std::string& p = partial[which];
    p.append(chunk);
    size_t start = 0;
    for (size_t nl; (nl = p.find('\n', start)) != std::string::npos; start = nl + 1) on_line(std::string_view(p).substr(start, nl - start));
    p.erase(0, start);
  };

  while (open_fds > 0) {
    if (stop.stop_requested()) out.cancelled = true;
    if (std::chrono::steady_clock::now() - started > limits.timeout) out.timed_out = true;
    if (out.stdout_text.size() + out.stderr_text.size() > limits.output_cap) out.output_capped = true;
    if (out.cancelled || out.timed_out || out.output_capped) {
      kill_group(pid, status);
      reaped = true;
      break;
    }
    int ready = ::poll(fds, 2, 100);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? out.stdout_text : out.stderr_text).append(buf, static_cast<size_t>(n));
      emit_lines(i, std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  for (int i = 0; i < 2; ++i)
    if (!partial[i].empty()) emit_lines(i, "\n");
  if (!reaped) {
    // Output closed; the leader may still be running (it closed its pipes) — bound that wait too.
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (stop.stop_requested() || std::chrono::steady_clock::now() - started > limits.timeout) {
        out.cancelled = stop.stop_requested();
        out.timed_out = !out.cancelled;
        kill_group(pid, status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::killpg(pid, SIGKILL);  // background children left behind by the build
  }
  if (!spec.pid_file.empty()) std::remove(spec.pid_file.c_str());
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  return out;
}

}  // namespace studyhub::runner
