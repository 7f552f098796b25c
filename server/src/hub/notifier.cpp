#include "hub/notifier.h"

#include <poll.h>

#include "core/log.h"
#include "hub/db.h"

namespace studyhub::hub {

Notifier::Notifier(std::string conninfo, std::vector<std::string> channels)
    : conninfo_(std::move(conninfo)), channels_(std::move(channels)) {
  thread_ = std::jthread([this](std::stop_token stop) { listen(stop); });
}

Notifier::~Notifier() {
  thread_.request_stop();
  changed_.notify_all();
}

uint64_t Notifier::count(const std::string& channel, const std::string& payload) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(payload.empty() ? channel : channel + "\n" + payload);
  return epoch_ + (it == counts_.end() ? 0 : it->second);
}

uint64_t Notifier::wait(const std::string& channel, const std::string& payload, uint64_t seen,
                        std::chrono::milliseconds timeout, std::stop_token stop) const {
  const std::string key = payload.empty() ? channel : channel + "\n" + payload;
  std::unique_lock lock(mutex_);
  auto now_count = [&] {
    auto it = counts_.find(key);
    return epoch_ + (it == counts_.end() ? 0 : it->second);
  };
  changed_.wait_for(lock, stop, timeout, [&] { return now_count() != seen; });
  return now_count();
}

void Notifier::bump(const std::string& key) { ++counts_[key]; }

void Notifier::listen(std::stop_token stop) {
  std::chrono::milliseconds backoff{200};
  while (!stop.stop_requested()) {
    auto conn = db::Connection::open(conninfo_);
    bool listening = conn.ok();
    for (const auto& channel : channels_) {
      if (!listening) break;
      listening = conn->exec("LISTEN " + channel).ok();
    }
    if (!listening) {
      connected_ = false;
      // Waiters fall back to their own timeouts meanwhile.
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, stop, backoff, [] { return false; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(200);
    {
      // Anything may have happened while we were not listening.
      std::lock_guard lock(mutex_);
      ++epoch_;
      connected_ = true;
    }
    changed_.notify_all();
    while (!stop.stop_requested()) {
      pollfd pfd{conn->socket(), POLLIN, 0};
      int ready = ::poll(&pfd, 1, 250);
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      auto notes = conn->take_notifications();
      if (!notes) {
        log::warn("hub: the notification connection broke (" + notes.error().message + "); reconnecting");
        break;
      }
      if (notes->empty()) continue;
      {
        std::lock_guard lock(mutex_);
        if (counts_.size() > 50'000) {
          // Counts per deployment pile up in a long-lived hub. Forget them; the epoch moves, so
          // every waiter wakes once and reads the new counts.
          counts_.clear();
          ++epoch_;
        }
        for (const auto& n : notes.value()) {
          bump(n.channel);
          if (!n.payload.empty()) bump(n.channel + "\n" + n.payload);
        }
      }
      changed_.notify_all();
    }
    connected_ = false;
  }
}

}  // namespace studyhub::hub
