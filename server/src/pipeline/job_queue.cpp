#include "pipeline/job_queue.h"

#include <algorithm>

namespace studyhub::pipeline {

struct JobQueue::Waiter {
  EventSink sink;
};

struct JobQueue::Job {
  PublishRequest request;
  std::vector<std::shared_ptr<Waiter>> waiters;
  std::stop_source stop;
  bool done = false;
  std::optional<PublishOutcome> outcome;
};

JobQueue::JobQueue(PipelineEnv env) : env_(std::move(env)), worker_([this] { work(); }) {}

JobQueue::~JobQueue() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    if (running_) running_->stop.request_stop();
  }
  changed_.notify_all();
  worker_ = {};  // joins
}

void JobQueue::announce_positions() {
  // The first in line starts at once (the worker takes it): only those behind others are told.
  for (size_t i = 1; i < queue_.size(); ++i) {
    if (queue_[i] == running_) continue;
    int ahead = static_cast<int>(i);
    Event e = queued_event(Queue::local, "queued: " + std::to_string(ahead) + (ahead == 1 ? " publish" : " publishes") + " ahead",
                           ahead, ahead);
    for (auto& w : queue_[i]->waiters) w->sink(e);
  }
}

PublishOutcome JobQueue::publish(const PublishRequest& request, std::stop_token stop, EventSink sink) {
  auto waiter = std::make_shared<Waiter>(Waiter{std::move(sink)});
  std::shared_ptr<Job> job;
  {
    std::unique_lock lock(mutex_);
    for (auto& queued : queue_)
      if (queued != running_ && queued->request.folder == request.folder && queued->request.name == request.name &&
          queued->request.target_layers == request.target_layers) job = queued;
    if (!job) {
      job = std::make_shared<Job>();
      job->request = request;
      queue_.push_back(job);
    }
    job->waiters.push_back(waiter);
    announce_positions();
  }
  changed_.notify_all();

  std::stop_callback on_cancel(stop, [this] { changed_.notify_all(); });
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return job->done || stop.stop_requested(); });
  if (job->done) return *job->outcome;
  // Cancelled: leave the job; a job nobody waits for any more is cancelled or dropped.
  std::erase(job->waiters, waiter);
  if (job->waiters.empty()) {
    if (job == running_) {
      // Answer only once the build is really gone (its process group killed), which is quick.
      job->stop.request_stop();
      changed_.wait(lock, [&] { return job->done; });
    } else {
      std::erase(queue_, job);
    }
  }
  return PublishFailure{cancelled_error(), {}, {}, {}};
}

void JobQueue::work() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (closing_) {
        for (auto& j : queue_) {
          j->outcome = PublishFailure{Error{"the server is shutting down; the publish was not run"}, {}, {}, {}};
          j->done = true;
        }
        queue_.clear();
        changed_.notify_all();
        return;
      }
      job = running_ = queue_.front();
      announce_positions();
    }
    auto broadcast = [this, job](const Event& e) {
      std::vector<std::shared_ptr<Waiter>> waiters;
      {
        std::lock_guard lock(mutex_);
        waiters = job->waiters;
      }
      for (auto& w : waiters) w->sink(e);
    };
    PublishOutcome outcome = run_publish(job->request, env_, job->stop.get_token(), broadcast);
    {
      std::lock_guard lock(mutex_);
      job->outcome = std::move(outcome);
      job->done = true;
      std::erase(queue_, job);
      running_.reset();
      announce_positions();
    }
    changed_.notify_all();
  }
}

nlohmann::json JobQueue::status() const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < queue_.size(); ++i) {
    const auto& j = queue_[i];
    out.push_back({{"folder", j->request.folder.string()},
                   {"name", j->request.name ? nlohmann::json(*j->request.name) : nlohmann::json(nullptr)},
                   {"state", j == running_ ? "running" : "queued"},
                   {"position", j == running_ ? 0 : static_cast<int>(i) + (running_ ? 0 : 1)},
                   {"requests", j->waiters.size()}});
  }
  return out;
}

}  // namespace studyhub::pipeline
