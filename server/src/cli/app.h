// The command line: parses argv with CLI11 and runs one subcommand. Returns the exit status:
// 0 success, 1 failure, 2 usage error.
#pragma once

namespace studyhub::cli {

int run(int argc, char** argv);

}  // namespace studyhub::cli
