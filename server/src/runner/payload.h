// The code-runner contract shared by every runner (see ../shared/reference/docker-run.md):
// a payload of text files plus an optional shell command, and a RunResult whose stdout carries the
// base64 tar.gz of build/ on success.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace studyhub::runner {

struct PayloadFile {
  std::string name;     // relative path, '/'-separated
  std::string content;  // text; never empty (code-runner rejects an empty file)
};

struct Payload {
  std::string language;
  std::vector<PayloadFile> files;
  std::optional<std::string> stdin_text;
  std::optional<std::string> command;  // when set, only this runs (the language's build is skipped)
};

struct RunResult {
  std::string stdout_text;
  std::string stderr_text;
  std::string error;  // empty on success; "Exit code: N" for a failed command
};

nlohmann::json to_json(const Payload& payload);
Result<Payload> payload_from_json(const nlohmann::json& j);  // validates as code-runner does
nlohmann::json to_json(const RunResult& result);
Result<RunResult> run_result_from_json(const nlohmann::json& j);

}  // namespace studyhub::runner
