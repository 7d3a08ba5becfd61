// The CLI's documented exit statuses and the one mapping from error codes to them.
#pragma once

#include "postbox/error.hpp"

namespace postbox::cli {

/// `postbox`'s exit statuses (also in `postbox --help` and README.md).
enum ExitStatus : int {
  kExitOk = 0,
  kExitFailure = 1,       // anything not listed below
  kExitUsage = 2,         // bad command line
  kExitNoMessage = 3,     // recv: nothing within the timeout (or at once with --nowait)
  kExitQueueFull = 4,     // send: the queue stayed full within the timeout
  kExitNoSuchQueue = 5,   // the queue does not exist (or was deleted while we waited);
                          // request: nor did any queue take it as a publication
  kExitQueueExists = 6,   // declare --exclusive of an existing queue
  kExitPermission = 7,    // permission denied
  kExitUnreachable = 8,   // cannot connect to the broker, or the connection was lost
  kExitTooBig = 9,        // message too big
  kExitNoSuchLease = 10,  // ack/nack/touch/reject: the tag names no lease (expired, settled)
  kExitStorage = 11,      // the broker's durable log cannot be written (disk full, I/O error)
};

/// The exit status for a failed request.
int exit_status(Errc code) noexcept;

}  // namespace postbox::cli
