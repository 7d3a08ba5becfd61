// Checks shared by the library's integration tests: what a call threw, a message that must be
// there, what a consumer was pushed.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "postbox/client.hpp"
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

/// Takes deliveries of `consumer` until `n` messages came or `bound` passed.
inline std::vector<Message> take(Client& c, uint32_t consumer, std::size_t n,
                                 std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  using Clock = std::chrono::steady_clock;
  std::vector<Message> got;
  const auto deadline = Clock::now() + bound;
  while (got.size() < n && Clock::now() < deadline) {
    auto more = c.deliveries(
        consumer, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    got.insert(got.end(), more.begin(), more.end());
  }
  return got;
}

/// The payloads of `messages`, in order.
inline std::vector<std::string> payloads(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.payload);
  return out;
}

}  // namespace postbox::testing
