#include "core/log.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <ctime>

namespace studyhub::log {
namespace {
std::atomic<Level> g_level{Level::warn};
constexpr std::array<std::string_view, 6> kNames{"trace", "debug", "info", "warn", "error", "off"};
}  // namespace

std::optional<Level> parse_level(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Level>(i);
  return std::nullopt;
}

std::string_view level_name(Level level) { return kNames[static_cast<size_t>(level)]; }

void set_level(Level level) { g_level.store(level); }
Level level() { return g_level.load(); }
bool enabled(Level l) { return l != Level::off && l >= g_level.load(); }

void write(Level l, std::string_view message) {
  if (!enabled(l)) return;
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
  std::string line;
  line.reserve(message.size() + 48);
  line.append(stamp).append(" ").append(level_name(l)).append(" ").append(message).append("\n");
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;  // stderr gone: nothing sensible left to do with a log line
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace studyhub::log
