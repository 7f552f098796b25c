// Build output lines that point into the workspace, turned into problems a user can click:
// TypeScript `file(line,col): error TS…`, esbuild/vite `file:line:col: ERROR: …`, rolldown/oxc
// `╭─[ file:line:col ]`, Babel `SyntaxError: file: message (line:col)` and create-react-app
// `Failed to compile.` blocks.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "pipeline/event.h"

namespace studyhub::pipeline {

// `work_dir` is where the build ran (absolute paths under it are mapped back); empty when it is
// unknown (a remote runner), then an absolute path maps to the longest sandbox file it ends with.
// Only files in `known_files` (the snapshot's paths) are kept.
std::vector<Diagnostic> parse_diagnostics(std::string_view log, const std::filesystem::path& work_dir,
                                          const std::set<std::string>& known_files);

}  // namespace studyhub::pipeline
