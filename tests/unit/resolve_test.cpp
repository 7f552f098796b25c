#include "host/resolve.h"

#include <doctest/doctest.h>

using namespace studyhub::host;
using Kind = Target::Kind;

TEST_CASE("site and version URLs map into the layout") {
  std::filesystem::path state = "/state";
  auto t = resolve_target("/s/app/assets/app.js?v=1", state);
  CHECK(t.kind == Kind::file);
  CHECK(t.root == "/state/sites/app");
  CHECK(t.relative == "assets/app.js");
  t = resolve_target("/v/0123456789abcdef0123456789abcdef01234567/", state);
  CHECK(t.kind == Kind::file);
  CHECK(t.immutable);
  CHECK(t.relative.empty());
  t = resolve_target("/s/app?x", state);
  CHECK(t.kind == Kind::redirect);
  CHECK(t.location == "/s/app/?x");
  CHECK(resolve_target("/s/app/a%20b.txt", state).relative == "a b.txt");
  CHECK(resolve_target("/.studyhub/health", state).kind == Kind::health);
}

TEST_CASE("no target maps outside the sites") {
  std::filesystem::path state = "/state";
  for (const char* bad : {"/s/app/../../host.json", "/s/app/%2e%2e/%2e%2e/host.json", "/s/app/%2E%2E/x",
                          "/s/app/..%2f..%2fhost.json", "/s/app/a\\..\\..\\b", "/s/app/a%5c..%5cb", "/s/app/a%00b",
                          "/s/app/%", "/s/app/%zz", "relative/path", ""}) {
    CAPTURE(bad);
    CHECK(resolve_target(bad, state).kind == Kind::bad_request);
  }
  for (const char* missing : {"/", "/s/", "/s/UPPER/", "/s/../x", "/v/notanid/", "/x/app/"}) {
    CAPTURE(missing);
    auto t = resolve_target(missing, state);
    CHECK((t.kind == Kind::not_found || t.kind == Kind::bad_request));
  }
  // An encoded slash is a slash: still inside the site it names.
  CHECK(resolve_target("/s/a%2fb/", state).root == "/state/sites/a");
  // Double encoding decodes once: "%252e%252e" is the literal name "%2e%2e", inside the site.
  auto t = resolve_target("/s/app/%252e%252e/x", state);
  CHECK(t.kind == Kind::file);
  CHECK(t.relative == "%2e%2e/x");
}
