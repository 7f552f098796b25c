#include <unistd.h>

#include "cli/commands.h"
#include "core/log.h"
#include "core/state_dir.h"
#include "pipeline/publish.h"
#include "rpc/session.h"
#include "service/sandbox_service.h"

namespace studyhub::cli {

int run_serve(const ServeOptions& options) {
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  // A previous server killed mid-publish leaves debris; clear it unless a build runs right now.
  if (auto recovered = pipeline::recover_after_crash(state_dir.value(), /*try_only=*/true); !recovered)
    log::warn(recovered.error().message);
  rpc::Session session(STDIN_FILENO, STDOUT_FILENO,
                       rpc::SessionOptions{.max_message_bytes = options.max_message_bytes});
  service::register_sandbox_methods(session, service::ServiceConfig{.state_dir = state_dir.value()});
  log::info("serving JSON-RPC on stdio, state directory " + state_dir.value().string());
  return session.run();
}

}  // namespace studyhub::cli
