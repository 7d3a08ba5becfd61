// The postbox workloads: pipelined producers and consumers on one queue, and a send/receive
// ping-pong.
//
// The parent declares the queues and deletes what it created; the workers
// each open their own connection after fork. Consumers stop when all `count`
// messages are in: one consumer counts them itself; several share a counter
// and the one that completes it sends end markers (type kStopType) so that
// the others, blocked on receives, wake up and stop too.
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <limits>

#include "client/cli/bench_workloads.hpp"
#include "postbox/client.hpp"

namespace postbox::cli::bench {

namespace {

constexpr std::string_view kClientName = "postbox-bench";
// The largest SEND of end markers: keeps their frame far below the broker's
// 16 MiB default frame limit (each marker is 8 payload bytes plus ~40 of framing).
constexpr std::size_t kStopChunk = 4096;
constexpr uint64_t kMarkerSize = 8;
// A queue deep enough for a whole run would need memory for all of it; past
// this many payload bytes producers block instead, the broker's own default.
constexpr uint64_t kMaxQueueBytes = 256ull << 20;
// Bytes a message adds to a SEND or RECEIVE_OK frame besides its payload
// (PROTOCOL.md 6.1 and 6.4: 20 and 56, rounded up), and a frame's own header
// and queue name, at most 12 + 256 + 12.
constexpr uint64_t kMessageOverhead = 64;
constexpr uint64_t kFrameOverhead = 512;

std::string quoted(std::string_view name) {
  return "'" + std::string(name) + "'";
}

/// Every marker any consumer's receive can take: each of the C * D receives
/// in flight takes up to B at once, so C * D * B markers leave none hungry.
uint64_t stop_markers(const BenchOptions& o) {
  return o.consumers > 1 ? uint64_t{o.consumers} * o.pipeline * o.batch : 0;
}

/// The payload bytes `messages` of `size` would need, capped at kMaxQueueBytes.
uint64_t capped_bytes(uint64_t messages, uint32_t size) {
  return messages > kMaxQueueBytes / size ? kMaxQueueBytes : std::max<uint64_t>(messages * size, 1);
}

/// The queues of a run: declared by the parent before the workers start,
/// removed at the end (or when declaring fails halfway) if the bench created them.
class BenchQueues {
 public:
  /// `messages` data messages of o.size bytes and `markers` end markers of 8.
  BenchQueues(const BenchOptions& o, std::vector<std::string> names, uint64_t messages,
              uint64_t markers)
      : socket_(o.socket), names_(std::move(names)) {
    Client admin(socket_, kClientName);
    check_limits(o, admin.server_info());
    QueueOptions q;
    q.exclusive = true;
    q.max_messages = messages + markers;
    // Markers are sent only once the data is gone, but must fit all at once:
    // when the last consumer has stopped, nobody would make room for the rest.
    q.max_bytes = capped_bytes(messages, o.size) + markers * kMarkerSize;
    q.max_message_size = o.size;
    q.mode = 0600;
    try {
      for (const std::string& name : names_) {
        if (create(admin, name, q)) continue;
        // A fresh queue must really be fresh; a --queue that exists is used
        // as it is (declaring it with limits would change them).
        if (o.queue.empty()) throw BenchFailure("queue " + quoted(name) + " exists already");
        check_queue(o, admin.declare(name).queue, markers);
      }
    } catch (...) {
      remove_created();
      throw;
    }
  }
  ~BenchQueues() { remove_created(); }
  BenchQueues(const BenchQueues&) = delete;
  BenchQueues& operator=(const BenchQueues&) = delete;

  /// Takes the end markers left in queues the bench did not create.
  void drain_stop_markers() {
    Client admin(socket_, kClientName);
    ReceiveOptions r;
    r.type = kStopType;
    r.timeout = kNoWait;
    for (const std::string& name : names_) {
      if (std::find(created_.begin(), created_.end(), name) != created_.end()) continue;
      while (!admin.receive_many(name, kStopChunk, r).empty()) {
      }
    }
  }

 private:
  static void check_limits(const BenchOptions& o, const ServerInfo& broker) {
    if (o.size > broker.max_message_size)
      throw BenchFailure("--size: the broker accepts messages of at most " +
                         std::to_string(broker.max_message_size) + " bytes, got " +
                         std::to_string(o.size));
    const uint64_t frame = uint64_t{o.batch} * (o.size + kMessageOverhead) + kFrameOverhead;
    if (frame > broker.max_frame_body)
      throw BenchFailure("--batch: " + std::to_string(o.batch) + " messages of " +
                         std::to_string(o.size) + " bytes exceed the broker's frame limit of " +
                         std::to_string(broker.max_frame_body) +
                         " bytes; use a smaller --batch or --size");
  }

  /// A queue that already existed must be empty and roomy enough.
  static void check_queue(const BenchOptions& o, const QueueStat& q, uint64_t markers) {
    if (q.depth > 0)
      throw BenchFailure("queue " + quoted(q.name) + " holds " + std::to_string(q.depth) +
                         " messages; the bench needs an empty queue");
    if (q.max_message_size < o.size)
      throw BenchFailure("queue " + quoted(q.name) + " takes messages of at most " +
                         std::to_string(q.max_message_size) + " bytes, --size is " +
                         std::to_string(o.size));
    if (q.max_messages < markers || q.max_bytes < markers * kMarkerSize)
      throw BenchFailure("queue " + quoted(q.name) + " cannot hold the " + std::to_string(markers) +
                         " end markers (8 bytes each) that " + std::to_string(o.consumers) +
                         " consumers x pipeline x batch need");
  }

  /// Declares `name` exclusively; false when it exists.
  bool create(Client& admin, const std::string& name, const QueueOptions& q) {
    try {
      admin.declare(name, q);
    } catch (const Error& e) {
      if (e.errc() == Errc::queue_exists) return false;
      throw;
    }
    created_.push_back(name);
    return true;
  }

  void remove_created() noexcept {
    // Best effort: a failed run must still not leave its queues behind, and
    // the run's own outcome matters more than a failure to tidy up.
    try {
      if (created_.empty()) return;
      Client admin(socket_, kClientName);
      for (const std::string& name : created_) admin.remove(name);
      created_.clear();
    } catch (const std::exception&) {
    }
  }

  std::string socket_;
  std::vector<std::string> names_;
  std::vector<std::string> created_;
};

[[noreturn]] void throw_reply(const Reply& r, std::string_view what) {
  throw BenchFailure(std::string(what) +
                     " failed: " + (r.error_message.empty() ? r.error.message() : r.error_message));
}

// =========================================================================
// Throughput
// =========================================================================

/// Sends `messages` in SENDs of up to `batch`, `pipeline` of them in flight.
WorkerReport produce(const BenchOptions& o, const std::string& queue, uint64_t messages,
                     StartGate& gate) {
  Client c(o.socket, kClientName);
  std::vector<std::string> payloads(o.batch, std::string(o.size, 'p'));
  std::deque<Client::Ticket> in_flight;
  gate.ready();
  WorkerReport report;
  uint64_t left = messages;
  while (left > 0 || !in_flight.empty()) {
    while (left > 0 && in_flight.size() < o.pipeline) {
      const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(left, o.batch));
      const int64_t now = monotonic_ns();
      for (std::size_t i = 0; i < n; ++i) write_stamp(payloads[i].data(), now);
      in_flight.push_back(c.start_send_batch(queue, std::span(payloads.data(), n)));
      left -= n;
    }
    // wait() writes the requests buffered above before it reads.
    Reply r = c.wait(in_flight.front());
    in_flight.pop_front();
    if (!r.ok()) throw_reply(r, "send");
    report.messages += r.count;
  }
  report.last_ns = monotonic_ns();
  return report;
}

void send_stop_markers(Client& c, const std::string& queue, uint64_t markers) {
  SendOptions stop;
  stop.type = kStopType;
  std::vector<std::string> payloads(kStopChunk, std::string(kMarkerSize, '\0'));
  while (markers > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(markers, kStopChunk));
    c.send_batch(queue, std::span(payloads.data(), n), stop);
    markers -= n;
  }
}

/// Receives until all `o.count` messages are in, `pipeline` RECEIVEs of up
/// to `batch` in flight; `shared` counts for all consumers when there are several.
WorkerReport consume(const BenchOptions& o, const std::string& queue, SharedCounter& shared,
                     StartGate& gate) {
  Client c(o.socket, kClientName);
  ReceiveOptions want;
  want.max_count = o.batch;
  std::deque<Client::Ticket> in_flight;
  gate.ready();
  WorkerReport report;
  for (;;) {
    while (in_flight.size() < o.pipeline) in_flight.push_back(c.start_receive(queue, want));
    Reply r = c.wait(in_flight.front());
    const int64_t now = monotonic_ns();
    in_flight.pop_front();
    if (!r.ok()) throw_reply(r, "receive");
    uint64_t data = 0;
    bool stop = false;
    for (const Message& m : r.messages) {
      if (m.type == kStopType) {
        stop = true;
        continue;
      }
      if (m.payload.size() != o.size)
        throw BenchFailure("queue " + quoted(queue) + " holds a message of " +
                           std::to_string(m.payload.size()) + " bytes that the bench did not send");
      record_latency(report.latency, now, read_stamp(m.payload.data()));
      ++data;
    }
    if (data > 0) {
      report.messages += data;
      report.last_ns = now;
    }
    // Requests still in flight are cancelled when the connection closes.
    if (stop) return report;
    if (o.consumers == 1) {
      if (report.messages >= o.count) return report;
    } else if (data > 0 && shared.add(data) >= o.count) {
      send_stop_markers(c, queue, stop_markers(o));
      return report;
    }
  }
}

// =========================================================================
// Ping-pong
// =========================================================================

/// Sends to `out`, waits for the echo on `back`, `count` times.
WorkerReport ping(const BenchOptions& o, const std::string& out, const std::string& back,
                  StartGate& gate) {
  Client c(o.socket, kClientName);
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
  Client c(o.socket, kClientName);
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

}  // namespace

Measurement run_postbox_throughput(const BenchOptions& o) {
  const std::string queue = base_name(o);
  const uint64_t markers = stop_markers(o);
  BenchQueues queues(o, {queue}, o.count, markers);
  SharedCounter received;
  std::vector<Worker> workers;
  for (uint32_t i = 0; i < o.producers; ++i) {
    const uint64_t n = share_of(o.count, o.producers, i);
    workers.push_back({"producer " + std::to_string(i + 1),
                       [&o, &queue, n](StartGate& g) { return produce(o, queue, n, g); }});
  }
  for (uint32_t i = 0; i < o.consumers; ++i) {
    workers.push_back({"consumer " + std::to_string(i + 1), [&o, &queue, &received](StartGate& g) {
                         return consume(o, queue, received, g);
                       }});
  }
  Measurement m = throughput_of(run_workers(std::move(workers)), o.producers);
  if (markers > 0) queues.drain_stop_markers();
  return m;
}

Measurement run_postbox_pingpong(const BenchOptions& o) {
  const std::string ping_queue = base_name(o) + ".ping", pong_queue = base_name(o) + ".pong";
  // One message in flight at a time; a little room keeps a mistake from blocking.
  BenchQueues queues(o, {ping_queue, pong_queue}, 16, 0);
  std::vector<Worker> workers;
  workers.push_back({"pinger", [&](StartGate& g) { return ping(o, ping_queue, pong_queue, g); }});
  workers.push_back({"ponger", [&](StartGate& g) { return pong(o, ping_queue, pong_queue, g); }});
  return pingpong_of(run_workers(std::move(workers)), 0);
}

}  // namespace postbox::cli::bench
