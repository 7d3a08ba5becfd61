// SIGINT/SIGTERM for the streaming commands (recv --follow, consume): stop cleanly, exit 0.
#pragma once

#include <atomic>

namespace postbox::cli {

/// Installs SIGINT and SIGTERM handlers that set stop_flag(). With
/// `half_close_fd` >= 0 they also shutdown(SHUT_WR) that socket, which ends
/// a receive parked in the broker (recv --follow). Without SA_RESTART, so a
/// blocking poll() returns EINTR and the loop sees the flag at once.
void install_stop_handlers(int half_close_fd = -1);

/// Set by the handlers; lock-free, so a signal handler may store to it.
const std::atomic<bool>& stop_flag() noexcept;

}  // namespace postbox::cli
