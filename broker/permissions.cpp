// Queue permission rules: SysV ipcperms() without capabilities, root may do anything.
#include "broker/permissions.hpp"

namespace postbox::broker {

namespace {

constexpr uint32_t kRoot = 0;
constexpr uint32_t kReadBit = 04;
constexpr uint32_t kWriteBit = 02;

// As ipcperms(): the owner class is chosen by uid alone, so an owner denied by
// its own bits is not rescued by the group or other bits.
bool has_bit(const Ownership& o, const Credentials& c, uint32_t bit) noexcept {
  if (c.uid == kRoot) return true;
  uint32_t shift = 0;
  if (c.uid == o.uid) {
    shift = 6;
  } else if (c.gid == o.gid) {
    shift = 3;
  }
  return ((o.mode >> shift) & bit) != 0;
}

}  // namespace

bool may_read(const Ownership& o, const Credentials& c) noexcept {
  return has_bit(o, c, kReadBit);
}

bool may_write(const Ownership& o, const Credentials& c) noexcept {
  return has_bit(o, c, kWriteBit);
}

bool may_admin(const Ownership& o, const Credentials& c) noexcept {
  return c.uid == kRoot || c.uid == o.uid;
}

}  // namespace postbox::broker
