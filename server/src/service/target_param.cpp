#include "service/target_param.h"

namespace studyhub::service {

rpc::Param<runner::TargetLayer> target_param(const rpc::json& object, std::string_view where) {
  runner::TargetLayer layer;
  if (!object.is_object()) return layer;
  // Request params name their fields bare, as every other -32602 does.
  auto field = [&](const std::string& name) { return where == "params" ? name : std::string(where) + "." + name; };
  auto target = rpc::optional_string(object, "target");
  if (!target) return rpc::invalid_param(field("target"), "must be a string");
  const auto& chosen = target.value();
  if (chosen && *chosen != "local" && *chosen != "docker-run" && *chosen != "hub")
    return rpc::invalid_param(field("target"), "must be \"local\", \"docker-run\" or \"hub\"");
  layer.target = chosen;
  // {"dockerRun": {url, token, image}} and {"hub": {url, token}}: empty strings count as unset.
  auto read = [&](const char* group, std::initializer_list<std::pair<const char*, std::optional<std::string>*>> keys)
      -> std::optional<rpc::RpcError> {
    auto it = object.find(group);
    if (it == object.end() || it->is_null()) return std::nullopt;
    if (!it->is_object()) return rpc::invalid_param(field(group), "must be an object");
    for (auto [key, out] : keys) {
      auto value = rpc::optional_string(*it, key);
      if (!value) return rpc::invalid_param(field(std::string(group) + "." + key), "must be a string");
      if (value.value() && !value.value()->empty()) *out = *value.value();
    }
    return std::nullopt;
  };
  if (auto e = read("dockerRun", {{"url", &layer.url}, {"token", &layer.token}, {"image", &layer.image}})) return *e;
  if (auto e = read("hub", {{"url", &layer.hub_url}, {"token", &layer.hub_token}})) return *e;
  return layer;
}

}  // namespace studyhub::service
