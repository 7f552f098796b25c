#include "snapshot/ignore_rules.h"

#include <doctest/doctest.h>

using namespace studyhub::snapshot;

TEST_CASE("rebase_rules keeps meaning when read from a higher root") {
  CHECK(rebase_rules("*.log\n", "") == "*.log\n");
  CHECK(rebase_rules("/dist\n", "") == "/dist\n");
  CHECK(rebase_rules("*.log\n", "apps/web") == "/apps/web/**/*.log\n");
  CHECK(rebase_rules("/dist\n", "apps/web") == "/apps/web/dist\n");
  CHECK(rebase_rules("src/gen/\n", "a") == "/a/src/gen/\n");
  CHECK(rebase_rules("build/\n", "a") == "/a/**/build/\n");
  CHECK(rebase_rules("!keep.log\n", "a") == "!/a/**/keep.log\n");
  CHECK(rebase_rules("# comment\n\n  \r\n", "a") == "/a/**/  \n");  // gitignore keeps inner spaces
  CHECK(rebase_rules("x\r\ny", "") == "x\ny\n");
  CHECK(rebase_rules("*.tmp\n", "we[ir]d dir") == "/we\\[ir]d dir/**/*.tmp\n");
  CHECK(rebase_rules("!\n/\n", "a").empty());
}

TEST_CASE("built-in reasons") {
  CHECK(builtin_reason("node_modules/") == "node_modules");
  CHECK(builtin_reason("packages/x/node_modules/") == "node_modules");
  CHECK_FALSE(builtin_reason("node_modules"));  // a file of that name is not the folder
  CHECK(builtin_reason(".env") == "secret");
  CHECK(builtin_reason("config/.env.production") == "secret");
  CHECK(builtin_reason("keys/server.pem") == "secret");
  CHECK(builtin_reason("id_rsa") == "secret");
  CHECK(builtin_reason("id_ed25519.pub") == "secret");
  CHECK_FALSE(builtin_reason("src/env.js"));
  CHECK_FALSE(builtin_reason(".environment/"));
}

TEST_CASE("builtin_rules appends opt-ins as negations") {
  std::string rules = builtin_rules({".env.example"});
  CHECK(rules.find("node_modules/\n") == 0);
  CHECK(rules.ends_with("!.env.exampl[e]\n"));
  CHECK(builtin_rules({"dir/"}).ends_with("!di[r]/\n"));
  CHECK(builtin_rules({"*.pem"}).ends_with("!*.pem\n"));
}
