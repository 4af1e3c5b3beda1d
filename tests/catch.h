// Catch2 for the tests, v2 (Debian 12's 2.13) or v3 (Debian 13's 3.7): one spelling for both.
// tests/CMakeLists.txt defines TROL_CATCH2_V3 from the version it found.
#pragma once

#include <string>

// LibTorch's c10/util/Logging.h defines a glog-style CHECK(condition), and 2.x headers pull it
// in from many places. Included first (it is include-guarded) and its CHECK dropped, Catch2's
// CHECK stays in force whatever the tests include after this header.
#include <c10/util/Logging.h>
#undef CHECK

#ifdef TROL_CATCH2_V3
#include <catch2/catch_all.hpp>
using Catch::Approx;
using Catch::Matchers::ContainsSubstring;
#else
#include <catch2/catch.hpp>
// v3's name for v2's Catch::Contains.
inline Catch::Matchers::StdString::ContainsMatcher ContainsSubstring(const std::string& text) {
  return Catch::Matchers::Contains(text);
}
#endif
