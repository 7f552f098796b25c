#include "support/postgres.h"

#include <glob.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "support/child_process.h"
#include "support/fs_helpers.h"

namespace studyhub::testing {

namespace {

std::string postgres_bin() {
  glob_t g{};
  std::string found;
  if (::glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &g) == 0 && g.gl_pathc > 0)
    found = fs::path(g.gl_pathv[g.gl_pathc - 1]).parent_path().string();
  ::globfree(&g);
  if (found.empty()) throw std::runtime_error("PostgreSQL's server is not installed (apt-get install postgresql)");
  return found;
}

}  // namespace

PostgresCluster::PostgresCluster() : bin_(postgres_bin()) {
  char tmpl[] = "/tmp/studyhub-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  as_postgres_ = ::geteuid() == 0;
  if (as_postgres_) {
    passwd* pw = ::getpwnam("postgres");
    if (!pw) throw std::runtime_error("no postgres user to run PostgreSQL as");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed");
  }
  run_pg({bin_ + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "postgres", "--no-sync"});
  start();
}

PostgresCluster::~PostgresCluster() {
  if (running_) {
    try {
      run_pg({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"});
    } catch (...) {
    }
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PostgresCluster::run_pg(const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  if (as_postgres_) argv = {"runuser", "-u", "postgres", "--"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, {}, std::chrono::seconds(60));
  if (r.status != 0) {
    std::string log;
    std::error_code ec;
    if (fs::exists(dir_ + "/log", ec)) log = read_file(dir_ + "/log");
    throw std::runtime_error(args.front() + " failed: " + r.out + r.err + log);
  }
}

void PostgresCluster::start() {
  // Unix socket in our folder only: listen_addresses='' keeps it off the network.
  run_pg({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-o",
          "-k " + dir_ + " -c listen_addresses='' -c fsync=off -c max_connections=300", "-l", dir_ + "/log", "-w",
          "start"});
  running_ = true;
}

void PostgresCluster::stop() {
  run_pg({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "stop"});
  running_ = false;
}

std::string PostgresCluster::conninfo(const std::string& database) const {
  return "host=" + dir_ + " user=postgres dbname=" + database;
}

std::string PostgresCluster::sql(const std::string& statement, const std::string& database) const {
  auto r = run_command({"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo(database), "-c", statement});
  if (r.status != 0) throw std::runtime_error("psql failed: " + r.err);
  return r.out;
}

std::string PostgresCluster::create_database() {
  std::string name = "t" + std::to_string(++databases_);
  sql("CREATE DATABASE " + name);
  return conninfo(name);
}

}  // namespace studyhub::testing
