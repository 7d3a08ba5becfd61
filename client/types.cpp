// Spellings of the public enums, SendResult's lookups and Reply's error helper.
#include "postbox/types.hpp"

#include <algorithm>

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
    case Overflow::drop_new:
      return "drop-new";
  }
  return "unknown";
}

std::optional<Overflow> parse_overflow(std::string_view s) noexcept {
  for (auto o : {Overflow::reject, Overflow::drop_oldest, Overflow::drop_lowest_priority,
                 Overflow::drop_new})
    if (s == to_string(o)) return o;
  return std::nullopt;
}

namespace {

/// duplicates are sorted by index (the client sorts what the broker sent).
const SendDuplicate* find_duplicate(const std::vector<SendDuplicate>& duplicates,
                                    uint32_t index) noexcept {
  auto it = std::lower_bound(duplicates.begin(), duplicates.end(), index,
                             [](const SendDuplicate& d, uint32_t i) { return d.index < i; });
  return it != duplicates.end() && it->index == index ? &*it : nullptr;
}

}  // namespace

uint64_t SendResult::id(uint32_t index) const noexcept {
  const SendDuplicate* d = find_duplicate(duplicates, index);
  return d ? d->existing_id : first_id + index;
}

bool SendResult::duplicate(uint32_t index) const noexcept {
  return find_duplicate(duplicates, index) != nullptr;
}

void Reply::throw_if_error() const {
  if (error) throw Error(static_cast<Errc>(error.value()), error_message);
}

}  // namespace postbox
