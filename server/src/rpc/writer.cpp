#include "rpc/writer.h"

#include <unistd.h>

#include <cerrno>

#include "core/log.h"
#include "rpc/framing.h"

namespace studyhub::rpc {

bool MessageWriter::send(const json& message) {
  // Serialize outside the lock; replace invalid UTF-8 rather than throw on a user's odd file name.
  std::string frame = encode_frame(message.dump(-1, ' ', false, json::error_handler_t::replace));
  std::lock_guard lock(mutex_);
  if (broken_) return false;
  const char* p = frame.data();
  size_t left = frame.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      broken_ = true;
      log::warn("the client stopped reading our output; further messages are dropped");
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace studyhub::rpc
