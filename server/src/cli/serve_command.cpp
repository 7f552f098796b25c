#include <unistd.h>

#include "cli/commands.h"
#include "core/log.h"
#include "core/state_dir.h"
#include "rpc/session.h"
#include "service/sandbox_service.h"

namespace studyhub::cli {

int run_serve(const ServeOptions& options) {
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  rpc::Session session(STDIN_FILENO, STDOUT_FILENO,
                       rpc::SessionOptions{.max_message_bytes = options.max_message_bytes});
  service::register_sandbox_methods(session, service::ServiceConfig{.state_dir = state_dir.value()});
  log::info("serving JSON-RPC on stdio, state directory " + state_dir.value().string());
  return session.run();
}

}  // namespace studyhub::cli
