// The msgrcv selection rules as a value: type 0, T > 0, T < 0, and except.
#pragma once

#include <cstdint>

namespace postbox::broker {

/// Which messages a receive accepts, with msgrcv(2) semantics:
///   type == 0          any message (the first in queue order)
///   type > 0           messages of exactly that type; with except, of any other type
///   type < 0           the lowest type value that is <= |type| (except is ignored, as in Linux)
struct Selector {
  int64_t type = 0;
  bool except = false;

  /// True when a message of `message_type` is acceptable at all. For type < 0
  /// this is "type <= |T|"; choosing the lowest such type is the queue's job.
  bool accepts(int64_t message_type) const noexcept;
  bool is_any() const noexcept { return type == 0; }
  bool is_exact() const noexcept { return type > 0 && !except; }
  bool is_except() const noexcept { return type > 0 && except; }
  bool is_at_most() const noexcept { return type < 0; }
  /// |type| for the negative form, saturating for INT64_MIN as Linux does.
  int64_t bound() const noexcept;
};

}  // namespace postbox::broker
