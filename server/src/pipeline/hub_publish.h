// A publish to the team's hub, on the same event stream as a local one: the snapshot (taken
// already, in the plan) → which blobs the hub lacks → those uploaded, the bar moving with the bytes
// → the deployment → queued with its position → the build's stages, percentages, log lines and
// diagnostics as the hub's worker reports them → published, with the hub's public URL.
//
// The event stream is resumed from the last line seen when it drops; a cancel (Ctrl-C,
// $/cancelRequest) cancels the deployment on the hub, not only the wait here; a publish superseded
// on the hub by a newer one of the same site follows that one, so every caller gets the newest.
#pragma once

#include <chrono>
#include <stop_token>

#include "pipeline/publish.h"

namespace studyhub::pipeline {

PublishOutcome publish_to_hub(const PublishPlan& plan, const PipelineEnv& env, std::stop_token stop, const EventSink& emit,
                              std::chrono::steady_clock::time_point started);

}  // namespace studyhub::pipeline
