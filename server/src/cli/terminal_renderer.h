// The terminal's view of the publish event stream: on a terminal a live progress line on stderr
// (stage, percent, elapsed, spinner) with build output scrolling above it; otherwise plain lines.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "pipeline/event.h"

namespace studyhub::cli {

class TerminalRenderer {
 public:
  explicit TerminalRenderer(bool interactive);
  void operator()(const pipeline::Event& event);
  void clear_line();  // before printing the final result

 private:
  void draw();
  bool interactive_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point started_;
  std::string stage_ = "snapshot", message_;
  int percent_ = 0;
  unsigned spin_ = 0;
  bool drawn_ = false;
};

}  // namespace studyhub::cli
