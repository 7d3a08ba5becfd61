// Polling for an observable condition with a deadline: what tests do instead of sleeping.
#pragma once

#include <chrono>
#include <functional>

namespace postbox::testing {

/// How long a test waits for a condition before it fails.
inline constexpr std::chrono::milliseconds kEventuallyBound{10'000};

/// Polls `done` until it holds or `bound` passes; true when it held.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds bound = kEventuallyBound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline)
    if (done()) return true;
  return done();
}

}  // namespace postbox::testing
