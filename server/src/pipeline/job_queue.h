// Publish jobs of one process, one at a time (a build is heavy), in arrival order. A request for a
// folder that already waits in the queue joins that job: both get the publish of the newest
// snapshot, since a job takes its snapshot when it starts. None is dropped: every caller gets a
// result or an error. Across processes the build lock in the state directory serializes builds.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "pipeline/publish.h"

namespace studyhub::pipeline {

class JobQueue {
 public:
  explicit JobQueue(PipelineEnv env);
  ~JobQueue();  // cancels what is left and waits for the worker

  // Blocks the calling thread until its publish is done, cancelled (stop) or failed.
  PublishOutcome publish(const PublishRequest& request, std::stop_token stop, EventSink sink);

  // [{folder, name, state: "running" | "queued", position, requests}]
  nlohmann::json status() const;

 private:
  struct Waiter;
  struct Job;
  void work();
  void announce_positions();  // with mutex_ held

  PipelineEnv env_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::shared_ptr<Job>> queue_;  // front is running when running_ is set
  std::shared_ptr<Job> running_;
  bool closing_ = false;
  std::jthread worker_;
};

}  // namespace studyhub::pipeline
