#include "host/static_host.h"

#include <sched.h>
#include <sys/resource.h>

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio.hpp>
#include <thread>
#include <vector>

#include "host/connection.h"
#include "host/tcp_listen.h"
#include "host/worker.h"

namespace studyhub::host {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Connections and cached descriptors both count against the descriptor limit; Debian's soft
// limit (1024) is far below the hard one.
void raise_open_file_limit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// The cores this process may run on (taskset, a container's cpuset), not the machine's.
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return std::max(1u, std::thread::hardware_concurrency());
}

// Threads matched to cores, each a Worker; one acceptor hands connections round robin.
class Listener : public StaticHost {
 public:
  explicit Listener(const HostOptions& o) {
    auto config = std::make_shared<HostConfig>();
    config->state_dir = o.state_dir.string();
    config->layout = o.layout;
    config->api = o.api;
    unsigned threads = o.threads ? o.threads : usable_cores();
    // Each thread's share of the memory bound.
    config->cache.max_body_bytes = std::max<uint64_t>(4ull << 20, (64ull << 20) / threads);
    for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>(config));
    acceptor_.emplace(workers_[0]->io());
  }

  Status listen(const HostOptions& o) {
    raise_open_file_limit();
    auto bound = listen_on(*acceptor_, o.address, o.port, "choose another port with --port");
    if (!bound) return bound;
    port_ = acceptor_->local_endpoint().port();
    return ok_status();
  }

  uint16_t port() const override { return port_; }

  void run() override {
    accept();
    std::vector<std::thread> threads;
    for (size_t i = 1; i < workers_.size(); ++i) threads.emplace_back([w = workers_[i].get()] { run_worker(*w); });
    run_worker(*workers_[0]);
    for (auto& t : threads) t.join();
  }

  void stop() override {
    for (auto& w : workers_) w->io().stop();
  }

 private:
  static void run_worker(Worker& worker) {
    net::post(worker.io(), [&worker] { worker.start(); });
    worker.io().run();
  }

  void accept() {
    Worker& next = *workers_[next_++ % workers_.size()];
    acceptor_->async_accept(next.io(), [this, &next](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        net::post(next.io(), [&next, s = std::move(socket)]() mutable { serve_connection(next, std::move(s)); });
      } else if (ec == net::error::operation_aborted || !acceptor_->is_open()) {
        return;
      } else if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space) {
        // Out of descriptors: try again shortly rather than spin on the same error.
        retry_.emplace(workers_[0]->io());
        retry_->expires_after(std::chrono::milliseconds(100));
        return retry_->async_wait([this](boost::system::error_code) { accept(); });
      }
      accept();
    });
  }

  std::vector<std::unique_ptr<Worker>> workers_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> retry_;
  size_t next_ = 0;
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<StaticHost>> StaticHost::start(const HostOptions& options) {
  auto listener = std::make_unique<Listener>(options);
  auto ok = listener->listen(options);
  if (!ok) return ok.error();
  return std::unique_ptr<StaticHost>(std::move(listener));
}

}  // namespace studyhub::host
