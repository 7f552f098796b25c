#include "rpc/progress.h"

#include <algorithm>

#include "rpc/writer.h"

namespace studyhub::rpc {

void WorkDoneProgress::send(json value) {
  writer_->send(make_notification("$/progress", json{{"token", token_}, {"value", std::move(value)}}));
}

void WorkDoneProgress::begin(std::string_view title, std::string_view message, int percentage,
                             bool cancellable) {
  if (!active()) return;
  std::lock_guard lock(mutex_);
  if (begun_) return;
  begun_ = true;
  percentage_ = std::clamp(percentage, 0, 100);
  send({{"kind", "begin"}, {"title", title}, {"message", message}, {"percentage", percentage_},
        {"cancellable", cancellable}});
}

void WorkDoneProgress::report(std::string_view message, int percentage) {
  if (!active()) return;
  std::lock_guard lock(mutex_);
  if (!begun_ || ended_) return;
  percentage_ = std::max(percentage_, std::clamp(percentage, 0, 100));
  send({{"kind", "report"}, {"message", message}, {"percentage", percentage_}});
}

void WorkDoneProgress::end(std::string_view message) {
  if (!active()) return;
  std::lock_guard lock(mutex_);
  if (!begun_ || ended_) return;
  ended_ = true;
  send({{"kind", "end"}, {"message", message}});
}

}  // namespace studyhub::rpc
