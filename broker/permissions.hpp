// Queue permission rules: SysV-style owner/group/other mode bits, root may do anything.
#pragma once

#include <cstdint>

#include "credentials.hpp"

namespace postbox::broker {

/// Owner and mode of a queue, taken from the declaring peer's credentials.
struct Ownership {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0600;
};

/// Read allows receive, peek and stat.
bool may_read(const Ownership& o, const Credentials& c) noexcept;
/// Write allows send.
bool may_write(const Ownership& o, const Credentials& c) noexcept;
/// Delete, purge and changing attributes: the owner or root.
bool may_admin(const Ownership& o, const Credentials& c) noexcept;

}  // namespace postbox::broker
