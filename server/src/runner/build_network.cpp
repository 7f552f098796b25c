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
#include <utility>
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

namespace {

// A descriptor, closed with its owner.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Moved above 10, close-on-exec: a child's dup2 onto 3…6 never lands on its own source.
  Fd lifted() && {
    if (!ok()) return Fd();
    return Fd(::fcntl(fd_, F_DUPFD_CLOEXEC, 10));
  }

 private:
  int fd_;
};

struct Pipe {
  Fd read, write;
};

std::optional<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// slirp4netns (as `as`, where given) for the namespace `net`, which the user namespace `owner`
// owns: it writes "1" to `ready` once tap0 is configured and stops when `exit` closes.
Result<pid_t> spawn_slirp(const Fd& net, const Fd& owner, const Fd& ready, const Fd& exit, const fs::path& log,
                          std::optional<BuildNetwork::Identity> as) {
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
  posix_spawn_file_actions_adddup2(&actions, ready.get(), 3);
  posix_spawn_file_actions_adddup2(&actions, exit.get(), 4);
  posix_spawn_file_actions_adddup2(&actions, net.get(), 5);
  posix_spawn_file_actions_adddup2(&actions, owner.get(), 6);
  pid_t pid = -1;
  int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return Error{std::string("cannot start slirp4netns: ") + std::strerror(spawned)};
  return pid;
}

// The last line slirp4netns wrote, for a message.
std::string last_line(const fs::path& log) {
  std::string text = log.empty() ? std::string() : read_file_or_empty(log);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

}  // namespace

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
  // The sandbox's network namespace and the user namespace that owns it: bwrap's process may have
  // moved on to a nested user namespace by now, so the owner is asked of the namespace itself.
  Fd net(::open(("/proc/" + std::to_string(sandbox.value()) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
  Fd owner(net.ok() ? ::ioctl(net.get(), NS_GET_USERNS) : -1);
  auto ready = make_pipe();
  auto exit = make_pipe();
  if (!net.ok() || !owner.ok() || !ready || !exit) return Error{"the build's sandbox ended before its network was set up"};
  auto slirp = spawn_slirp(std::move(net).lifted(), std::move(owner).lifted(), std::move(ready->write).lifted(),
                           std::move(exit->read).lifted(), log, as);
  if (!slirp) return slirp.error();
  ready->write.reset();  // slirp4netns holds the only writer now: its death is an end of file here
  std::unique_ptr<BuildNetwork> network(new BuildNetwork(slirp.value()));
  network->exit_fd_ = exit->write.release();
  pollfd p{ready->read.get(), POLLIN, 0};
  char byte = 0;
  if (::poll(&p, 1, 10'000) != 1 || ::read(ready->read.get(), &byte, 1) != 1 || byte != '1') {
    std::string why = last_line(log);
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
