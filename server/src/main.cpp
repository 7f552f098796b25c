#include <csignal>

#include "cli/app.h"

int main(int argc, char** argv) {
  // A client that closes its end must not kill us mid-write; writes report EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  return studyhub::cli::run(argc, argv);
}
