// A build's own network: the sandbox gets a network namespace of its own, and for the steps that may
// use the network (the install step by default) slirp4netns connects it to the internet in user
// mode, as rootless Podman does. From inside, the host's loopback is out of reach
// (--disable-host-loopback refuses slirp's alias 10.0.2.2), and routes of type "unreachable" close
// the private, shared and link-local ranges (cloud metadata at 169.254.169.254 among them) and this
// machine's own addresses. DNS goes through slirp (10.0.2.3), so the machine's resolver, wherever it
// is, is never addressed from inside. Steps without the network get a namespace with a loopback only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace studyhub::runner {

// What the sandbox's /etc/resolv.conf says: slirp4netns' own DNS forwarder.
inline constexpr const char* kBuildResolvConf = "nameserver 10.0.2.3\noptions timeout:2 attempts:3\n";

// The ranges made unreachable in a build's network, as "address/prefix".
std::vector<std::string> blocked_ranges();

// Whether slirp4netns is installed (Debian's package `slirp4netns`).
bool build_network_available();

class BuildNetwork {
 public:
  // Waits (up to `wait`) for the process `launcher` to start a child in a network namespace of its
  // own (bwrap --unshare-net), then connects that namespace and closes the blocked ranges. The
  // namespace stays connected until this object is destroyed.
  // slirp4netns' own messages go to `log` (the runner's, never the build's). With `as`, slirp4netns
  // and the route setup run as that user (the build user, who owns the sandbox's namespaces): no
  // capability of the runner's is needed, in a container either.
  struct Identity {
    uid_t uid;
    gid_t gid;
  };
  static Result<std::unique_ptr<BuildNetwork>> attach(pid_t launcher, std::chrono::milliseconds wait,
                                                      const std::filesystem::path& log = {},
                                                      std::optional<Identity> as = std::nullopt);
  ~BuildNetwork();
  BuildNetwork(const BuildNetwork&) = delete;
  BuildNetwork& operator=(const BuildNetwork&) = delete;

 private:
  explicit BuildNetwork(pid_t slirp) : slirp_(slirp) {}
  pid_t slirp_ = -1;
  int exit_fd_ = -1;  // slirp4netns stops when this closes
};

}  // namespace studyhub::runner
