#include "service/sandbox_service.h"

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "core/version.h"
#include "host/host_control.h"
#include "pipeline/job_queue.h"
#include "publish/store.h"
#include "service/folder_param.h"
#include "service/sites.h"
#include "service/target_param.h"
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

// Problems of the last failed publish per folder, so the next publish can clear them.
class DiagnosticsTracker {
 public:
  void publish(rpc::Session& session, const std::string& folder, const std::vector<pipeline::Diagnostic>& diagnostics) {
    std::map<std::string, json> by_uri;
    for (const auto& d : diagnostics) {
      std::string uri = file_uri(std::filesystem::path(folder) / d.file);
      json range{{"start", {{"line", std::max(0, d.line - 1)}, {"character", std::max(0, d.column - 1)}}},
                 {"end", {{"line", std::max(0, d.line - 1)}, {"character", std::max(0, d.column)}}}};
      by_uri[uri].push_back({{"range", range},
                             {"severity", d.severity == "warning" ? 2 : 1},
                             {"source", "studyhub-sandbox"},
                             {"message", d.message}});
    }
    std::lock_guard lock(mutex_);
    for (const auto& uri : reported_[folder])
      if (!by_uri.count(uri)) by_uri[uri] = json::array();  // fixed since: clear
    reported_[folder].clear();
    for (auto& [uri, list] : by_uri) {
      if (!list.empty()) reported_[folder].insert(uri);
      session.notify("textDocument/publishDiagnostics", {{"uri", uri}, {"diagnostics", list}});
    }
  }

 private:
  static std::string file_uri(const std::filesystem::path& p) {
    std::string out = "file://";
    for (unsigned char c : p.string()) {
      if (std::isalnum(c) || std::strchr("/-._~", c)) out.push_back(static_cast<char>(c));
      else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        out += buf;
      }
    }
    return out;
  }
  std::mutex mutex_;
  std::map<std::string, std::set<std::string>> reported_;
};

struct Services {
  ServiceConfig config;
  pipeline::JobQueue queue;
  DiagnosticsTracker diagnostics;
  // initializationOptions' target defaults (may carry the docker-run token; kept in memory only).
  std::mutex defaults_mutex;
  runner::TargetLayer target_defaults;
};

rpc::Reply publish_method(Services& services, rpc::RequestContext& ctx) {
  auto folder = folder_param(ctx.params);
  if (!folder) return folder.error();
  auto name = rpc::optional_string(ctx.params, "name");
  if (!name) return name.error();
  if (name.value() && !publish::is_valid_name(*name.value()))
    return rpc::invalid_param("name", "must be lowercase letters, digits and dashes (at most 63)");
  std::optional<int> timeout;
  if (ctx.params.contains("buildTimeoutSeconds")) {
    const auto& t = ctx.params["buildTimeoutSeconds"];
    if (!t.is_number_integer() || t.get<int>() < 1) return rpc::invalid_param("buildTimeoutSeconds", "must be a positive integer");
    timeout = t.get<int>();
  }
  auto target = target_param(ctx.params, "params");
  if (!target) return target.error();
  std::vector<runner::TargetLayer> layers{target.value()};
  {
    std::lock_guard lock(services.defaults_mutex);
    layers.push_back(services.target_defaults);
  }
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::canonical(folder.value(), ec);
  if (ec) return rpc::RpcError{rpc::code::kRequestFailed, "cannot open the folder " + folder.value().string() + ": " + ec.message(), nullptr};

  auto progress = ctx.progress();
  progress->begin("Publish " + canonical.filename().string(), "starting", 0, true);
  int percent = 0;
  std::mutex percent_mutex;
  auto sink = [&](const pipeline::Event& e) {
    using Kind = pipeline::Event::Kind;
    // The typed event for clients that read fields (the extension's status bar); $/progress and
    // window/logMessage below carry the same for generic LSP clients, as text for people.
    json params{{"folder", canonical.string()}, {"event", pipeline::to_json(e)}};
    if (ctx.params.contains("workDoneToken")) params["workDoneToken"] = ctx.params["workDoneToken"];
    ctx.session->notify("sandbox/event", std::move(params));
    switch (e.kind) {
      case Kind::stage:
      case Kind::progress: {
        std::lock_guard lock(percent_mutex);
        percent = std::max(percent, e.percent);
        progress->report(std::string(pipeline::wire_name(e.stage)) + ": " + e.message, percent);
        break;
      }
      case Kind::queued: {
        std::lock_guard lock(percent_mutex);
        progress->report(e.message, percent);
        break;
      }
      case Kind::log:
        ctx.session->log_message(rpc::MessageType::log, "[" + std::string(pipeline::wire_name(e.stage)) + "] " + e.message);
        break;
      case Kind::diagnostics:
        services.diagnostics.publish(*ctx.session, canonical.string(), e.diagnostics);
        break;
    }
  };
  pipeline::PublishRequest request{
      .folder = canonical, .name = name.value(), .build_timeout_seconds = timeout, .target_layers = std::move(layers)};
  auto outcome = services.queue.publish(request, ctx.stop, sink);
  if (!outcome) {
    const auto& f = outcome.error();
    progress->end(f.error.cancelled ? "cancelled" : "failed");
    if (f.error.cancelled) return rpc::RpcError{rpc::code::kRequestCancelled, "the publish was cancelled", nullptr};
    if (f.diagnostics.empty()) services.diagnostics.publish(*ctx.session, canonical.string(), {});
    json data = pipeline::to_json(f);
    data.erase("message");
    return rpc::RpcError{rpc::code::kRequestFailed, f.error.message, data};
  }
  services.diagnostics.publish(*ctx.session, canonical.string(), {});  // a success clears old problems
  progress->end("published " + outcome->url);
  return pipeline::to_json(outcome.value());
}

// The target layers of a request: its params, then the session's initializationOptions.
rpc::Param<std::vector<runner::TargetLayer>> target_layers(Services& services, const rpc::json& params) {
  auto target = target_param(params, "params");
  if (!target) return target.error();
  std::lock_guard lock(services.defaults_mutex);
  return std::vector<runner::TargetLayer>{target.value(), services.target_defaults, runner::target_from_environment()};
}

rpc::Param<std::string> site_name_param(const rpc::json& params) {
  auto name = rpc::required_string(params, "name");
  if (!name) return name.error();
  if (!publish::is_valid_name(name.value()))
    return rpc::invalid_param("name", "must be lowercase letters, digits and dashes (at most 63)");
  return name.value();
}

// rollback and unpublish: on the hub when the layers say target hub, else on this machine.
rpc::Param<std::optional<runner::HubConfig>> site_target(const std::vector<runner::TargetLayer>& layers) {
  std::optional<std::string> target;
  for (const auto& l : layers)
    if (!target && l.target) target = l.target;
  if (target != "hub") return std::optional<runner::HubConfig>();
  auto hub = runner::choose_hub(layers, settings::WorkspaceSettings{});
  if (!hub) return rpc::RpcError{rpc::code::kRequestFailed, hub.error().message, nullptr};
  if (!hub.value())
    return rpc::RpcError{rpc::code::kRequestFailed,
                         "the hub target needs the hub's URL: set hub.url (studyhubSandbox.hub.url in VS Code)", nullptr};
  return hub.value();
}

rpc::Reply site_method(Services& services, rpc::RequestContext& ctx, bool rollback) {
  auto name = site_name_param(ctx.params);
  if (!name) return name.error();
  std::optional<std::string> snapshot;
  if (rollback) {
    auto s = rpc::optional_string(ctx.params, "snapshotId");
    if (!s) return s.error();
    if (s.value() && (s.value()->size() < 7 || s.value()->size() > 40 ||
                      s.value()->find_first_not_of("0123456789abcdef") != std::string::npos))
      return rpc::invalid_param("snapshotId", "must be 7 to 40 lowercase hex digits");
    snapshot = s.value();
  }
  auto layers = target_layers(services, ctx.params);
  if (!layers) return layers.error();
  auto hub = site_target(layers.value());
  if (!hub) return hub.error();
  auto done = rollback ? service::rollback_site(services.config.state_dir, hub.value(), name.value(), snapshot)
                       : service::unpublish_site(services.config.state_dir, hub.value(), name.value());
  if (!done) return failed(done.error());
  return done.value();
}

json initialize_result() {
  return json{
      {"capabilities",
       {{"experimental",
         {{"sandbox",
           {{"methods", json::array({"sandbox/status", "sandbox/snapshot", "sandbox/publish", "sandbox/list",
                                     "sandbox/rollback", "sandbox/unpublish"})}, {"progress", true}, {"cancel", true}}}}}}},
      {"serverInfo", {{"name", kServerName}, {"version", kVersion}}},
  };
}

}  // namespace

void register_sandbox_methods(rpc::Session& session, const ServiceConfig& config) {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  auto services = std::shared_ptr<Services>(new Services{
      config,
      pipeline::JobQueue({.state_dir = config.state_dir,
                          .host_url = [state_dir = config.state_dir, self] { return host::ensure_host(state_dir, self); }}),
      {}});

  session.on_initialize([services](const json& params) -> rpc::Reply {
    auto pid = params.find("processId");
    if (pid != params.end() && !pid->is_null() && !pid->is_number_integer())
      return rpc::invalid_param("processId", "must be an integer or null");
    if (auto options = params.find("initializationOptions"); options != params.end()) {
      auto defaults = target_param(*options, "initializationOptions");
      if (!defaults) return defaults.error();
      std::lock_guard lock(services->defaults_mutex);
      services->target_defaults = defaults.value();
    }
    return initialize_result();
  });

  session.on_request("sandbox/status", rpc::Runs::inline_on_reader, [services](rpc::RequestContext& ctx) -> rpc::Reply {
    return json{
        {"server", {{"name", kServerName}, {"version", kVersion}}},
        {"stateDir", services->config.state_dir.string()},
        {"queue", services->queue.status()},
        {"requests", ctx.session->in_flight()},
    };
  });

  session.on_request("sandbox/snapshot", rpc::Runs::on_worker,
                     [services](rpc::RequestContext& ctx) { return snapshot_method(services->config, ctx); });

  session.on_request("sandbox/publish", rpc::Runs::on_worker,
                     [services](rpc::RequestContext& ctx) { return publish_method(*services, ctx); });

  session.on_request("sandbox/list", rpc::Runs::on_worker, [services](rpc::RequestContext& ctx) -> rpc::Reply {
    // The hub's sites too when one is set up (params, initializationOptions, environment).
    auto layers = target_layers(*services, ctx.params);
    if (!layers) return layers.error();
    auto hub = runner::choose_hub(layers.value(), settings::WorkspaceSettings{});
    auto list = service::list_sites(services->config.state_dir, hub ? hub.value() : std::nullopt);
    if (!list) return failed(list.error());
    if (!hub) (*list)["hub"] = {{"url", ""}, {"sites", json::array()}, {"error", hub.error().message}};
    return list.value();
  });

  session.on_request("sandbox/rollback", rpc::Runs::on_worker,
                     [services](rpc::RequestContext& ctx) { return site_method(*services, ctx, true); });
  session.on_request("sandbox/unpublish", rpc::Runs::on_worker,
                     [services](rpc::RequestContext& ctx) { return site_method(*services, ctx, false); });
}

}  // namespace studyhub::service
