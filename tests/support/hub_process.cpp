#include "support/hub_process.h"

#include <signal.h>

#include <regex>
#include <stdexcept>

#include "support/rpc_client.h"

namespace studyhub::testing {

HubProcess::HubProcess(const std::string& database, const std::string& data_dir, std::vector<std::string> flags,
                       std::map<std::string, std::string> env, const std::string& mode) {
  log_path_ = tmp_.path() + "/hub.log";
  // sh only redirects stderr to the log file, then becomes the hub (exec): the pid is the hub's.
  std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$@\" 2>>" + log_path_, "sh", binary_path(), "--log-level",
                                "info", "hub", mode, "--database", database, "--data", data_dir};
  if (mode == "serve") {
    argv.push_back("--port");
    argv.push_back("0");
  }
  argv.insert(argv.end(), flags.begin(), flags.end());
  if (!env.count("STUDYHUB_SANDBOX_HOME")) env["STUDYHUB_SANDBOX_HOME"] = tmp_.path() + "/state";
  child_ = std::make_unique<ChildProcess>(argv, env);
  std::string out;
  static const std::regex listening(R"(hub listening on (http://127\.0\.0\.1:\d+))");
  static const std::regex working(R"(hub worker running)");
  std::smatch m;
  for (int i = 0; i < 300; ++i) {
    if (std::regex_search(out, m, listening) || std::regex_search(out, working)) break;
    out += child_->read_stdout(std::chrono::milliseconds(100));
    if (child_->stdout_eof()) break;
  }
  if (std::regex_search(out, m, listening)) url_ = m[1];
  else if (!std::regex_search(out, working)) throw std::runtime_error("the hub did not start: " + out + log());
}

HubProcess::~HubProcess() {
  if (!gone_) terminate(std::chrono::seconds(30));
}

std::string HubProcess::log() const {
  std::error_code ec;
  return fs::exists(log_path_, ec) ? read_file(log_path_) : std::string();
}

std::optional<int> HubProcess::terminate(std::chrono::seconds wait) {
  if (gone_) return std::nullopt;
  ::kill(child_->pid(), SIGTERM);
  auto status = child_->wait(wait);
  gone_ = true;
  return status;  // the ChildProcess destructor kills it if it did not exit
}

void HubProcess::kill9() {
  ::kill(child_->pid(), SIGKILL);
  child_->wait(std::chrono::seconds(10));
  gone_ = true;
}

std::string hub_user_add(const std::string& database, const std::string& name) {
  auto r = run_command({binary_path(), "hub", "user", "add", name, "--database", database});
  if (r.status != 0) throw std::runtime_error("hub user add failed: " + r.err);
  std::string token = r.out;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  return token;
}

ApiAnswer hub_api(const std::string& base, const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body, const std::vector<std::string>& headers) {
  std::vector<std::string> all = headers;
  all.push_back("Expect:");  // no 100-continue wait for larger bodies
  if (!token.empty()) all.push_back("Authorization: Bearer " + token);
  if (!body.empty()) all.push_back("Content-Type: application/json");
  auto r = http_request(method, base + path, all, body);
  ApiAnswer a{r.status, nlohmann::json::parse(r.body, nullptr, false), r.headers};
  if (a.body.is_discarded()) a.body = r.body;
  return a;
}

}  // namespace studyhub::testing
