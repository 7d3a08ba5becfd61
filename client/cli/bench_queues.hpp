// BenchQueues: the postbox queues of a bench run, declared before the workers start and removed
// after.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/cli/bench_workloads.hpp"
#include "postbox/client.hpp"

namespace postbox::cli::bench {

/// The client name every bench connection sends in HELLO.
inline constexpr std::string_view kBenchClientName = "postbox-bench";
/// A queue deep enough for a whole run would need memory for all of it; past
/// this many payload bytes producers block instead, the broker's own default.
/// A run without consumers must fit in it.
inline constexpr uint64_t kMaxQueueBytes = 256ull << 20;
/// Payload bytes of an end marker.
inline constexpr uint64_t kMarkerSize = 8;
/// Most end markers sent in one SEND.
inline constexpr std::size_t kStopChunk = 4096;

/// "'name'", as queue names appear in messages.
std::string quoted(std::string_view name);

/// The queues of a run, declared by the parent before the workers start. A
/// fresh queue (no --queue) is declared exclusively with room for the run
/// (durable with o.durable) and removed at the end, also when the run fails;
/// a --queue that exists is used as it is and must be empty, roomy enough,
/// and durable exactly when o.durable.
class BenchQueues {
 public:
  /// Declares `names` for `messages` data messages of o.size bytes and
  /// `markers` end markers. Throws BenchFailure or postbox::Error.
  BenchQueues(const BenchOptions& o, std::vector<std::string> names, uint64_t messages,
              uint64_t markers);
  ~BenchQueues();
  BenchQueues(const BenchQueues&) = delete;
  BenchQueues& operator=(const BenchQueues&) = delete;

  /// Takes the end markers left in queues the bench did not create (with
  /// --ack, once the ended consumers' leases have come back).
  void drain_stop_markers();
  /// Purges the queues the bench did not create, which a run without
  /// consumers leaves full.
  void purge_kept();

 private:
  void wait_for_no_leases(Client& admin, const std::string& name);
  bool create(Client& admin, const std::string& name, const QueueOptions& q);
  void remove_created() noexcept;

  std::string socket_;
  bool ack_;
  std::vector<std::string> names_;
  std::vector<std::string> created_;
};

}  // namespace postbox::cli::bench
