#include "support/rpc_client.h"

#include <cstdlib>
#include <filesystem>

namespace studyhub::testing {

// STUDYHUB_TEST_BINARY runs the suite against another build, e.g. the previous one, to show that a
// test of an attack fails where the attack still works.
std::string binary_path() {
  const char* other = std::getenv("STUDYHUB_TEST_BINARY");
  return other && *other ? other : STUDYHUB_BINARY;
}
std::string protocol_dir() { return STUDYHUB_PROTOCOL_DIR; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "studyhub-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
std::vector<std::string> serve_argv(std::vector<std::string> args) {
  std::vector<std::string> argv{binary_path(), "--log-level", "info", "serve"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}
std::map<std::string, std::string> with_state(std::map<std::string, std::string> env,
                                              const std::string& dir) {
  env.try_emplace("STUDYHUB_SANDBOX_HOME", dir);
  return env;
}
}  // namespace

RpcClient::RpcClient(std::vector<std::string> serve_args, std::map<std::string, std::string> env)
    : child_(serve_argv(std::move(serve_args)), with_state(std::move(env), state_.path() + "/state")) {}

RpcClient::~RpcClient() {
  child_.close_stdin();
  child_.wait(10s);
  // A publish started the state directory's background host: stop it with the test.
  if (std::filesystem::exists(state_.path() + "/state/host.json"))
    run_command({binary_path(), "host", "--stop"}, {{"STUDYHUB_SANDBOX_HOME", state_.path() + "/state"}}, 10s);
}

void RpcClient::send(const json& message) { child_.write(rpc::encode_frame(message.dump())); }

void RpcClient::notify(std::string method, json params) {
  send({{"jsonrpc", "2.0"}, {"method", method}, {"params", params}});
}

json RpcClient::request(int id, std::string method, json params, std::chrono::milliseconds timeout) {
  send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
  auto r = response(id, timeout);
  if (!r) throw std::runtime_error("no answer to " + method);
  return *r;
}

void RpcClient::initialize() {
  json r = request(0, "initialize", {{"processId", nullptr}, {"capabilities", json::object()}});
  if (!r.contains("result")) throw std::runtime_error("initialize failed: " + r.dump());
  notify("initialized");
}

std::optional<json> RpcClient::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  rpc::FrameReader::Callbacks cb{
      .on_message = [this](std::string body) { ready_.push_back(json::parse(body)); },
      .on_error = [](std::string problem) { throw std::runtime_error("bad frame from server: " + problem); },
  };
  while (ready_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms || child_.stdout_eof()) return std::nullopt;
    std::string bytes = child_.read_stdout(left);
    if (!bytes.empty()) reader_.feed(bytes, cb);
  }
  json m = std::move(ready_.front());
  ready_.pop_front();
  return m;
}

std::optional<json> RpcClient::response(const json& id, std::chrono::milliseconds timeout) {
  // An answer may have arrived while we waited for another one.
  for (auto it = seen.begin(); it != seen.end(); ++it)
    if (it->contains("id") && !it->contains("method") && (*it)["id"] == id) {
      json m = std::move(*it);
      seen.erase(it);
      return m;
    }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto m = next(std::max(left, 0ms));
    if (!m) return std::nullopt;
    if (m->contains("id") && !m->contains("method") && (*m)["id"] == id) return m;
    seen.push_back(std::move(*m));
  }
}

}  // namespace studyhub::testing
