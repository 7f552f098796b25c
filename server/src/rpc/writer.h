// Writes framed messages to one file descriptor. Each message goes out whole under one lock,
// so messages produced by different threads never interleave.
#pragma once

#include <atomic>
#include <mutex>

#include "rpc/message.h"

namespace studyhub::rpc {

class MessageWriter {
 public:
  explicit MessageWriter(int fd) : fd_(fd) {}

  // Returns false once the peer has gone away; later sends are dropped quietly.
  bool send(const json& message);
  bool broken() const { return broken_.load(); }

 private:
  int fd_;
  std::mutex mutex_;
  std::atomic<bool> broken_{false};
};

}  // namespace studyhub::rpc
