// A bounded queue of byte blocks between two threads (one producer, one consumer), with the
// blocks recycled so a long stream allocates a handful of buffers. The producer ends it with
// close() (and an error, if any); the consumer gives up with cancel(), which makes the
// producer's next push answer false.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/error.h"

namespace studyhub::archive {

class BlockQueue {
 public:
  explicit BlockQueue(size_t depth) : depth_(depth) {}

  // Waits for room; false when the consumer cancelled or `stop` was requested.
  bool push(std::string block, std::stop_token stop) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait(lock, stop, [&] { return ready_.size() < depth_ || cancelled_; }) || cancelled_) return false;
    ready_.push_back(std::move(block));
    changed_.notify_all();
    return true;
  }

  // The next block; nullopt once the producer closed the queue and it is empty (or on `stop`).
  std::optional<std::string> pop(std::stop_token stop = {}) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait(lock, stop, [&] { return !ready_.empty() || closed_; })) return std::nullopt;
    if (ready_.empty()) return std::nullopt;
    std::string block = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return block;
  }

  void close(std::optional<Error> error = std::nullopt) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    error_ = std::move(error);
    changed_.notify_all();
  }

  void cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    changed_.notify_all();
  }

  std::optional<Error> error() {
    std::lock_guard lock(mutex_);
    return error_;
  }

  // A buffer of `size` bytes, recycled when one is free.
  std::string spare(size_t size) {
    std::string block;
    {
      std::lock_guard lock(mutex_);
      if (!spare_.empty()) {
        block = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    block.resize(size);
    return block;
  }

  void recycle(std::string block) {
    std::lock_guard lock(mutex_);
    if (spare_.size() < depth_ + 2) spare_.push_back(std::move(block));
  }

 private:
  size_t depth_;
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<std::string> ready_;
  std::vector<std::string> spare_;
  bool closed_ = false, cancelled_ = false;
  std::optional<Error> error_;
};

}  // namespace studyhub::archive
