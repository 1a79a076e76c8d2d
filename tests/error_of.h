// The message of the Error an action throws, for tests that check what a
// user would read; shared by the tests of every parser.
#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "prunus/error.h"

namespace test_errors {

// The message of the prunus::Error `action` throws; fails the test if it throws nothing.
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const prunus::Error& e) {
    return e.what();
  }
  FAIL_CHECK("expected an Error, none was thrown");
  return "";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace test_errors
