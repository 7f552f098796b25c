// JSON-RPC throughput, latency, start-up and idle memory of `studyhub-sandbox serve`, measured
// against clangd (the reference LSP server in C++) in the same run with the same load.
//
// The cheap request is an unknown method: both servers answer it with -32601 without doing work,
// so what is measured is framing, parsing, dispatch and writing.
//
//   rpc_bench [--requests N] [--latency-samples N] [--starts N] [--peer PATH]
//   rpc_bench --soak N   one session, N requests in pipelined batches: RSS every N/10 (ours and
//                        clangd's), to show memory stays flat
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "rpc/framing.h"
#include "support/child_process.h"
#include "support/rpc_client.h"

using namespace studyhub::testing;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct Figures {
  double start_ms = 0, msgs_per_s = 0, p50_us = 0, p99_us = 0, rss_kib = 0;
};

class Peer {
 public:
  Peer(std::vector<std::string> argv, std::map<std::string, std::string> env) : child_(argv, env) {}
  void send(const json& m) { child_.write(studyhub::rpc::encode_frame(m.dump())); }
  json next() {
    studyhub::rpc::FrameReader::Callbacks cb{
        .on_message = [this](std::string b) { ready_.push_back(json::parse(b)); },
        .on_error = [](std::string e) { throw std::runtime_error(e); }};
    while (ready_.empty()) {
      std::string bytes = child_.read_stdout(std::chrono::seconds(30));
      if (bytes.empty()) throw std::runtime_error("peer went silent");
      reader_.feed(bytes, cb);
    }
    json m = std::move(ready_.front());
    ready_.pop_front();
    return m;
  }
  // Skips notifications (clangd may send some) until the answer to `id`.
  json answer(int id) {
    while (true) {
      json m = next();
      if (m.contains("id") && m["id"] == id && !m.contains("method")) return m;
    }
  }
  void initialize(const std::string& root) {
    send({{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"},
          {"params", {{"processId", nullptr}, {"rootUri", "file://" + root}, {"capabilities", json::object()}}}});
    answer(0);
    send({{"jsonrpc", "2.0"}, {"method", "initialized"}, {"params", json::object()}});
  }
  void stop() {
    send({{"jsonrpc", "2.0"}, {"id", -1}, {"method", "shutdown"}});
    answer(-1);
    send({{"jsonrpc", "2.0"}, {"method", "exit"}});
    child_.wait(std::chrono::seconds(10));
  }
  double rss_kib() {
    std::ifstream status("/proc/" + std::to_string(child_.pid()) + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6));
    return 0;
  }
  ChildProcess& child() { return child_; }

 private:
  ChildProcess child_;
  studyhub::rpc::FrameReader reader_;
  std::deque<json> ready_;
};

json cheap(int id) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "bench/unknownMethod"}, {"params", json::object()}};
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

Figures measure(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                const std::string& root, int requests, int samples, int starts) {
  Figures f;
  std::vector<double> start_times;
  for (int i = 0; i < starts; ++i) {
    auto t0 = Clock::now();
    Peer p(argv, env);
    p.initialize(root);
    start_times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    p.stop();
  }
  f.start_ms = percentile(start_times, 0.5);

  Peer p(argv, env);
  p.initialize(root);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let background start-up settle
  f.rss_kib = p.rss_kib();

  // Throughput: a writer thread pipelines every request while this thread reads the answers.
  std::string batch;
  for (int i = 1; i <= requests; ++i) batch += studyhub::rpc::encode_frame(cheap(i).dump());
  auto t0 = Clock::now();
  std::thread writer([&] { p.child().write(batch); });
  for (int i = 1; i <= requests; ++i) p.answer(i);
  writer.join();
  f.msgs_per_s = requests / std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<double> latencies;
  for (int i = 0; i < samples; ++i) {
    int id = requests + 1 + i;
    auto s = Clock::now();
    p.send(cheap(id));
    p.answer(id);
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
  }
  f.p50_us = percentile(latencies, 0.5);
  f.p99_us = percentile(latencies, 0.99);
  p.stop();
  return f;
}

// RSS (KiB) after every tenth of `total` cheap requests through one session.
std::vector<double> soak(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         const std::string& root, int total) {
  Peer p(argv, env);
  p.initialize(root);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<double> rss{p.rss_kib()};
  const int batch_size = 10000, step = std::max(batch_size, total / 10);
  for (int sent = 0; sent < total;) {
    std::string batch;
    int first = sent + 1, last = std::min(total, sent + batch_size);
    for (int i = first; i <= last; ++i) batch += studyhub::rpc::encode_frame(cheap(i).dump());
    std::thread writer([&] { p.child().write(batch); });
    for (int i = first; i <= last; ++i) p.answer(i);
    writer.join();
    sent = last;
    if (sent % step == 0 || sent == total) rss.push_back(p.rss_kib());
  }
  p.stop();
  return rss;
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 10000, samples = 2000, starts = 10;
  std::string peer = "/usr/bin/clangd";
  int soak_total = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--soak") soak_total = std::stoi(argv[i + 1]);
    if (a == "--requests") requests = std::stoi(argv[i + 1]);
    else if (a == "--latency-samples") samples = std::stoi(argv[i + 1]);
    else if (a == "--starts") starts = std::stoi(argv[i + 1]);
    else if (a == "--peer") peer = argv[i + 1];
  }
  TempDir dir;
  if (soak_total > 0) {
    auto ours = soak({binary_path(), "serve"}, {{"STUDYHUB_SANDBOX_HOME", dir.path() + "/state"}}, dir.path(), soak_total);
    auto theirs = soak({peer, "--log=error", "--background-index=false"}, {{"HOME", dir.path()}}, dir.path(), soak_total);
    std::printf("JSON-RPC soak: %d requests through one session; RSS in MiB after each tenth\n", soak_total);
    std::printf("%-18s", "studyhub-sandbox");
    for (double r : ours) std::printf(" %6.1f", r / 1024);
    std::printf("\n%-18s", "clangd");
    for (double r : theirs) std::printf(" %6.1f", r / 1024);
    std::printf("\ngrowth after the first tenth: ours %+.1f MiB, clangd %+.1f MiB\n", (ours.back() - ours[1]) / 1024,
                (theirs.back() - theirs[1]) / 1024);
    return 0;
  }
  Figures ours = measure({binary_path(), "serve"}, {{"STUDYHUB_SANDBOX_HOME", dir.path() + "/state"}},
                         dir.path(), requests, samples, starts);
  Figures theirs = measure({peer, "--log=error", "--background-index=false"}, {{"HOME", dir.path()}},
                           dir.path(), requests, samples, starts);

  std::printf("JSON-RPC benchmark: %d pipelined requests, %d sequential round trips, %d starts\n",
              requests, samples, starts);
  std::printf("%-26s %16s %16s %10s\n", "figure", "studyhub-sandbox", "clangd", "ratio");
  auto row = [](const char* name, double a, double b, bool higher_is_better) {
    std::printf("%-26s %16.1f %16.1f %9.2fx %s\n", name, a, b, higher_is_better ? a / b : b / a,
                "(>1 = ours better)");
  };
  row("throughput (msgs/s)", ours.msgs_per_s, theirs.msgs_per_s, true);
  row("latency p50 (us)", ours.p50_us, theirs.p50_us, false);
  row("latency p99 (us)", ours.p99_us, theirs.p99_us, false);
  row("start to initialize (ms)", ours.start_ms, theirs.start_ms, false);
  row("idle RSS (KiB)", ours.rss_kib, theirs.rss_kib, false);
  return 0;
}
