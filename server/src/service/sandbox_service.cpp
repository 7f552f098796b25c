#include "service/sandbox_service.h"

#include <chrono>

#include "core/version.h"
#include "service/folder_param.h"
#include "settings/workspace_settings.h"
#include "snapshot/snapshot.h"
#include "snapshot/snapshot_json.h"

namespace studyhub::service {

using rpc::json;

namespace {

rpc::RpcError failed(const Error& e) {
  if (e.cancelled) return {rpc::code::kRequestCancelled, "the request was cancelled", nullptr};
  return {rpc::code::kRequestFailed, e.message, nullptr};
}

rpc::Reply snapshot_method(const ServiceConfig& config, rpc::RequestContext& ctx) {
  auto started = std::chrono::steady_clock::now();
  auto folder = folder_param(ctx.params);
  if (!folder) return folder.error();
  auto settings = settings::load_workspace_settings(folder.value());
  if (!settings) return failed(settings.error());
  for (const auto& w : settings->warnings) ctx.session->log_message(rpc::MessageType::warning, w);

  auto progress = ctx.progress();
  progress->begin("Snapshot", "reading " + folder.value().filename().string(), 0, true);
  auto snap = snapshot::take_snapshot(
      folder.value(), settings.value(),
      {.state_dir = config.state_dir, .stop = ctx.stop, .progress = [&](std::string_view stage, int percent) {
         progress->report(stage, percent);
       }});
  if (!snap) {
    progress->end(snap.error().cancelled ? "cancelled" : "failed");
    return failed(snap.error());
  }
  progress->end(std::to_string(snap->files.size()) + " files");
  for (const auto& w : snap->warnings) ctx.session->log_message(rpc::MessageType::warning, w);
  json out = snapshot::to_json(snap.value());
  out["durationMs"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  return out;
}

json initialize_result() {
  return json{
      {"capabilities",
       {{"experimental",
         {{"sandbox",
           {{"methods", json::array({"sandbox/status", "sandbox/snapshot"})}, {"progress", true}, {"cancel", true}}}}}}},
      {"serverInfo", {{"name", kServerName}, {"version", kVersion}}},
  };
}

}  // namespace

void register_sandbox_methods(rpc::Session& session, const ServiceConfig& config) {
  session.on_initialize([](const json& params) -> rpc::Reply {
    auto pid = params.find("processId");
    if (pid != params.end() && !pid->is_null() && !pid->is_number_integer())
      return rpc::invalid_param("processId", "must be an integer or null");
    return initialize_result();
  });

  session.on_request("sandbox/status", rpc::Runs::inline_on_reader,
                     [config](rpc::RequestContext& ctx) -> rpc::Reply {
                       return json{
                           {"server", {{"name", kServerName}, {"version", kVersion}}},
                           {"stateDir", config.state_dir.string()},
                           {"queue", json::array()},
                           {"requests", ctx.session->in_flight()},
                       };
                     });

  session.on_request("sandbox/snapshot", rpc::Runs::on_worker,
                     [config](rpc::RequestContext& ctx) { return snapshot_method(config, ctx); });
}

}  // namespace studyhub::service
