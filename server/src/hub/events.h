// A deployment's events: the lines of GET /v1/deployments/<id>/events. Each has a seq (1, 2, …
// per deployment, never reused, so a follower resumes with ?since=), a time and a type:
//   state   {"state", "position"?, "url"?, "immutableUrl"?, "error"?, "supersededBy"?, …}
//   event   {"event": one event of the build, as protocol/schemas/event.json has it (pipeline/event.h)}
// Appending NOTIFYs studyhub_events with the deployment id, so followers wake at once.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "hub/db.h"
#include "pipeline/event.h"

namespace studyhub::hub {

// The line for one of the build's events, and for a line of the hub's own in the build's log.
nlohmann::json event_line(const pipeline::Event& e);
nlohmann::json log_line(std::string message, pipeline::Stage stage = pipeline::Stage::build);

// Each item is {"type": …, …fields}; appended in order, in one statement.
Status append_events(db::Connection& conn, int64_t deployment_id, const std::vector<nlohmann::json>& events);

// Events after `since`, oldest first, at most `limit`; each as its NDJSON line object
// {"seq", "time", "type", …fields}.
Result<std::vector<nlohmann::json>> events_since(db::Connection& conn, int64_t deployment_id, int64_t since,
                                                 int limit = 1000);

// SQL that renders a timestamptz column as the API's time format (ISO 8601, UTC, milliseconds).
#define STUDYHUB_SQL_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

}  // namespace studyhub::hub
