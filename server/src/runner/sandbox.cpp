#include "runner/sandbox.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "core/file_io.h"
#include "core/relpath.h"
#include "core/wait.h"
#include "core/text.h"
#include "publish/links.h"
#include "runner/build_network.h"
#include "runner/local_runner.h"

namespace studyhub::runner {

namespace fs = std::filesystem;

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string join_quoted(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + quote(a);
  return out;
}

bool write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

// The read-only system a build sees: /usr (and the merged-/usr links), /etc, /proc, and the prefix
// of a Node.js installed outside /usr. /proc is the sandbox's own (its pid namespace only), except
// where the kernel refuses a new one: in a container whose /proc has masked paths (Docker's
// default), the container's is shown read-only instead (see SandboxSupport::private_proc).
std::vector<std::string> system_binds(bool private_proc) {
  std::vector<std::string> a{"--ro-bind", "/usr", "/usr"};
  for (const char* top : {"/bin", "/lib", "/lib64", "/sbin", "/lib32", "/libx32"}) {
    std::error_code ec;
    if (fs::is_symlink(top, ec)) {
      a.insert(a.end(), {"--symlink", fs::read_symlink(top, ec).string(), top});
    } else if (fs::is_directory(top, ec)) {
      a.insert(a.end(), {"--ro-bind", top, top});
    }
  }
  a.insert(a.end(), {"--ro-bind", "/etc", "/etc", "--dev", "/dev"});
  // The container's /proc where a new one is refused: writable only for what the build user may
  // write there anyway (its own processes' files, the uid map of a nested sandbox).
  if (private_proc) a.insert(a.end(), {"--proc", "/proc"});
  else a.insert(a.end(), {"--bind", "/proc", "/proc"});
  // Node.js (and npm) where the runner found it, when that is not under /usr.
  if (const char* path = std::getenv("PATH")) {
    for (const auto& dir : split_list(path, ':')) {
      std::error_code ec;
      fs::path node = fs::path(dir) / "node";
      if (!fs::exists(node, ec)) continue;
      fs::path prefix = fs::canonical(node, ec).parent_path().parent_path();
      if (!ec && !prefix.string().starts_with("/usr") && prefix != "/") a.insert(a.end(), {"--ro-bind", prefix.string(), prefix.string()});
      break;
    }
  }
  return a;
}

std::string sandbox_path() {
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  if (const char* env = std::getenv("PATH")) {
    for (const auto& dir : split_list(env, ':')) {
      std::error_code ec;
      fs::path node = fs::path(dir) / "node";
      if (!fs::exists(node, ec)) continue;
      fs::path bin = fs::canonical(node, ec).parent_path();
      if (!ec && !bin.string().starts_with("/usr")) path = bin.string() + ":" + path;
      break;
    }
  }
  return path;
}

// A cgroup per build, in v2 or in v1's memory and pids hierarchies, below the runner's own cgroup.
class BuildCgroup {
 public:
  // Creates it; an empty cgroup (no dirs) when the machine does not allow one.
  static BuildCgroup create(const SandboxOptions& o, std::string* problem);
  ~BuildCgroup() { destroy(); }
  BuildCgroup(BuildCgroup&& other) noexcept : version_(other.version_), dirs_(std::move(other.dirs_)) { other.dirs_.clear(); }
  BuildCgroup& operator=(BuildCgroup&&) = delete;

  const std::string& version() const { return version_; }
  bool memory() const { return memory_; }
  bool pids() const { return pids_; }
  // cgroup.procs files a new build process writes its pid to.
  std::vector<std::string> procs_files() const {
    std::vector<std::string> out;
    for (const auto& d : dirs_) out.push_back(d + "/cgroup.procs");
    return out;
  }
  bool ran_out_of_memory() const;
  bool hit_process_limit() const;
  void kill_all() const;

 private:
  BuildCgroup() = default;
  void destroy();
  std::string version_ = "none";
  std::vector<std::string> dirs_;
  std::string memory_dir_, pids_dir_;
  bool memory_ = false, pids_ = false;
};

// The runner's own cgroup path in a hierarchy, from /proc/self/cgroup ("0::/x" for v2, "4:memory:/x").
std::optional<std::string> own_cgroup(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (controller.empty() ? (line.starts_with("0::")) : (("," + controllers + ",").find("," + controller + ",") != std::string::npos))
      return path == "/" ? std::string() : path;
  }
  return std::nullopt;
}

std::atomic<uint64_t> cgroup_counter{0};

BuildCgroup BuildCgroup::create(const SandboxOptions& o, std::string* problem) {
  BuildCgroup cg;
  std::string name = "studyhub-build-" + std::to_string(::getpid()) + "-" + std::to_string(++cgroup_counter);
  std::error_code ec;
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers", ec)) {
    // v2: controllers must be enabled in the parent's subtree_control, which the kernel allows only
    // when the parent holds no processes of its own: the runner moves into a leaf of its cgroup.
    auto self = own_cgroup("");
    if (!self) return cg;
    std::string parent = "/sys/fs/cgroup" + *self;
    std::string controllers = read_file_or_empty(parent + "/cgroup.subtree_control");
    if (controllers.find("memory") == std::string::npos || controllers.find("pids") == std::string::npos) {
      if (!write_text(parent + "/cgroup.subtree_control", "+memory +pids")) {
        std::string leaf = parent + "/studyhub-runner";
        fs::create_directory(leaf, ec);
        if (!write_text(leaf + "/cgroup.procs", std::to_string(::getpid())) ||
            !write_text(parent + "/cgroup.subtree_control", "+memory +pids")) {
          if (problem) *problem = "cgroup v2: cannot enable memory and pids for the builds in " + parent;
          return cg;
        }
      }
    }
    std::string dir = parent + "/" + name;
    if (!fs::create_directory(dir, ec) || ec) {
      if (problem) *problem = "cgroup v2: cannot create " + dir + " (" + ec.message() + ")";
      return cg;
    }
    cg.version_ = "v2";
    cg.dirs_.push_back(dir);
    cg.memory_dir_ = cg.pids_dir_ = dir;
    cg.memory_ = write_text(dir + "/memory.max", std::to_string(o.memory_bytes));
    write_text(dir + "/memory.swap.max", "0");
    cg.pids_ = write_text(dir + "/pids.max", std::to_string(o.max_processes));
    return cg;
  }
  // v1: one directory per controller hierarchy.
  for (const char* controller : {"memory", "pids"}) {
    auto self = own_cgroup(controller);
    std::string mount = std::string("/sys/fs/cgroup/") + controller;
    if (!self || !fs::exists(mount + "/cgroup.procs", ec)) continue;
    std::string dir = mount + *self + "/" + name;
    if (!fs::create_directory(dir, ec) || ec) {
      if (problem) *problem = std::string("cgroup v1: cannot create ") + dir + " (" + ec.message() + ")";
      continue;
    }
    cg.dirs_.push_back(dir);
    if (std::string(controller) == "memory") {
      cg.memory_dir_ = dir;
      cg.memory_ = write_text(dir + "/memory.limit_in_bytes", std::to_string(o.memory_bytes));
      write_text(dir + "/memory.memsw.limit_in_bytes", std::to_string(o.memory_bytes));  // no swap either, where accounted
    } else {
      cg.pids_dir_ = dir;
      cg.pids_ = write_text(dir + "/pids.max", std::to_string(o.max_processes));
    }
  }
  if (!cg.dirs_.empty()) cg.version_ = "v1";
  return cg;
}

bool BuildCgroup::ran_out_of_memory() const {
  if (memory_dir_.empty()) return false;
  std::string events = read_file_or_empty(memory_dir_ + (version_ == "v2" ? "/memory.events" : "/memory.oom_control"));
  auto at = events.find("oom_kill ");
  if (at != std::string::npos && std::atoll(events.c_str() + at + 9) > 0) return true;
  return version_ == "v1" && std::atoll(read_file_or_empty(memory_dir_ + "/memory.failcnt").c_str()) > 0 &&
         events.find("under_oom 1") != std::string::npos;
}

bool BuildCgroup::hit_process_limit() const {
  if (pids_dir_.empty()) return false;
  std::string events = read_file_or_empty(pids_dir_ + "/pids.events");
  auto at = events.find("max ");
  return at != std::string::npos && std::atoll(events.c_str() + at + 4) > 0;
}

void BuildCgroup::kill_all() const {
  for (const auto& dir : dirs_) {
    if (version_ == "v2" && write_text(dir + "/cgroup.kill", "1")) continue;
    // Without cgroup.kill: signal every member until none is left (a fork bomb keeps forking).
    for (int round = 0; round < 200; ++round) {
      std::istringstream procs(read_file_or_empty(dir + "/cgroup.procs"));
      bool any = false;
      for (int pid; procs >> pid;) {
        any = true;
        ::kill(pid, SIGKILL);
      }
      if (!any) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

void BuildCgroup::destroy() {
  if (dirs_.empty()) return;
  kill_all();
  for (const auto& dir : dirs_)
    for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  dirs_.clear();
}

// Whether `uid`/`gid` may walk down to `dir` (every folder on the way searchable by them).
bool reachable_by(const fs::path& dir, uid_t uid, gid_t gid) {
  fs::path at;
  for (const auto& part : dir) {
    at /= part;
    struct stat st {};
    if (::stat(at.c_str(), &st) != 0) return false;
    mode_t need = st.st_uid == uid ? S_IXUSR : st.st_gid == gid ? S_IXGRP : S_IXOTH;
    if (!(st.st_mode & need)) return false;
  }
  return true;
}

struct BuildUser {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Every process of the build user, gone (a build without a pid namespace of its own may leave
// daemons; the build user runs nothing else, one build at a time).
void kill_build_user(uid_t uid) {
  for (int round = 0; round < 200; ++round) {
    bool any = false;
    std::error_code ec;
    for (auto& e : fs::directory_iterator("/proc", ec)) {
      std::string name = e.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      struct stat st {};
      if (::stat(e.path().c_str(), &st) != 0 || st.st_uid != uid) continue;
      any = true;
      ::kill(std::stoi(name), SIGKILL);
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

BuildUser build_user(const SandboxOptions& o) {
  BuildUser u;
  if (::geteuid() != 0) return u;
  if (passwd* pw = ::getpwnam(o.build_user.c_str())) {
    u = {true, pw->pw_uid, pw->pw_gid};
  } else if (o.build_user.find_first_not_of("0123456789") == std::string::npos && !o.build_user.empty()) {
    u = {true, static_cast<uid_t>(std::stoul(o.build_user)), static_cast<gid_t>(std::stoul(o.build_user))};
  }
  return u;
}

// The sandbox's network, once the sandbox exists (its launcher's pid appears in `launcher_pid`):
// connected from out here, announced to the outer script through <scratch>/net/ready (or
// failed, with the reason). Kept up until the returned thread is stopped.
std::jthread connect_when_started(const fs::path& launcher_pid, const fs::path& scratch, BuildUser user) {
  return std::jthread([launcher_pid, scratch, user](std::stop_token done) {
    pid_t launcher = 0;
    while (!done.stop_requested() && launcher <= 0) {
      launcher = static_cast<pid_t>(std::atoi(read_file_or_empty(launcher_pid).c_str()));
      if (launcher <= 0) (void)wait_for(done, std::chrono::milliseconds(2));
    }
    if (done.stop_requested()) return;
    auto attached = BuildNetwork::attach(
        launcher, std::chrono::seconds(20), scratch / "slirp4netns.log",
        user.drop ? std::optional(BuildNetwork::Identity{user.uid, user.gid}) : std::nullopt);
    write_text(scratch / "net" / (attached ? "ready" : "failed"),
               attached ? "" : "studyhub-sandbox: " + attached.error().message + "\n");
    wait_until_stopped(done);  // the network stays up while the build runs
  });
}

// The part of every bwrap: namespaces, the read-only system, no capabilities, a clean environment.
std::vector<std::string> bwrap_common(bool share_net, bool private_proc) {
  // Every namespace; without a /proc of its own no pid namespace either (bwrap needs the one to
  // watch the other), and the runner ends the build user's processes itself (kill_build_user).
  std::vector<std::string> a{"bwrap", "--unshare-user", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                             "--die-with-parent", "--new-session", "--cap-drop", "ALL"};
  if (private_proc) a.push_back("--unshare-pid");
  if (!share_net) a.push_back("--unshare-net");
  auto sys = system_binds(private_proc);
  a.insert(a.end(), sys.begin(), sys.end());
  a.insert(a.end(), {"--hostname", "sandbox", "--clearenv", "--setenv", "PATH", sandbox_path(), "--setenv", "HOME", "/work",
                     "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8", "--setenv", "npm_config_cache",
                     "/tmp/.npm", "--setenv", "npm_config_update_notifier", "false", "--setenv", "CI", "true"});
  for (const char* proxy : {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                            "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"})
    if (const char* v = std::getenv(proxy)) a.insert(a.end(), {"--setenv", proxy, v});
  return a;
}

// One step inside the outer sandbox: its own pid namespace (whatever it starts ends with it), no
// new user namespaces, the work folder and /tmp, the network only when given.
std::string inner_step(bool share_net, bool private_proc, const std::string& script) {
  auto a = bwrap_common(share_net, private_proc);
  // No user namespaces inside a step. (bwrap does that through /proc/sys, which a container's /proc
  // keeps read-only: there a step could still make one.)
  if (private_proc) a.insert(a.begin() + 2, "--disable-userns");
  a.insert(a.end(), {"--bind", "/work", "/work", "--bind", "/tmp", "/tmp", "--ro-bind", "/steps", "/steps", "--remount-ro", "/",
                     "--chdir", "/work", "--", "/bin/sh", script});
  return join_quoted(a);
}

}  // namespace

std::string SandboxSupport::describe() const {
  if (!bwrap) return "no sandbox (" + problem + ")";
  std::string out = "bubblewrap";
  if (cgroup == "none") out += ", no cgroup (memory not limited; processes limited by RLIMIT_NPROC" +
                               std::string(drops_user ? "" : " only where the runner is not root") + ")";
  else out += ", cgroup " + cgroup + " (" + std::string(memory_limit ? "memory" : "") +
              (memory_limit && process_limit ? ", " : "") + (process_limit ? "processes" : "") + ")";
  out += drops_user ? ", builds run as an unprivileged user" : ", builds run as the runner's user";
  if (!private_proc)
    out += ", no pid namespace: the container's /proc, the build user's processes ended after each build, user "
           "namespaces not disabled inside "
           "(run the container with systempaths=unconfined for a pid namespace and a /proc of its own)";
  out += ", disk by a size-limited tmpfs";
  out += build_network_available()
             ? ", networked steps on a network of their own (slirp4netns: no host loopback, private ranges closed)"
             : ", no slirp4netns: steps that need the network fail (apt-get install slirp4netns)";
  return out;
}

Result<SandboxOptions::Network> parse_network(const std::string& text) {
  if (text == "install") return SandboxOptions::Network::install;
  if (text == "none") return SandboxOptions::Network::none;
  if (text == "all") return SandboxOptions::Network::all;
  return Error{"the build network must be install, none or all, not '" + text + "'"};
}

std::optional<uint64_t> parse_size(const std::string& text) {
  if (text.empty()) return std::nullopt;
  size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0) return std::nullopt;
  uint64_t n = std::stoull(text.substr(0, digits));
  std::string unit = digits == std::string::npos ? "" : text.substr(digits);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.empty() || unit == "b") return n;
  if (unit == "k" || unit == "kb") return n << 10;
  if (unit == "m" || unit == "mb") return n << 20;
  if (unit == "g" || unit == "gb") return n << 30;
  return std::nullopt;
}

Result<Steps> split_steps(const Payload& payload) {
  Steps s;
  if (payload.command) {
    // The lines before the marker install; the rest builds. Without a marker, everything builds.
    const std::string& c = *payload.command;
    size_t at = c.find(std::string("\n") + kBuildStepMarker);
    if (c.starts_with(kBuildStepMarker)) at = 0;
    if (at == std::string::npos) {
      s.build = c;
    } else {
      s.install = c.substr(0, at);
      size_t rest = c.find('\n', at + 1);
      s.build = rest == std::string::npos ? "" : c.substr(rest + 1);
      // A `set -e` at the top of the script holds for both halves.
      if (c.starts_with("set -e\n")) s.build = "set -e\n" + s.build;
    }
    return s;
  }
  auto lang = code_runner_language(payload.language, payload.files.empty() ? "" : payload.files.front().name);
  if (!lang)
    return Error{"the runner does not know the language '" + payload.language +
                 "' (it knows buildcreatereactapp, python, javascript, bash); send a command"};
  // The language's build commands that install packages are the install step; the others and its
  // run command build (their output is the log; the run command's stdout is the answer).
  for (const auto& c : lang->build) {
    bool installs = c.starts_with("npm install") || c.starts_with("npm ci") || c.starts_with("yarn install");
    (installs ? s.install : s.build) += c + (installs ? "\n" : " 1>&2\n");
  }
  if (!s.install.empty()) s.install = "set -e\n" + s.install;
  s.build = "set -e\n" + s.build + lang->run + "\n";
  return s;
}

SandboxSupport probe_sandbox(const SandboxOptions& options) {
  SandboxSupport s;
  std::error_code ec;
  if (!fs::exists("/usr/bin/bwrap", ec) && !fs::exists("/bin/bwrap", ec)) {
    s.problem = "bubblewrap is not installed (apt-get install bubblewrap)";
    return s;
  }
  BuildUser user = build_user(options);
  s.drops_user = user.drop;
  std::string problem;
  {
    BuildCgroup cg = BuildCgroup::create(options, &problem);
    s.cgroup = cg.version();
    s.memory_limit = cg.memory();
    s.process_limit = cg.pids();
  }
  // A nested run, as a build does it: with a /proc of its own, else (in a container) the shared one.
  auto try_nested = [&](bool private_proc) {
    std::vector<std::string> outer = bwrap_common(false, private_proc);
    outer.insert(outer.end(), {"--size", "1048576", "--tmpfs", "/work", "--tmpfs", "/tmp", "--dir", "/steps", "--remount-ro", "/",
                               "--chdir", "/work", "--", "/bin/sh", "-c", inner_step(false, private_proc, "/dev/null")});
    std::vector<std::string> argv;
    if (user.drop)
      argv = {"setpriv", "--reuid=" + std::to_string(user.uid), "--regid=" + std::to_string(user.gid), "--clear-groups", "--"};
    argv.insert(argv.end(), outer.begin(), outer.end());
    return run_process({.argv = argv, .cwd = "/", .env = scrubbed_environment(), .stdin_text = "", .pid_file = {}},
                       {.timeout = std::chrono::seconds(20), .output_cap = 1 << 20}, {}, {}, false);
  };
  auto o = try_nested(true);
  s.private_proc = o.error.empty() && o.exit_code == 0;
  // Only where the build user is the runner's own: the leftovers of a build without a pid namespace
  // are then told apart by their user.
  if (!s.private_proc && o.stderr_text.find("Can't mount proc") != std::string::npos && user.drop) o = try_nested(false);
  if (!o.error.empty() || o.exit_code != 0) {
    s.problem = "bubblewrap cannot make the sandbox here (" + (o.error.empty() ? o.stderr_text : o.error) +
                "); in a container it needs seccomp=unconfined (see docs/deploy.md)";
    while (!s.problem.empty() && (s.problem.back() == '\n')) s.problem.pop_back();
    return s;
  }
  s.bwrap = true;
  if (!problem.empty()) s.problem = problem;
  return s;
}

// Whether a user other than the owner may pass through every folder down to `dir`.
bool others_can_traverse(const fs::path& dir) {
  for (fs::path p = dir;; p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !(st.st_mode & S_IXOTH)) return false;
    if (p == p.root_path() || p.empty()) return true;
  }
}

fs::path sandbox_root() {
  // The build user (not the runner's) opens what lies below the root: a private TMPDIR (a 0700
  // folder of a test, a per-user temporary folder) would make every build fail at once.
  const char* tmp = std::getenv("TMPDIR");
  fs::path base = tmp && *tmp ? fs::path(tmp) : fs::path("/tmp");
  if (!others_can_traverse(base)) base = "/tmp";
  return base / ("studyhub-sandbox-" + std::to_string(::geteuid()));
}

namespace {

// Where a build's payload and steps wait: a folder of its own that only the build user (and the
// runner) can read, below a root that anyone may pass through but nobody may list. Removed with
// the object.
class Scratch {
 public:
  static Result<std::unique_ptr<Scratch>> make(const Payload& payload) {
    std::error_code ec;
    fs::path root = sandbox_root();
    fs::create_directories(root, ec);
    struct stat root_st {};
    if (::lstat(root.c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode) || root_st.st_uid != ::geteuid())
      return Error{root.string() + " is not a folder of this user's; remove it so builds can be prepared there", false, "io"};
    ::chmod(root.c_str(), 0711);
    std::unique_ptr<Scratch> s(new Scratch(root / ("job-" + publish::random_suffix())));
    fs::create_directories(s->dir / "payload", ec);
    fs::create_directories(s->dir / "steps", ec);
    if (ec) return Error{"cannot prepare the build's folder " + s->dir.string() + ": " + ec.message(), false, "io"};
    for (const auto& f : payload.files) {
      if (!relpath::problem(f.name).empty()) return Error{"the payload holds an unsafe file name", false, "request.files"};
      fs::path dest = s->dir / "payload" / f.name;
      fs::create_directories(dest.parent_path(), ec);
      if (!write_text(dest, f.content)) return Error{"cannot write " + dest.string() + "; is the disk full?", false, "io"};
    }
    ::chmod(s->dir.c_str(), 0700);
    return s;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void give_to(const BuildUser& user) const {
    if (!user.drop) return;
    std::error_code ec;
    [[maybe_unused]] int rc = ::chown(dir.c_str(), user.uid, user.gid);
    for (auto& e : fs::recursive_directory_iterator(dir, ec)) rc = ::lchown(e.path().c_str(), user.uid, user.gid);
  }
  const fs::path dir;

 private:
  explicit Scratch(fs::path d) : dir(std::move(d)) {}
};

// node_modules of earlier builds of this folder or site, where the build user can reach them:
// the build user's own folder (0700), or none.
std::optional<fs::path> usable_cache(const SandboxRun& run, const BuildUser& user,
                                     const std::function<void(std::string_view)>& on_log) {
  std::optional<fs::path> cache = run.cache_dir;
  if (!cache) return cache;
  std::error_code ec;
  fs::create_directories(*cache, ec);
  if (!user.drop) return cache;
  [[maybe_unused]] int rc = ::chown(cache->c_str(), user.uid, user.gid);
  ::chmod(cache->c_str(), 0700);  // the build user's and the runner's, no other local user's
  if (reachable_by(*cache, user.uid, user.gid)) return cache;
  if (on_log)
    on_log("studyhub-sandbox: " + cache->string() + " is out of the build user's reach; installing without the "
           "node_modules of earlier builds");
  return std::nullopt;
}

// What the build's steps may use (see the comment at the top of sandbox.h).
struct StepNetworks {
  bool install = false, build = false;
  bool any() const { return install || build; }
};

// The outer sandbox's script (ours): the payload and cache in, each step in its inner sandbox, the
// cache kept when the install changed it.
std::string outer_script(const Steps& steps, const StepNetworks& net, bool cache, bool private_proc) {
  std::string s = "set -e\ncp -a /payload/. /work/\n";
  if (cache) s += "if [ -d /cache/node_modules ]; then cp -a /cache/node_modules /work/; fi\n";
  // A step that may use the network waits until the runner has connected it (runner/build_network.h).
  if (net.any())
    s += "n=0; until [ -e /net/ready ]; do if [ -e /net/failed ]; then cat /net/failed >&2; exit 1; fi; "
         "n=$((n+1)); if [ $n -gt 3000 ]; then echo 'studyhub-sandbox: the build network did not come up' >&2; exit 1; fi; "
         "sleep 0.01; done\n";
  if (!steps.install.empty()) {
    s += inner_step(net.install, private_proc, "/steps/install.sh") + " </dev/null 1>&2\n";
    if (cache)
      // Kept for this site's next build when the install changed it: copied whole, then renamed in.
      s += "if [ -d node_modules ] && [ \"$(cat node_modules/.studyhub-deps 2>/dev/null)\" != "
           "\"$(cat /cache/node_modules/.studyhub-deps 2>/dev/null)\" ]; then\n"
           "  rm -rf /cache/.next && cp -a node_modules /cache/.next && rm -rf /cache/node_modules && "
           "mv /cache/.next /cache/node_modules\nfi\n";
  }
  return s + "exec " + inner_step(net.build, private_proc, "/steps/build.sh") + "\n";
}

// The outer sandbox: a network namespace of its own always, a size-limited /work and /tmp, the
// payload and steps read-only, /net and the build's resolv.conf where a step is networked.
std::vector<std::string> outer_sandbox(const SandboxOptions& o, const fs::path& scratch, const StepNetworks& net,
                                       const std::optional<fs::path>& cache, bool private_proc) {
  std::vector<std::string> a = bwrap_common(/*share_net=*/false, private_proc);
  a.insert(a.end(), {"--size", std::to_string(o.disk_bytes), "--tmpfs", "/work", "--size", std::to_string(o.tmp_bytes),
                     "--tmpfs", "/tmp", "--ro-bind", (scratch / "payload").string(), "/payload", "--ro-bind",
                     (scratch / "steps").string(), "/steps"});
  if (net.any()) {
    a.insert(a.end(), {"--ro-bind", (scratch / "net").string(), "/net"});
    // The machine's resolver may sit on a private or loopback address the build cannot reach.
    std::error_code ec;
    if (!fs::is_symlink("/etc/resolv.conf", ec))
      a.insert(a.end(), {"--ro-bind", (scratch / "net" / "resolv.conf").string(), "/etc/resolv.conf"});
  }
  if (cache) a.insert(a.end(), {"--bind", cache->string(), "/cache"});
  // The sandbox's own root, where bwrap made the mount points, becomes read-only too: only /work and
  // /tmp (and /cache for the outer script) can be written.
  a.insert(a.end(), {"--remount-ro", "/", "--chdir", "/work", "--", "/bin/sh", "/steps/outer.sh"});
  return a;
}

// sh joins the build's cgroup (before anything else starts, so every descendant is in it), then
// becomes prlimit → setpriv → bwrap.
std::vector<std::string> launch_chain(const SandboxOptions& o, const BuildUser& user, const BuildCgroup& cg,
                                      const std::vector<std::string>& outer) {
  std::vector<std::string> chain{"prlimit", "--core=0:0", "--fsize=" + std::to_string(o.disk_bytes) + ":" + std::to_string(o.disk_bytes)};
  if (user.drop && !cg.pids())
    chain.push_back("--nproc=" + std::to_string(o.max_processes) + ":" + std::to_string(o.max_processes));
  chain.push_back("--");
  if (user.drop)
    chain.insert(chain.end(), {"setpriv", "--reuid=" + std::to_string(user.uid), "--regid=" + std::to_string(user.gid),
                               "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"});
  chain.insert(chain.end(), outer.begin(), outer.end());
  std::string join = "for f in $1; do echo $$ > \"$f\" || exit 125; done; shift; exec \"$@\"";
  std::vector<std::string> argv{"/bin/sh", "-c", join, "sh"};
  std::string procs;
  for (const auto& f : cg.procs_files()) procs += (procs.empty() ? "" : " ") + f;
  argv.push_back(procs);
  argv.insert(argv.end(), chain.begin(), chain.end());
  return argv;
}

// What the run came to: an Error when no build result exists (limits, cancel), else the result
// with the limit it hit named in its error.
Result<RunResult> outcome_of(ProcessOutcome out, const SandboxRun& run, bool oom, bool too_many) {
  const SandboxOptions& o = run.options;
  if (!out.error.empty()) return Error{out.error};
  if (out.cancelled) return cancelled_error();
  if (out.timed_out)
    return Error{"the build ran longer than its limit of " +
                     std::to_string(std::chrono::duration_cast<std::chrono::seconds>(run.limits.timeout).count()) +
                     " s and was stopped",
                 false, "limits.execution_time"};
  if (out.output_capped)
    return Error{"the build wrote more than " + std::to_string(run.limits.output_cap) + " bytes of output and was stopped",
                 false, "limits.read.size"};
  RunResult result;
  result.stdout_text = std::move(out.stdout_text);
  result.stderr_text = std::move(out.stderr_text);
  int code = out.exit_code != -1 ? out.exit_code : 128 + out.signal;
  if (code == 0) return result;
  result.error = "Exit code: " + std::to_string(code);
  if (oom)
    result.error += " (it used more than its memory limit of " + human_bytes(o.memory_bytes) + " and was stopped)";
  else if (too_many || result.stderr_text.find("Resource temporarily unavailable") != std::string::npos)
    result.error += " (it tried to run more than " + std::to_string(o.max_processes) + " processes at once)";
  else if (result.stderr_text.find("No space left on device") != std::string::npos ||
           result.stderr_text.find("File too large") != std::string::npos)
    result.error += " (its work folder is limited to " + human_bytes(o.disk_bytes) + ")";
  return result;
}

}  // namespace

Result<RunResult> run_sandboxed(const Payload& payload, const SandboxRun& run, std::stop_token stop,
                                const std::function<void(std::string_view)>& on_log) {
  if (!run.support.bwrap) return Error{"builds here must run in a sandbox, and it is unavailable: " + run.support.problem};
  auto steps = split_steps(payload);
  if (!steps) return steps.error();
  const SandboxOptions& o = run.options;
  const BuildUser user = build_user(o);
  auto scratch = Scratch::make(payload);
  if (!scratch) return scratch.error();
  const fs::path& dir = scratch.value()->dir;
  const std::optional<fs::path> cache = usable_cache(run, user, on_log);
  // Only a step that runs and may use the network gets one (a static site's build needs none).
  const StepNetworks net{.install = o.network != SandboxOptions::Network::none && !steps->install.empty(),
                         .build = o.network == SandboxOptions::Network::all};
  if (net.any()) {
    std::error_code ec;
    fs::create_directories(dir / "net", ec);
    if (!write_text(dir / "net" / "resolv.conf", kBuildResolvConf))
      return Error{"cannot write the build's network settings in " + dir.string(), false, "io"};
  }
  const std::string outer = outer_script(steps.value(), net, cache.has_value(), run.support.private_proc);
  for (auto [name, text] : {std::pair{"outer.sh", &outer}, {"install.sh", &steps->install}, {"build.sh", &steps->build}})
    if (!write_text(dir / "steps" / name, *text)) return Error{"cannot write the build's steps in " + dir.string(), false, "io"};
  scratch.value()->give_to(user);

  std::string problem;
  BuildCgroup cg = BuildCgroup::create(o, &problem);
  auto argv = launch_chain(o, user, cg, outer_sandbox(o, dir, net, cache, run.support.private_proc));
  const fs::path launcher_pid = dir / "launcher.pid";
  std::jthread network;
  if (net.any()) network = connect_when_started(launcher_pid, dir, user);
  ProcessOutcome out = run_process({.argv = argv, .cwd = "/", .env = scrubbed_environment(),
                                    .stdin_text = payload.stdin_text.value_or(""), .pid_file = launcher_pid},
                                   run.limits, stop, on_log, /*stream_stdout=*/false);
  network = {};
  bool oom = cg.ran_out_of_memory(), too_many = cg.hit_process_limit();
  cg.kill_all();
  if (!run.support.private_proc && user.drop) kill_build_user(user.uid);
  return outcome_of(std::move(out), run, oom, too_many);
}

}  // namespace studyhub::runner
