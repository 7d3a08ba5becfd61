// Who is asking: the peer credentials of a connection, from SO_PEERCRED.
#pragma once

#include <cstdint>

namespace postbox::broker {

struct Credentials {
  uint32_t pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

}  // namespace postbox::broker
