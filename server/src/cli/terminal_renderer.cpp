#include "cli/terminal_renderer.h"

#include <cstdio>

namespace studyhub::cli {

TerminalRenderer::TerminalRenderer(bool interactive)
    : interactive_(interactive), started_(std::chrono::steady_clock::now()) {}

void TerminalRenderer::clear_line() {
  std::lock_guard lock(mutex_);
  if (interactive_ && drawn_) std::fprintf(stderr, "\r\033[2K");
  drawn_ = false;
  std::fflush(stderr);
}

void TerminalRenderer::draw() {
  static const char* kSpinner[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  constexpr int kWidth = 24;
  int filled = percent_ * kWidth / 100;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::string message = message_.size() > 60 ? message_.substr(0, 57) + "..." : message_;
  std::fprintf(stderr, "\r\033[2K%s %-8s [%s] %3d%% %5.1fs  %s", kSpinner[spin_++ % 10], stage_.c_str(), bar.c_str(),
               percent_, elapsed, message.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void TerminalRenderer::operator()(const pipeline::Event& e) {
  using Kind = pipeline::Event::Kind;
  std::lock_guard lock(mutex_);
  switch (e.kind) {
    case Kind::stage:
    case Kind::progress:
      stage_ = std::string(pipeline::wire_name(e.stage));
      message_ = e.message;
      percent_ = std::max(percent_, e.percent);
      if (interactive_) draw();
      else if (e.kind == Kind::stage) std::fprintf(stderr, "[%s] %s\n", stage_.c_str(), e.message.c_str());
      break;
    case Kind::queued:
      message_ = e.message;
      if (interactive_) draw();
      else std::fprintf(stderr, "[queue] %s\n", e.message.c_str());
      break;
    case Kind::log:
      if (interactive_) std::fprintf(stderr, "\r\033[2K  %s\n", e.message.c_str());
      else std::fprintf(stderr, "[%s] %s\n", std::string(pipeline::wire_name(e.stage)).c_str(), e.message.c_str());
      if (interactive_) draw();
      break;
    case Kind::diagnostics:
      break;  // printed with the failure, once
  }
}

}  // namespace studyhub::cli
