// The hub's HTTP API (protocol/hub/README.md): JSON bodies, `Authorization: Bearer <token>` on
// everything under /v1/, errors as {"error": code, "message": one sentence}. Requests run on a
// small pool of threads (their database work blocks); event streams each get a thread of their own
// for as long as they follow a build.
#pragma once

#include <memory>

#include "host/api_handler.h"
#include "hub/hub.h"

namespace studyhub::hub {

// The API version this hub speaks (GET / answers it; clients refuse a hub of another one).
inline constexpr int kApiVersion = 1;

std::shared_ptr<host::ApiHandler> make_api(HubRuntime& hub);

// Stops accepting new work and waits for the request threads; event streams end.
void shutdown_api(host::ApiHandler& api);

}  // namespace studyhub::hub
