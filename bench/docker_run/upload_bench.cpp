// Uploads a 1.5 MB payload to a docker-run service with the DockerRunClient, N times, and reports
// the median time until the request was sent (libcurl's progress callback), the upload rate and
// the median round trip. Writes the exact request body to a file so curl can send the same bytes.
//   upload_bench URL BODY_FILE [RUNS]   (token in STUDYHUB_SANDBOX_TOKEN)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <vector>

#include "runner/docker_run_client.h"

using namespace studyhub;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 3 || !std::getenv("STUDYHUB_SANDBOX_TOKEN")) {
    std::fprintf(stderr, "usage: STUDYHUB_SANDBOX_TOKEN=… upload_bench URL BODY_FILE [RUNS]\n");
    return 2;
  }
  int runs = argc > 3 ? std::atoi(argv[3]) : 20;
  std::mt19937 rng(7);
  std::string text(1'500'000, 'a');
  for (auto& c : text) c = static_cast<char>('a' + rng() % 26);
  runner::Payload payload{.language = "bash", .files = {{"run.sh", "echo ok\n"}, {"big.txt", text}},
                          .stdin_text = std::nullopt, .command = "echo ok"};
  runner::DockerRunConfig config;
  config.urls = {argv[1]};
  config.token = std::getenv("STUDYHUB_SANDBOX_TOKEN");
  std::ofstream(argv[2], std::ios::binary) << runner::docker_run_request_body(config.image, payload);

  runner::DockerRunClient client(config);
  std::vector<double> upload_ms, total_ms;
  for (int i = 0; i < runs; ++i) {
    auto start = Clock::now();
    Clock::time_point sent{};
    auto r = client.run(payload, {.stop = {}, .on_log = {}, .on_step = [&](const std::string& step, const std::string&, int) {
                                    if (step == "build" && sent == Clock::time_point{}) sent = Clock::now();
                                  }});
    auto end = Clock::now();
    if (!r || !r->error.empty() || sent == Clock::time_point{}) {
      std::fprintf(stderr, "run %d failed: %s\n", i, r ? r->error.c_str() : r.error().message.c_str());
      return 1;
    }
    upload_ms.push_back(std::chrono::duration<double, std::milli>(sent - start).count());
    total_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  double body_mb = static_cast<double>(runner::docker_run_request_body(config.image, payload).size()) / 1e6;
  std::printf("body %.2f MB, %d runs: upload median %.2f ms (%.0f MB/s), round trip median %.2f ms\n", body_mb, runs,
              median(upload_ms), body_mb / (median(upload_ms) / 1000.0), median(total_ms));
  std::printf("ROUNDTRIP_MS=%.3f\n", median(total_ms));
  return 0;
}
