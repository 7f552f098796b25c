// LSP work-done progress ($/progress begin/report/end) for a token the client supplied in
// params.workDoneToken. Without a token every call is a no-op, so handlers report unconditionally.
//
// Every message carries a percentage: vscode-languageclient drops reports without one once a
// progress began with one. Percentages never go backwards.
#pragma once

#include <mutex>
#include <string>

#include "rpc/message.h"

namespace studyhub::rpc {

class MessageWriter;

class WorkDoneProgress {
 public:
  WorkDoneProgress() = default;  // inactive
  WorkDoneProgress(MessageWriter* writer, json token) : writer_(writer), token_(std::move(token)) {}

  bool active() const { return writer_ && !token_.is_null(); }
  void begin(std::string_view title, std::string_view message, int percentage, bool cancellable);
  void report(std::string_view message, int percentage);
  void end(std::string_view message);

 private:
  void send(json value);

  MessageWriter* writer_ = nullptr;
  json token_;
  std::mutex mutex_;
  int percentage_ = 0;
  bool begun_ = false, ended_ = false;
};

}  // namespace studyhub::rpc
