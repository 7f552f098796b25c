#include "support/processes.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

namespace studyhub::testing {

std::vector<int> processes_with(const std::string& marker) {
  std::vector<int> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    int pid = std::stoi(name);
    if (pid == ::getpid()) continue;
    // read(2): the process may end while we read, and that is just "not this one".
    std::string cmdline;
    int fd = ::open((e.path() / "cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) cmdline.append(buf, static_cast<size_t>(n));
    ::close(fd);
    if (cmdline.find(marker) != std::string::npos) out.push_back(pid);
  }
  return out;
}

bool wait_for_process(const std::string& marker, std::chrono::milliseconds limit) {
  for (auto until = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < until;) {
    if (!processes_with(marker).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool wait_no_process(const std::string& marker, std::chrono::milliseconds limit) {
  for (auto until = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < until;) {
    if (processes_with(marker).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string unique_marker() {
  static std::atomic<int> counter{0};
  char buf[32];
  std::snprintf(buf, sizeof buf, "0.0000%06d%02d", static_cast<int>(::getpid() % 1000000), ++counter % 100);
  return buf;
}

std::string marked_sleep(const std::string& marker, double seconds) {
  return "require('child_process').execFileSync('sleep', ['" + std::to_string(seconds) + "', '" + marker +
         "'], {stdio: 'inherit'});\n";
}

}  // namespace studyhub::testing
