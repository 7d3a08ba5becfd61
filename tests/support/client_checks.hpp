// Checks shared by the library's integration tests: what a call threw, a message that must be
// there.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <utility>

#include "postbox/error.hpp"
#include "postbox/types.hpp"

namespace postbox::testing {

/// Runs `action`, which must throw postbox::Error, and returns what it threw.
template <class Action>
Error error_of(Action&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a postbox::Error";
  return Error(Errc::ok, "nothing was thrown");
}

/// The message of a receive that must have delivered one (throws otherwise,
/// which fails the test; usable inside coroutines, where ASSERT_ is not).
inline Message must(std::optional<Message> m) {
  if (!m) throw std::runtime_error("expected a message, the receive returned none");
  return std::move(*m);
}

}  // namespace postbox::testing
