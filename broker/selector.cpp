// The msgrcv selection rules: which message types a Selector accepts.
#include "broker/selector.hpp"

#include <limits>

namespace postbox::broker {

bool Selector::accepts(int64_t message_type) const noexcept {
  if (is_any()) return true;
  if (is_at_most()) return message_type <= bound();
  return except ? message_type != type : message_type == type;
}

int64_t Selector::bound() const noexcept {
  // -INT64_MIN does not exist; ipc/msg.c convert_mode() maps it to LONG_MAX.
  if (type == std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::max();
  return type < 0 ? -type : type;
}

}  // namespace postbox::broker
