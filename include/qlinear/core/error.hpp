#pragma once
// qlinear::Error: the one exception type the library throws for bad input or misuse.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace qlinear {

/// The exception every misuse or bad input raises; its message names what was expected and
/// what was given. Usage: `try { layer.forward(x, y); } catch (const qlinear::Error& e) { ... }`
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}
}  // namespace detail

/// Throws qlinear::Error whose message is the concatenation of `args`.
/// Usage: `fail("bias has ", n, " values, expected ", out_features);`
template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(detail::concat(std::forward<Args>(args)...));
}

/// Throws qlinear::Error built from `args` unless `condition` holds.
template <class... Args>
void check(bool condition, Args&&... args) {
  if (!condition) [[unlikely]]
    fail(std::forward<Args>(args)...);
}

}  // namespace qlinear
