// The server's own diagnostic log, written to stderr at the level chosen with --log-level.
// Lines meant for the user (build output, warnings about their files) travel separately, as
// window/logMessage notifications or terminal output.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace studyhub::log {

enum class Level { trace, debug, info, warn, error, off };

std::optional<Level> parse_level(std::string_view name);
std::string_view level_name(Level level);

void set_level(Level level);
Level level();
bool enabled(Level level);

// Writes one whole line ("<time> <level> <message>") with a single write, so lines from
// different threads never interleave.
void write(Level level, std::string_view message);

inline void debug(std::string_view m) { write(Level::debug, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void warn(std::string_view m) { write(Level::warn, m); }
inline void error(std::string_view m) { write(Level::error, m); }

}  // namespace studyhub::log
