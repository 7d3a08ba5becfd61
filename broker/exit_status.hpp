// postboxd's exit statuses, one table (documented in the README).
#pragma once

#include <stdexcept>
#include <string>

namespace postbox::broker {

enum class ExitStatus : int {
  ok = 0,
  failure = 1,        // an unexpected error while running
  usage = 2,          // bad command line
  config = 3,         // unreadable or invalid configuration
  socket_in_use = 4,  // another broker is listening on the socket
  socket_error = 5,   // the socket could not be created (path, permissions)
  storage = 6,        // the durable log could not be opened or recovered, or an fdatasync failed
};

/// Thrown while starting; main() prints what() on one line and exits with `status`.
class StartupError : public std::runtime_error {
 public:
  StartupError(ExitStatus status, const std::string& what)
      : std::runtime_error(what), status(status) {}
  ExitStatus status;
};

}  // namespace postbox::broker
