// One exception type for every error a user can cause: the message names the
// file, key, value or shape that was wrong and what was expected.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace prunus {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <typename... Parts>
std::string concat_message(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace prunus

// PRUNUS_CHECK(cond, "conv2d: input has ", c, " channels, weight expects ", wc);
#define PRUNUS_CHECK(cond, ...)                                                  \
  do {                                                                           \
    if (!(cond)) throw ::prunus::Error(::prunus::detail::concat_message(__VA_ARGS__)); \
  } while (0)

#define PRUNUS_FAIL(...) throw ::prunus::Error(::prunus::detail::concat_message(__VA_ARGS__))
