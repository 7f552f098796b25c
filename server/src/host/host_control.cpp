#include "host/host_control.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/file_io.h"
#include "core/file_lock.h"
#include "net/http.h"

extern char** environ;

namespace studyhub::host {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::optional<std::string> http_get(const std::string& url) {
  auto r = net::perform({.url = url, .timeout = std::chrono::milliseconds(2000), .connect_timeout = std::chrono::milliseconds(1000)});
  if (!r || r->status != 200) return std::nullopt;
  return std::move(r->body);
}

// Starts `self host --background` detached from us (double fork: no zombie, its own session).
Status spawn_background_host(const fs::path& state_dir, const fs::path& self, uint16_t port) {
  std::string log_path = (state_dir / "host.log").string();
  std::vector<std::string> args{self.string(), "host", "--background", "--port", std::to_string(port)};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (!std::string_view(*e).starts_with("STUDYHUB_SANDBOX_HOME=")) env.emplace_back(*e);
  env.push_back("STUDYHUB_SANDBOX_HOME=" + state_dir.string());
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) return Error{"cannot open " + log_path + " for the host's log"};

  pid_t child = ::fork();
  if (child < 0) return Error{"cannot start the host: fork failed"};
  if (child == 0) {
    // Only async-signal-safe calls from here on.
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::chdir("/");
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  int status;
  ::waitpid(child, &status, 0);
  ::close(log_fd);
  ::close(null_fd);
  return ok_status();
}

}  // namespace

std::string base_url(const HostRecord& r) {
  std::string host = r.address == "0.0.0.0" || r.address.empty() ? "127.0.0.1" : r.address;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(r.port);
}

std::optional<HostRecord> read_host_record(const fs::path& state_dir) {
  auto text = read_file(state_dir / "host.json");
  if (!text) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("port") || !j["port"].is_number_unsigned()) return std::nullopt;
  return HostRecord{j.value("pid", 0), j["port"].get<uint16_t>(), j.value("address", "127.0.0.1")};
}

bool write_host_record(const fs::path& state_dir, const HostRecord& r) {
  return write_file_atomic(state_dir / "host.json",
                           json{{"pid", r.pid}, {"port", r.port}, {"address", r.address}}.dump() + "\n");
}

bool host_alive(const fs::path& state_dir, const HostRecord& r) {
  if (r.pid <= 0 || ::kill(r.pid, 0) != 0) return false;
  auto body = http_get(base_url(r) + "/.studyhub/health");
  if (!body) return false;
  json j = json::parse(*body, nullptr, false);
  return j.is_object() && j.value("stateDir", "") == state_dir.string();
}

namespace {

// The recorded process is still a studyhub-sandbox host (the pid was not reused by something else).
bool is_host_process(int pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::string cmdline = read_file_or_empty("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> args;
  for (size_t start = 0; start < cmdline.size();) {
    size_t end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    args.push_back(cmdline.substr(start, end - start));
    start = end + 1;
  }
  return args.size() >= 2 && fs::path(args[0]).filename() == "studyhub-sandbox" &&
         std::find(args.begin(), args.end(), "host") != args.end();
}

// Alive, or alive but too busy to answer the health check at once (under heavy load the accept
// queue can be full): a busy host is never replaced by a second one, which would change the URLs.
bool host_usable(const fs::path& state_dir, const HostRecord& r) {
  if (host_alive(state_dir, r)) return true;
  if (!is_host_process(r.pid)) return false;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (host_alive(state_dir, r)) return true;
  }
  return is_host_process(r.pid);
}

}  // namespace

Result<std::string> ensure_host(const fs::path& state_dir, const fs::path& self) {
  auto record = read_host_record(state_dir);
  if (record && host_alive(state_dir, *record)) return base_url(*record);
  auto lock = FileLock::acquire(state_dir / "host.lock");  // one starter at a time
  if (!lock) return lock.error();
  record = read_host_record(state_dir);
  if (record && host_usable(state_dir, *record)) return base_url(*record);
  // Reuse the previous port when it is free, so earlier URLs keep working.
  uint16_t port = record ? record->port : 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto spawned = spawn_background_host(state_dir, self, attempt == 0 ? port : 0);
    if (!spawned) return spawned.error();
    for (int i = 0; i < 100; ++i) {  // up to 5 s
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto fresh = read_host_record(state_dir);
      if (fresh && host_alive(state_dir, *fresh)) return base_url(*fresh);
    }
    if (port == 0) break;
  }
  return Error{"the site host did not start; see " + (state_dir / "host.log").string()};
}

Result<bool> stop_host(const fs::path& state_dir) {
  auto record = read_host_record(state_dir);
  if (!record || !host_alive(state_dir, *record)) return false;
  ::kill(record->pid, SIGTERM);
  for (int i = 0; i < 100 && ::kill(record->pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (::kill(record->pid, 0) == 0) return Error{"the host (pid " + std::to_string(record->pid) + ") did not stop"};
  return true;  // host.json stays: its port is reused by the next host, so old URLs work again
}

}  // namespace studyhub::host
