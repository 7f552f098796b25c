#include "pipeline/diagnostics.h"

#include <doctest/doctest.h>

using namespace studyhub::pipeline;

TEST_CASE("build output lines become problems in workspace files") {
  std::set<std::string> known{"src/App.tsx", "src/main.jsx", "src/App.js", "src/util.ts"};
  std::string log =
      "src/App.tsx(12,5): error TS2322: Type 'string' is not assignable to type 'number'.\n"
      "/work/state/work/abc/src/main.jsx:3:14: ERROR: Expected \";\" but found \"}\"\n"
      "node_modules/x/index.js:1:1: ERROR: not ours\n"
      "Failed to compile.\n"
      "\n"
      "src/App.js\n"
      "  Line 7:3:  'foo' is not defined  no-undef\n"
      "SyntaxError: /work/state/work/abc/src/util.ts: Unexpected token (4:2)\n"
      "[PARSE_ERROR] Error: Unexpected token\n"
      "   ╭─[ src/main.jsx:9:1 ]\n";
  auto d = parse_diagnostics(log, "/work/state/work/abc", known);
  REQUIRE(d.size() == 5);
  CHECK(d[0].file == "src/App.tsx");
  CHECK(d[0].line == 12);
  CHECK(d[0].column == 5);
  CHECK(d[0].message.find("TS2322") == 0);
  CHECK(d[1].file == "src/main.jsx");
  CHECK(d[1].line == 3);
  CHECK(d[1].column == 14);
  CHECK(d[1].severity == "error");
  CHECK(d[2].file == "src/App.js");
  CHECK(d[2].line == 7);
  CHECK(d[2].message.find("'foo' is not defined") == 0);
  CHECK(d[3].file == "src/util.ts");
  CHECK(d[3].line == 4);
  CHECK(d[3].column == 2);
  CHECK(d[4].file == "src/main.jsx");
  CHECK(d[4].line == 9);
  CHECK(d[4].message == "Unexpected token");
}

TEST_CASE("colour codes and duplicates are dropped — unknown files ignored") {
  std::set<std::string> known{"a.js"};
  auto d = parse_diagnostics("\x1b[31ma.js:1:2: ERROR: boom\x1b[0m\na.js:1:2: ERROR: boom\nb.js:1:1: ERROR: x\n", "/w", known);
  REQUIRE(d.size() == 1);
  CHECK(d[0].message == "boom");
}
