// The postbox workloads: pipelined producers and the consumers of bench_consumers.cpp on one
// queue, and a send/receive ping-pong.
//
// The parent declares the queues and deletes what it created; the workers
// each open their own connection after fork.
#include <unistd.h>

#include <algorithm>
#include <deque>

#include "client/cli/bench_consumers.hpp"
#include "client/cli/bench_queues.hpp"
#include "client/cli/bench_workloads.hpp"
#include "postbox/client.hpp"

namespace postbox::cli::bench {

namespace {

// =========================================================================
// Throughput
// =========================================================================

/// Sends `messages` in SENDs of up to `batch`, `pipeline` of them in flight.
WorkerReport produce(const BenchOptions& o, const std::string& queue, uint64_t messages,
                     StartGate& gate) {
  return produce_pipelined(
      o, messages, gate,
      [&queue](Client& c, std::span<const std::string> batch) {
        return c.start_send_batch(queue, batch);
      },
      [](const Reply& r) {
        if (!r.ok()) throw_reply(r, "send");
      });
}

// =========================================================================
// Ping-pong
// =========================================================================

/// Sends to `out`, waits for the echo on `back`, `count` times.
WorkerReport ping(const BenchOptions& o, const std::string& out, const std::string& back,
                  StartGate& gate) {
  Client c(o.socket, kBenchClientName);
  std::string payload(o.size, 'p');
  gate.ready();
  WorkerReport report;
  for (uint64_t i = 0; i < o.count; ++i) {
    const int64_t sent = monotonic_ns();
    write_stamp(payload.data(), sent);
    c.send(out, payload);
    std::optional<Message> echo = c.receive(back);
    const int64_t now = monotonic_ns();
    if (!echo || echo->payload.size() != o.size || read_stamp(echo->payload.data()) != sent)
      throw BenchFailure("queue " + quoted(back) + " returned a message that is not the echo");
    record_latency(report.latency, now, sent);
    ++report.messages;
    report.last_ns = now;
  }
  return report;
}

/// Receives from `in` and sends each message back on `out`, `count` times.
WorkerReport pong(const BenchOptions& o, const std::string& in, const std::string& out,
                  StartGate& gate) {
  Client c(o.socket, kBenchClientName);
  gate.ready();
  WorkerReport report;
  for (uint64_t i = 0; i < o.count; ++i) {
    std::optional<Message> m = c.receive(in);
    if (!m) throw BenchFailure("receive from " + quoted(in) + " returned nothing");
    c.send(out, m->payload);
    ++report.messages;
  }
  report.last_ns = monotonic_ns();
  return report;
}

std::string base_name(const BenchOptions& o) {
  return o.queue.empty() ? "bench-" + std::to_string(::getpid()) : o.queue;
}

/// The log's fdatasync count now, from STATUS on a connection of its own.
uint64_t log_syncs(const BenchOptions& o) {
  Client c(o.socket, kBenchClientName);
  return c.status().log.syncs_total;
}

/// What the log did since `syncs_before` for `sends` acknowledged sends.
LogActivity log_activity(const BenchOptions& o, uint64_t syncs_before, uint64_t sends) {
  Client c(o.socket, kBenchClientName);
  const LogStatus now = c.status().log;
  return {now.syncs_total - syncs_before, sends, now.state, now.error};
}

}  // namespace

std::size_t stamp_next_send(const BenchOptions& o, std::vector<std::string>& payloads,
                            uint64_t& left, int64_t& sent_ns) {
  const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(left, o.batch));
  sent_ns = monotonic_ns();
  for (std::size_t i = 0; i < n; ++i) write_stamp(payloads[i].data(), sent_ns);
  left -= n;
  return n;
}

void count_acked(const BenchOptions& o, WorkerReport& report, std::size_t n, int64_t sent_ns) {
  report.messages += n;
  // Nobody receives: the latency measured is the producer's, from the send
  // to its acknowledgement (for a durable queue, past the fsync).
  if (o.consumers != 0) return;
  const int64_t now = monotonic_ns();
  for (std::size_t i = 0; i < n; ++i) record_latency(report.latency, now, sent_ns);
}

WorkerReport produce_pipelined(const BenchOptions& o, uint64_t messages, StartGate& gate,
                               const StartBatch& start, const CheckReply& check) {
  Client c(o.socket, kBenchClientName);
  std::vector<std::string> payloads(o.batch, std::string(o.size, 'p'));
  struct InFlight {
    Client::Ticket ticket;
    std::size_t messages;
    int64_t sent_ns;
  };
  std::deque<InFlight> in_flight;
  gate.ready();
  WorkerReport report;
  uint64_t left = messages;
  while (left > 0 || !in_flight.empty()) {
    while (left > 0 && in_flight.size() < o.pipeline) {
      int64_t sent_ns = 0;
      const std::size_t n = stamp_next_send(o, payloads, left, sent_ns);
      in_flight.push_back({start(c, std::span(payloads.data(), n)), n, sent_ns});
    }
    // wait() writes the requests buffered above before it reads.
    Reply r = c.wait(in_flight.front().ticket);
    const InFlight done = in_flight.front();
    in_flight.pop_front();
    check(r);
    count_acked(o, report, done.messages, done.sent_ns);
  }
  report.last_ns = monotonic_ns();
  return report;
}

Measurement run_postbox_throughput(const BenchOptions& o) {
  const std::string queue = base_name(o);
  const uint64_t markers = stop_markers(o);
  BenchQueues queues(o, {queue}, o.count, markers);
  SharedCounter received;
  std::vector<Worker> workers;
  for (uint32_t i = 0; i < o.producers; ++i) {
    const uint64_t n = share_of(o.count, o.producers, i);
    workers.push_back({"producer " + std::to_string(i + 1), [&o, &queue, n](StartGate& g) {
                         return o.connections > 1 ? produce_connections(o, queue, n, g)
                                                  : produce(o, queue, n, g);
                       }});
  }
  for (uint32_t i = 0; i < o.consumers; ++i) {
    workers.push_back({"consumer " + std::to_string(i + 1), [&o, &queue, &received](StartGate& g) {
                         return consume(o, queue, received, g);
                       }});
  }
  const uint64_t syncs_before = o.durable ? log_syncs(o) : 0;
  // Sends only: the producers' reports are the measurement.
  Measurement m =
      throughput_of(run_workers(std::move(workers)), o.consumers == 0 ? 0 : o.producers);
  if (o.durable) m.log = log_activity(o, syncs_before, o.count);
  if (markers > 0) queues.drain_stop_markers();
  if (o.consumers == 0) queues.purge_kept();
  return m;
}

Measurement run_postbox_pingpong(const BenchOptions& o) {
  const std::string ping_queue = base_name(o) + ".ping", pong_queue = base_name(o) + ".pong";
  // One message in flight at a time; a little room keeps a mistake from blocking.
  BenchQueues queues(o, {ping_queue, pong_queue}, 16, 0);
  std::vector<Worker> workers;
  workers.push_back({"pinger", [&](StartGate& g) { return ping(o, ping_queue, pong_queue, g); }});
  workers.push_back({"ponger", [&](StartGate& g) { return pong(o, ping_queue, pong_queue, g); }});
  const uint64_t syncs_before = o.durable ? log_syncs(o) : 0;
  Measurement m = pingpong_of(run_workers(std::move(workers)), 0);
  // Each round trip is two sends, the ping and its echo.
  if (o.durable) m.log = log_activity(o, syncs_before, 2 * o.count);
  return m;
}

}  // namespace postbox::cli::bench
