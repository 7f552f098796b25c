#include "service/sandbox_service.h"

#include "core/version.h"

namespace studyhub::service {

using rpc::json;

namespace {

json initialize_result() {
  return json{
      {"capabilities",
       {{"experimental",
         {{"sandbox",
           {{"methods", json::array({"sandbox/status"})}, {"progress", true}, {"cancel", true}}}}}}},
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
}

}  // namespace studyhub::service
