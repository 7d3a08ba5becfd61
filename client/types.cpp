// Spellings of the public enums and Reply's error helper.
#include "postbox/types.hpp"

#include "postbox/error.hpp"

namespace postbox {

std::string_view to_string(Overflow o) noexcept {
  switch (o) {
    case Overflow::reject:
      return "reject";
    case Overflow::drop_oldest:
      return "drop-oldest";
    case Overflow::drop_lowest_priority:
      return "drop-lowest-priority";
  }
  return "unknown";
}

std::optional<Overflow> parse_overflow(std::string_view s) noexcept {
  for (auto o : {Overflow::reject, Overflow::drop_oldest, Overflow::drop_lowest_priority})
    if (s == to_string(o)) return o;
  return std::nullopt;
}

void Reply::throw_if_error() const {
  if (error) throw Error(static_cast<Errc>(error.value()), error_message);
}

}  // namespace postbox
