// The bench's workloads: what the worker processes do on each transport, and what a run measured.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "client/cli/bench_histogram.hpp"
#include "client/cli/bench_processes.hpp"

namespace postbox::cli::bench {

enum class Transport { postbox, sysv };
enum class Mode { throughput, pingpong };
/// How postbox throughput consumers take messages: RECEIVEs of up to --batch
/// (batch), one RECEIVE per message (receive), or a push consumer (push).
enum class Consume { batch, receive, push };

/// A validated `postbox bench` command line.
struct BenchOptions {
  Transport transport = Transport::postbox;
  Mode mode = Mode::throughput;
  uint32_t size = 64;          ///< payload bytes, >= 8 (the send time is the first 8)
  uint64_t count = 1'000'000;  ///< messages (throughput) or round trips (pingpong)
  uint32_t batch = 64;         ///< messages per SEND and max_count per RECEIVE
  uint32_t pipeline = 8;       ///< requests in flight per process (push consumers: ACKs)
  uint32_t producers = 1;
  /// Connections per producer process (postbox throughput): each one a
  /// producer with its own o.pipeline requests in flight, all served by one
  /// event loop, as redis-benchmark runs its clients.
  uint32_t connections = 1;
  /// 0 (postbox throughput only): sends only, measured at the producers from
  /// the start to the last acknowledgement; the messages stay queued until
  /// the run's end (within the queue's byte limit).
  uint32_t consumers = 1;
  /// > 0: fan-out, producers publish to a topic (--queue names it) and this
  /// many subscribers each receive every message (push, per o.ack).
  uint32_t subscribers = 0;
  Consume consume = Consume::batch;
  bool ack = false;         ///< consumers lease each message and ack it
  uint32_t prefetch = 256;  ///< push with ack: the consumer's credit
  /// The run's queues are declared durable; the report adds the broker's
  /// fdatasync calls per acknowledged send (from STATUS) and the log's state.
  bool durable = false;
  std::string queue;   ///< empty: a fresh "bench-<pid>" queue, deleted at the end
  std::string socket;  ///< the broker's socket
};

/// What the broker's log did during a --durable run (STATUS before and after).
struct LogActivity {
  uint64_t syncs = 0;  ///< fdatasync calls on log files during the run
  uint64_t sends = 0;  ///< acknowledged sends they are divided by
  std::string state;   ///< "ok" or "failing" at the end
  std::string error;   ///< why it is failing
};

/// What one run measured.
struct Measurement {
  double seconds = 0;     ///< start barrier to the last message received (sends only: acked)
  uint64_t messages = 0;  ///< messages received, or round trips completed (sends only: acked)
  /// One-way latency, round-trip time (pingpong), or send to acknowledgement (sends only).
  LatencyHistogram latency;
  std::optional<uint64_t> sysv_qbytes;  ///< the SysV queue's msg_qbytes during the run
  std::optional<LogActivity> log;       ///< with --durable
};

/// A run that could not be completed; what() is one line naming the cause.
class BenchFailure : public std::runtime_error {
 public:
  BenchFailure(const std::string& what, bool interrupted = false)
      : std::runtime_error(what), interrupted_(interrupted) {}
  bool interrupted() const noexcept { return interrupted_; }

 private:
  bool interrupted_;
};

/// The message type of the end-of-run markers sent when several consumers
/// share a queue (data messages have type 1).
inline constexpr int64_t kStopType = 2;

// Each runs one measurement against its transport; throws BenchFailure, or
// postbox::Error for a failed request of the parent's own (declare, delete).
Measurement run_postbox_throughput(const BenchOptions& o);
Measurement run_postbox_pingpong(const BenchOptions& o);
/// Fan-out: messages counts deliveries, o.count per subscriber.
Measurement run_postbox_fanout(const BenchOptions& o);
Measurement run_sysv_throughput(const BenchOptions& o);
Measurement run_sysv_pingpong(const BenchOptions& o);

// --- Shared by the workload files ------------------------------------------

/// Writes `ns` into the first 8 bytes of a payload (native byte order: the
/// reader is the same binary on the same machine).
void write_stamp(char* payload, int64_t ns) noexcept;
int64_t read_stamp(const char* payload) noexcept;
/// Adds now - stamp, or 0 if the clock reads earlier (it cannot, but a
/// foreign payload could claim anything).
void record_latency(LatencyHistogram& h, int64_t now, int64_t stamp) noexcept;
/// Worker i's part of `count` split `parts` ways; the first ones take the remainder.
uint64_t share_of(uint64_t count, uint32_t parts, uint32_t i) noexcept;

/// Throws BenchFailure for a failed run.
void require_ok(const RunResult& r);
/// Sums the reports from `first_consumer` on: messages, the latest last_ns
/// and the merged latency.
Measurement throughput_of(const RunResult& r, std::size_t first_consumer);
/// The round trips measured by the worker at `pinger`.
Measurement pingpong_of(const RunResult& r, std::size_t pinger);

}  // namespace postbox::cli::bench
