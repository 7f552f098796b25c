#include "hub/events.h"

#include "hub/deployments.h"

namespace studyhub::hub {

using nlohmann::json;

json event_line(const pipeline::Event& e) { return json{{"type", "event"}, {"event", pipeline::to_json(e)}}; }

json log_line(std::string message, pipeline::Stage stage) {
  return event_line(pipeline::log_event(stage, std::move(message)));
}

Status append_events(db::Connection& conn, int64_t deployment_id, const std::vector<json>& events) {
  if (events.empty()) return ok_status();
  json list = json::array();
  for (const auto& e : events) list.push_back(e);
  // One statement: the seq block is taken and the rows written together, and the NOTIFY goes out
  // when it commits.
  auto done = conn.exec(
      "WITH s AS (UPDATE deployments SET last_seq = last_seq + jsonb_array_length($2::jsonb) WHERE id = $1 "
      "           RETURNING last_seq - jsonb_array_length($2::jsonb) AS base), "
      "     ins AS (INSERT INTO events (deployment_id, seq, type, data) "
      "             SELECT $1, s.base + e.ordinality, e.value->>'type', e.value - 'type' "
      "             FROM s, jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e "
      "             RETURNING seq) "
      "SELECT pg_notify($3, $1::text), (SELECT count(*) FROM ins)",
      {db::param(deployment_id), db::param(list.dump(-1, ' ', false, json::error_handler_t::replace)),
       db::param(kEventsChannel)});
  if (!done) return done.error();
  return ok_status();
}

Result<std::vector<json>> events_since(db::Connection& conn, int64_t deployment_id, int64_t since, int limit) {
  auto rows = conn.exec("SELECT seq, " STUDYHUB_SQL_TIME("at") ", type, data FROM events "
                        "WHERE deployment_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                        {db::param(deployment_id), db::param(since), db::param(limit)});
  if (!rows) return rows.error();
  std::vector<json> out;
  out.reserve(static_cast<size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    json line{{"seq", rows->integer(i, 0)}, {"time", rows->text(i, 1)}, {"type", rows->text(i, 2)}};
    json data = json::parse(rows->text(i, 3), nullptr, false);
    if (data.is_object())
      for (auto& [k, v] : data.items()) line[k] = v;
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace studyhub::hub
