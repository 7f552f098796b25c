// The shared host of a state directory: one background `studyhub-sandbox host` process that every
// publish reuses, so a printed URL keeps working after the command that printed it has exited.
// <state>/host.json records it; `studyhub-sandbox host --stop` ends it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/error.h"

namespace studyhub::host {

struct HostRecord {
  int pid = 0;
  uint16_t port = 0;
  std::string address;
};

std::optional<HostRecord> read_host_record(const std::filesystem::path& state_dir);
bool write_host_record(const std::filesystem::path& state_dir, const HostRecord& record);

// True when a host answers at the record's port for this state directory.
bool host_alive(const std::filesystem::path& state_dir, const HostRecord& record);

// The base URL of the running host ("http://127.0.0.1:PORT"), starting one in the background
// when none is running. `self` is this program's path.
Result<std::string> ensure_host(const std::filesystem::path& state_dir, const std::filesystem::path& self);

// Stops the background host of the state directory; false when none was running.
Result<bool> stop_host(const std::filesystem::path& state_dir);

std::string base_url(const HostRecord& record);

}  // namespace studyhub::host
