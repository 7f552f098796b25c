#include "runner/build_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "core/file_io.h"

extern char** environ;

namespace studyhub::runner {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSlirp = "/usr/bin/slirp4netns";

// Private (RFC 1918), shared (RFC 6598), link-local (cloud metadata services), "this network", and
// IPv6 unique-local and link-local. The namespace's own 127/8 is its own loopback; the host's is
// reachable only through slirp's alias 10.0.2.2, which --disable-host-loopback refuses.
constexpr const char* kBlocked[] = {"0.0.0.0/8",      "10.0.0.0/8",     "100.64.0.0/10", "169.254.0.0/16",
                                    "172.16.0.0/12",  "192.168.0.0/16", "fc00::/7",      "fe80::/10"};

// An RTM_NEWROUTE message adding an "unreachable" route, built before fork so the child only sends.
struct RouteMessage {
  struct {
    nlmsghdr header;
    rtmsg route;
    char attributes[64];
  } request{};
  bool ipv6 = false;
};

std::optional<RouteMessage> unreachable_route(const std::string& cidr) {
  auto slash = cidr.find('/');
  std::string address = cidr.substr(0, slash);
  int prefix = std::stoi(cidr.substr(slash + 1));
  RouteMessage m;
  unsigned char bytes[16];
  m.ipv6 = address.find(':') != std::string::npos;
  if (inet_pton(m.ipv6 ? AF_INET6 : AF_INET, address.c_str(), bytes) != 1) return std::nullopt;
  size_t length = m.ipv6 ? 16 : 4;
  auto& r = m.request;
  r.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  r.header.nlmsg_type = RTM_NEWROUTE;
  r.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
  r.route.rtm_family = static_cast<unsigned char>(m.ipv6 ? AF_INET6 : AF_INET);
  r.route.rtm_dst_len = static_cast<unsigned char>(prefix);
  r.route.rtm_table = RT_TABLE_MAIN;
  r.route.rtm_protocol = RTPROT_STATIC;
  r.route.rtm_scope = RT_SCOPE_UNIVERSE;
  r.route.rtm_type = RTN_UNREACHABLE;
  auto* attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&r) + NLMSG_ALIGN(r.header.nlmsg_len));
  attribute->rta_type = RTA_DST;
  attribute->rta_len = static_cast<unsigned short>(RTA_LENGTH(length));
  std::memcpy(RTA_DATA(attribute), bytes, length);
  r.header.nlmsg_len = NLMSG_ALIGN(r.header.nlmsg_len) + RTA_ALIGN(attribute->rta_len);
  return m;
}

// In the forked child only (async-signal-safe calls): sends one route, answers 0 or an errno.
int send_route(int sock, RouteMessage& m) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock, &m.request, m.request.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return errno;
  alignas(nlmsghdr) char answer[512];
  ssize_t n = ::recv(sock, answer, sizeof answer, 0);
  if (n < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr)))) return EIO;
  auto* header = reinterpret_cast<nlmsghdr*>(answer);
  if (header->nlmsg_type != NLMSG_ERROR) return EIO;
  return -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(header))->error;
}

// This machine's own addresses (not loopback): a build must not reach a service listening on them.
std::vector<std::string> own_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || (a->ifa_flags & IFF_LOOPBACK)) continue;
    char text[INET6_ADDRSTRLEN];
    if (a->ifa_addr->sa_family == AF_INET &&
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text))
      out.push_back(std::string(text) + "/32");
    else if (a->ifa_addr->sa_family == AF_INET6 &&
             inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, text, sizeof text))
      out.push_back(std::string(text) + "/128");
  }
  freeifaddrs(list);
  return out;
}

ino_t net_namespace(pid_t pid) {
  struct stat st {};
  std::string path = pid ? "/proc/" + std::to_string(pid) + "/ns/net" : std::string("/proc/self/ns/net");
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// The parent's pid from /proc/<pid>/stat ("pid (comm) state ppid …"; comm may hold spaces).
pid_t parent_of(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 4 > text.size()) return 0;
  return static_cast<pid_t>(std::atoi(text.c_str() + close + 4));
}

// A child of `launcher` in a network namespace other than ours: bwrap's sandbox.
Result<pid_t> find_sandbox(pid_t launcher, std::chrono::milliseconds wait) {
  const ino_t ours = net_namespace(0);
  auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    if (::kill(launcher, 0) != 0) return Error{"the build ended before its network was set up"};
    std::error_code ec;
    for (auto& e : fs::directory_iterator("/proc", ec)) {
      std::string name = e.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos || parent_of(name) != launcher) continue;
      pid_t child = static_cast<pid_t>(std::stoi(name));
      ino_t ns = net_namespace(child);
      // Its user namespace mapped too: joined before bwrap writes the map, it refuses the tap.
      if (ns != 0 && ns != ours && !read_file_or_empty("/proc/" + name + "/uid_map").empty()) return child;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Error{"the build's sandbox did not start within " + std::to_string(wait.count()) + " ms"};
}

// Enters the sandbox's namespaces in a child process and adds the routes there.
Status close_ranges(pid_t sandbox, std::optional<BuildNetwork::Identity> as) {
  std::vector<RouteMessage> routes;
  for (const char* cidr : kBlocked)
    if (auto m = unreachable_route(cidr)) routes.push_back(*m);
  for (const auto& cidr : own_addresses())
    if (auto m = unreachable_route(cidr)) routes.push_back(*m);
  int net_fd = ::open(("/proc/" + std::to_string(sandbox) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
  int user_fd = net_fd >= 0 ? ::ioctl(net_fd, NS_GET_USERNS) : -1;  // the namespace that owns the network
  if (user_fd < 0 || net_fd < 0) {
    if (user_fd >= 0) ::close(user_fd);
    if (net_fd >= 0) ::close(net_fd);
    return Error{"the build's sandbox ended before its network was set up"};
  }
  pid_t child = ::fork();
  if (child == 0) {
    // As the namespaces' owner: entering its user namespace gives the capabilities routes need there.
    if (as && (::setgroups(0, nullptr) != 0 || ::setresgid(as->gid, as->gid, as->gid) != 0 ||
               ::setresuid(as->uid, as->uid, as->uid) != 0))
      ::_exit(9);
    // Root enters the network namespace directly (it holds the capabilities over every namespace).
    if (::geteuid() != 0 && ::setns(user_fd, CLONE_NEWUSER) != 0) ::_exit(10);
    if (::setns(net_fd, CLONE_NEWNET) != 0) ::_exit(11);
    int sock = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (sock < 0) ::_exit(12);
    for (auto& r : routes)
      if (send_route(sock, r) != 0 && !r.ipv6) ::_exit(13);  // no IPv6 in the namespace: nothing to close
    ::_exit(0);
  }
  ::close(user_fd);
  ::close(net_fd);
  if (child < 0) return Error{std::string("cannot set up the build's network: ") + std::strerror(errno)};
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error{"cannot close the private address ranges in the build's network (step " +
                 std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")"};
  return ok_status();
}

}  // namespace

std::vector<std::string> blocked_ranges() {
  std::vector<std::string> out(std::begin(kBlocked), std::end(kBlocked));
  for (auto& a : own_addresses()) out.push_back(std::move(a));
  return out;
}

bool build_network_available() { return ::access(kSlirp, X_OK) == 0; }

Result<std::unique_ptr<BuildNetwork>> BuildNetwork::attach(pid_t launcher, std::chrono::milliseconds wait,
                                                           const fs::path& log, std::optional<Identity> as) {
  // The build user can make the tap only where /dev/net/tun is open to everyone (Debian's udev rule
  // makes it 0666); elsewhere the runner, as root, does it.
  struct stat tun {};
  if (as && (::stat("/dev/net/tun", &tun) != 0 || (tun.st_mode & 0006) != 0006)) as.reset();
  if (!build_network_available())
    return Error{"builds get the network through slirp4netns, which is not installed (apt-get install slirp4netns)"};
  auto sandbox = find_sandbox(launcher, wait);
  if (!sandbox) return sandbox.error();
  // ready: slirp4netns writes "1" there once tap0 is configured; exit: it stops when the runner
  // closes (or loses) the other end, so a crashed runner leaves no slirp4netns behind.
  int ready[2], exit_pipe[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return Error{"cannot set up the build's network: no pipe"};
  if (::pipe2(exit_pipe, O_CLOEXEC) != 0) {
    ::close(ready[0]);
    ::close(ready[1]);
    return Error{"cannot set up the build's network: no pipe"};
  }
  // Above the numbers they become in the child (3 and 4), so no dup2 lands on its own source.
  for (int* fd : {&ready[1], &exit_pipe[0]}) {
    int high = ::fcntl(*fd, F_DUPFD_CLOEXEC, 10);
    ::close(*fd);
    *fd = high;
  }
  // The sandbox's network namespace and the user namespace that owns it, as descriptors slirp4netns
  // inherits (5 and 6): bwrap's process may have moved on to a nested user namespace by now.
  int net_fd = ::open(("/proc/" + std::to_string(sandbox.value()) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
  int owner_fd = net_fd >= 0 ? ::ioctl(net_fd, NS_GET_USERNS) : -1;
  if (owner_fd >= 0) ::fcntl(owner_fd, F_SETFD, FD_CLOEXEC);
  for (int* fd : {&net_fd, &owner_fd}) {
    if (*fd < 0) continue;
    int high = ::fcntl(*fd, F_DUPFD_CLOEXEC, 10);
    ::close(*fd);
    *fd = high;
  }
  if (net_fd < 0 || owner_fd < 0) {
    for (int fd : {ready[0], ready[1], exit_pipe[0], exit_pipe[1], net_fd, owner_fd})
      if (fd >= 0) ::close(fd);
    return Error{"the build's sandbox ended before its network was set up"};
  }
  std::vector<std::string> args;
  if (as)
    args = {"/usr/bin/setpriv", "--reuid=" + std::to_string(as->uid), "--regid=" + std::to_string(as->gid),
            "--clear-groups", "--"};
  args.insert(args.end(), {kSlirp, "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3",
                                "--exit-fd=4", "--netns-type=path", "--userns-path=/proc/self/fd/6", "/proc/self/fd/5", "tap0"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log.empty() ? "/dev/null" : log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, ready[1], 3);
  posix_spawn_file_actions_adddup2(&actions, exit_pipe[0], 4);
  posix_spawn_file_actions_adddup2(&actions, net_fd, 5);
  posix_spawn_file_actions_adddup2(&actions, owner_fd, 6);
  pid_t slirp = -1;
  int spawned = posix_spawn(&slirp, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  for (int fd : {ready[1], exit_pipe[0], net_fd, owner_fd}) ::close(fd);
  std::unique_ptr<BuildNetwork> network(new BuildNetwork(spawned == 0 ? slirp : -1));
  network->exit_fd_ = exit_pipe[1];
  if (spawned != 0) {
    ::close(ready[0]);
    return Error{std::string("cannot start slirp4netns: ") + std::strerror(spawned)};
  }
  pollfd p{ready[0], POLLIN, 0};
  char byte = 0;
  bool up = ::poll(&p, 1, 10'000) == 1 && ::read(ready[0], &byte, 1) == 1 && byte == '1';
  ::close(ready[0]);
  if (!up) {
    std::string why = log.empty() ? std::string() : read_file_or_empty(log);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    if (auto nl = why.rfind('\n'); nl != std::string::npos) why = why.substr(nl + 1);
    return Error{"slirp4netns did not connect the build's network" + (why.empty() ? "" : " (" + why + ")")};
  }
  if (auto closed = close_ranges(sandbox.value(), as); !closed) return closed.error();
  return network;
}

BuildNetwork::~BuildNetwork() {
  if (exit_fd_ >= 0) ::close(exit_fd_);
  if (slirp_ > 0) {
    ::kill(slirp_, SIGTERM);
    ::waitpid(slirp_, nullptr, 0);
  }
}

}  // namespace studyhub::runner
