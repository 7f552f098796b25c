// Turns a snapshot into a code-runner payload and the script that builds it. Content that a JSON
// string cannot carry travels encoded and is restored by the script's first lines:
// binary files as base64 (name + ".studyhub-b64"), empty files and links as lists.
#pragma once

#include <filesystem>

#include "runner/payload.h"
#include "runner/preset.h"
#include "settings/workspace_settings.h"
#include "snapshot/snapshot.h"

namespace studyhub::runner {

struct BuiltPayload {
  Payload payload;
  Preset preset;
  size_t binary_files = 0, empty_files = 0, links = 0;
  uint64_t bytes = 0;  // size of the payload as JSON, for request-size checks
};

// `objects_dir` is the object database holding the snapshot's blobs (the shadow repository's of a
// local publish, the hub's blob store).
Result<BuiltPayload> build_payload(const snapshot::Snapshot& snap, const std::filesystem::path& objects_dir,
                                   const settings::WorkspaceSettings& settings,
                                   const std::string& language = "buildcreatereactapp");

// For a docker-run image with the create-react-app build language: when every file travels as it
// is and the site lands in build/, drop the custom command so the image runs its own build
// commands, as the Studyhub task did (PUBLIC_URL reaches it through .env.production.local).
// Anything else keeps the script, which runs the same steps the local runner runs.
void prefer_image_build_commands(BuiltPayload& built, const std::string& language);

}  // namespace studyhub::runner
