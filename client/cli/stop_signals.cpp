// The stop flag and the signal handlers that set it.
#include "client/cli/stop_signals.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <cerrno>

namespace postbox::cli {

namespace {

static_assert(std::atomic<bool>::is_always_lock_free, "the handler stores to it");
std::atomic<bool> g_stop{false};
int g_half_close_fd = -1;  // set before the handlers are installed

extern "C" void on_stop_signal(int) {
  int saved = errno;
  g_stop.store(true);
  if (g_half_close_fd >= 0) ::shutdown(g_half_close_fd, SHUT_WR);
  errno = saved;
}

}  // namespace

void install_stop_handlers(int half_close_fd) {
  g_half_close_fd = half_close_fd;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM}) sigaction(sig, &sa, nullptr);
}

const std::atomic<bool>& stop_flag() noexcept {
  return g_stop;
}

}  // namespace postbox::cli
