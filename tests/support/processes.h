// Finding a build's processes from outside, wherever they run (plain child processes, or inside a
// sandbox's pid namespace, which the host still sees): by a marker in their command line.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace studyhub::testing {

// Pids whose command line holds `marker` (this test process excluded).
std::vector<int> processes_with(const std::string& marker);
// Waits until one exists (true) or the time is up.
bool wait_for_process(const std::string& marker, std::chrono::milliseconds limit);
// Waits until none exists (true) or the time is up.
bool wait_no_process(const std::string& marker, std::chrono::milliseconds limit);

// A marker no other process has: a tiny number ("0.0000123456"), so that it can be an argument of
// `sleep` (which adds its arguments up): shells exec their last command, and only the process's
// own arguments stay visible.
std::string unique_marker();

// Build code for World::npm_site that runs `sleep <seconds> <marker>`, so the build's process can be
// found from outside.
std::string marked_sleep(const std::string& marker, double seconds);

}  // namespace studyhub::testing
