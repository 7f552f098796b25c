// The hub's schema, as numbered migrations applied in order. `hub migrate`, `hub serve` and
// `hub worker` all apply what is missing; an advisory lock makes hubs that start together take
// turns, so each migration runs once.
#pragma once

#include "core/error.h"
#include "hub/db.h"

namespace studyhub::hub {

struct MigrationReport {
  int from = 0, to = 0;  // schema versions before and after
};

Result<MigrationReport> migrate(db::Connection& conn);

// The newest schema version this binary knows.
int latest_schema_version();

}  // namespace studyhub::hub
