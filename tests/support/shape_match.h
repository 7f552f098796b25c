// "Same shape" for documented examples against real answers: the same keys, the same types, and
// the same values except for keys the example marks as varying (ids, times, ports).
#pragma once

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace studyhub::testing {

inline void shape_match(const nlohmann::json& expected, const nlohmann::json& actual, const std::string& where,
                        const std::set<std::string>& varies, const std::string& key = "") {
  CAPTURE(where);
  if (varies.count(key)) {
    CHECK(actual.type() == expected.type());
    return;
  }
  if (expected.is_object()) {
    REQUIRE(actual.is_object());
    for (auto& [k, v] : expected.items()) {
      CHECK_MESSAGE(actual.contains(k), (where + "/" + k + " missing from the server's message"));
      if (actual.contains(k)) shape_match(v, actual[k], where + "/" + k, varies, k);
    }
    for (auto& [k, v] : actual.items())
      CHECK_MESSAGE(expected.contains(k), (where + "/" + k + " sent by the server but not in the example"));
  } else if (expected.is_array()) {
    REQUIRE(actual.is_array());
    CHECK(actual.size() == expected.size());
    for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i)
      shape_match(expected[i], actual[i], where + "/" + std::to_string(i), varies);
  } else {
    CHECK_MESSAGE(actual == expected, (where + ": expected " + expected.dump() + ", got " + actual.dump()));
  }
}

}  // namespace studyhub::testing
