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
  if (chosen && *chosen != "local" && *chosen != "docker-run")
    return rpc::invalid_param(field("target"), "must be \"local\" or \"docker-run\"");
  layer.target = chosen;
  auto it = object.find("dockerRun");
  if (it == object.end() || it->is_null()) return layer;
  if (!it->is_object()) return rpc::invalid_param(field("dockerRun"), "must be an object");
  for (auto [key, out] : {std::pair{"url", &layer.url}, {"token", &layer.token}, {"image", &layer.image}}) {
    auto value = rpc::optional_string(*it, key);
    if (!value) return rpc::invalid_param(field("dockerRun." + std::string(key)), "must be a string");
    if (value.value() && !value.value()->empty()) *out = *value.value();
  }
  return layer;
}

}  // namespace studyhub::service
