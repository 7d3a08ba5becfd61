// sd_notify(3) without libsystemd: READY, STOPPING and STATUS datagrams to $NOTIFY_SOCKET.
#pragma once

#include <string_view>

namespace postbox::broker {

/// Sends `state` (e.g. "READY=1") to $NOTIFY_SOCKET if set; a no-op
/// otherwise. Failures are ignored, as sd_notify's callers usually do: the
/// service manager is informed on a best-effort basis.
void notify_service_manager(std::string_view state) noexcept;

}  // namespace postbox::broker
