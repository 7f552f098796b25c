// A real PostgreSQL for a test: Debian's server, initialised in a private temporary folder, on a
// unix socket only (nothing listens on the network), stopped and removed when the test ends. As
// root (CI), it runs as the postgres user, since PostgreSQL refuses to run as root.
#pragma once

#include <string>
#include <vector>

namespace studyhub::testing {

class PostgresCluster {
 public:
  PostgresCluster();   // initdb + start; throws with the server's log when it cannot
  ~PostgresCluster();  // immediate stop, folder removed
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // A libpq connection string for a database of this cluster.
  std::string conninfo(const std::string& database = "postgres") const;
  // A new, empty database; answers its connection string.
  std::string create_database();
  // psql -c, answering its output (throws on failure).
  std::string sql(const std::string& statement, const std::string& database = "postgres") const;

  void stop();   // fast shutdown: connections are cut
  void start();

 private:
  void run_pg(const std::vector<std::string>& args) const;
  std::string dir_, bin_;
  bool as_postgres_ = false, running_ = false;
  int databases_ = 0;
};

}  // namespace studyhub::testing
