// The worker's event loop: push deliveries in, jobs out, settles back, all from one poll().
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "client/cli/worker_job.hpp"
#include "postbox/client.hpp"

namespace postbox::cli {

struct WorkerConfig {
  std::string queue;
  ConsumeOptions consume;  ///< with ack and prefetch = concurrency
  uint32_t concurrency = 1;
  std::chrono::milliseconds backoff{1000};
  std::chrono::milliseconds max_backoff{60'000};
  /// How often a running job's lease is extended (a third of its length).
  std::chrono::milliseconds touch_every{10'000};
  std::vector<std::string> command;
};

/// The nack delay after a failed delivery: min(backoff * 2^(delivery_count - 1), max_backoff).
std::chrono::milliseconds retry_delay(uint32_t delivery_count, std::chrono::milliseconds backoff,
                                      std::chrono::milliseconds max_backoff) noexcept;

/// Installs the SIGTERM/SIGINT/SIGCHLD handlers the loop waits on (a
/// self-pipe) and ignores SIGPIPE. Call before consuming, so that a stop
/// signal that comes early is not lost.
void install_worker_signals();

/// Consumes config.queue on `client` and runs config.command once per
/// message, at most config.concurrency at a time; returns the exit status:
///  - 0 after a stop signal, once every running job ended and was settled;
///  - kExitNoSuchQueue when the queue was deleted (running jobs are waited for);
///  - kExitUnreachable when the connection was lost or the broker stopped
///    (nothing is killed; the broker has already returned the leases);
///  - kExitFailure when COMMAND could not be started at all.
/// Errors from consume() itself (no such queue, permission) are thrown.
int run_worker_loop(Client& client, const WorkerConfig& config, const JobEnvironment& env);

}  // namespace postbox::cli
