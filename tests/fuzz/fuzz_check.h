// An invariant a fuzz target insists on: a failure aborts, so libFuzzer (and the replay driver)
// report the input with the sentence that says what broke.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                              \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "fuzz invariant broken: %s (%s)\n", what, #cond); \
      std::abort();                                                         \
    }                                                                       \
  } while (0)
