// The consumers of `postbox bench`'s postbox throughput mode (bench_consumers.cpp), and what the
// producer side shares with them.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/cli/bench_workloads.hpp"
#include "postbox/client.hpp"
#include "postbox/types.hpp"

namespace postbox::cli::bench {

/// Throws BenchFailure naming `what` and the failed reply's error.
[[noreturn]] void throw_reply(const Reply& r, std::string_view what);

/// The end markers a run with several pulling consumers sends: each of the
/// C * D receives in flight takes up to its max_count at once, so that many
/// leave none hungry. Push consumers need none (they watch the shared count),
/// nor does a single consumer (it counts for itself).
uint64_t stop_markers(const BenchOptions& o);

/// One consumer process: takes messages from `queue` per o.consume and o.ack
/// until all o.count are in (`shared` counts for all when there are several),
/// recording each one's latency. With ack the consumer is done when the broker
/// has confirmed its last ack: that is when its report's last_ns is taken.
WorkerReport consume(const BenchOptions& o, const std::string& queue, SharedCounter& shared,
                     StartGate& gate);
/// Starts one request for a batch of payloads (a SEND, a PUBLISH).
using StartBatch = std::function<Client::Ticket(Client&, std::span<const std::string>)>;
/// Throws BenchFailure for a reply that is not what the run needs.
using CheckReply = std::function<void(const Reply&)>;
/// A producer process: `messages` in requests of up to o.batch payloads,
/// o.pipeline in flight, each payload stamped with its send time.
WorkerReport produce_pipelined(const BenchOptions& o, uint64_t messages, StartGate& gate,
                               const StartBatch& start, const CheckReply& check);

/// A producer's next SEND: up to o.batch of the `left` messages, their
/// payloads stamped with the time, which it returns in `sent_ns`; takes them
/// off `left` and returns how many.
std::size_t stamp_next_send(const BenchOptions& o, std::vector<std::string>& payloads,
                            uint64_t& left, int64_t& sent_ns);
/// Counts an acknowledged SEND of `n` messages sent at `sent_ns`; sends only
/// (no consumers), its acknowledgement latency is the measurement.
void count_acked(const BenchOptions& o, WorkerReport& report, std::size_t n, int64_t sent_ns);

/// A producer process with o.connections connections in one event loop
/// (bench_connections.cpp), `messages` split between them, each sending as
/// produce_pipelined() does; the report covers them all.
WorkerReport produce_connections(const BenchOptions& o, const std::string& queue, uint64_t messages,
                                 StartGate& gate);

/// consume() with o.consume push, on a connection the caller set up (a
/// subscriber's, which owns its temporary queue).
WorkerReport push_on(const BenchOptions& o, Client& c, const std::string& queue,
                     SharedCounter& shared, StartGate& gate);

}  // namespace postbox::cli::bench
