// Errc -> exit status: one switch with no default, so a new code fails the build until mapped.
#include "client/cli/exit_status.hpp"

namespace postbox::cli {

int exit_status(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return kExitOk;
    case Errc::no_message:
      return kExitNoMessage;
    case Errc::queue_full:
      return kExitQueueFull;
    case Errc::no_such_queue:
    case Errc::queue_removed:  // deleted while we waited: it no longer exists
    case Errc::no_route:       // request: no such queue, and nothing bound to the topic
      return kExitNoSuchQueue;
    case Errc::queue_exists:
      return kExitQueueExists;
    case Errc::permission_denied:
      return kExitPermission;
    case Errc::unreachable:
    case Errc::disconnected:
      return kExitUnreachable;
    case Errc::too_big:
      return kExitTooBig;
    case Errc::no_such_lease:
      return kExitNoSuchLease;
    case Errc::storage_error:
      return kExitStorage;
    case Errc::protocol_error:
    case Errc::unsupported_version:
    case Errc::invalid_argument:
    case Errc::shutting_down:
    case Errc::resource_limit:
    case Errc::internal_error:
      return kExitFailure;
  }
  return kExitFailure;  // a code from a newer broker: treated like internal_error
}

}  // namespace postbox::cli
