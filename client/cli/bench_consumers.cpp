// The consumers of postbox throughput: pipelined RECEIVEs of a batch or of one message each, or a
// push consumer; with --ack each message is leased and acked.
//
// Stopping: one consumer counts for itself. Several share a counter. Pulling
// consumers block in RECEIVE, so the one that completes the count sends end
// markers (type kStopType) that wake the others. Push consumers wait for
// deliveries a little at a time and look at the counter instead: without
// ack, a marker pushed to a consumer that is already leaving would be lost
// to the ones still waiting for theirs.
#include "client/cli/bench_consumers.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <vector>

#include "client/cli/bench_queues.hpp"
#include "postbox/client.hpp"

namespace postbox::cli::bench {

namespace {

// How long a push consumer among several waits for deliveries before it
// looks whether the others have received the rest. It only delays the
// consumer's exit: the measurement ends at the last message.
constexpr Timeout kCounterCheck = std::chrono::milliseconds(10);

/// Acks pipelined like requests: tags are gathered, send() puts them in one
/// ACK, and at most `window` ACKs wait for their replies at a time.
class Acker {
 public:
  Acker(Client& c, uint32_t window) : c_(c), window_(window) {}

  void add(uint64_t tag) { tags_.push_back(tag); }
  std::size_t gathered() const noexcept { return tags_.size(); }

  /// Buffers one ACK for the gathered tags; the client writes it with its
  /// next wait or deliveries call. Waits for the oldest replies past the window.
  void send() {
    if (!tags_.empty()) {
      in_flight_.push_back(c_.start_ack(tags_));
      tags_.clear();
    }
    while (in_flight_.size() > window_) settle_oldest();
  }

  /// Sends what is gathered and waits for every reply; returns when the last
  /// one arrived (0 if nothing was acked).
  int64_t finish() {
    send();
    while (!in_flight_.empty()) settle_oldest();
    return last_ns_;
  }

 private:
  void settle_oldest() {
    Reply r = c_.wait(in_flight_.front());
    in_flight_.pop_front();
    if (!r.ok()) throw_reply(r, "ack");
    // The bench's leases last the queue's default (30 s unless changed): a
    // missing one means a consumer held messages far too long.
    if (!r.missing.empty())
      throw BenchFailure("ack: " + std::to_string(r.missing.size()) +
                         " messages were no longer leased (did their leases expire?)");
    last_ns_ = monotonic_ns();
  }

  Client& c_;
  const uint32_t window_;
  std::vector<uint64_t> tags_;
  std::deque<Client::Ticket> in_flight_;
  int64_t last_ns_ = 0;
};

/// What one reply or batch of deliveries held.
struct Taken {
  uint64_t data = 0;
  bool stop = false;
};

/// Counts the data messages of `messages` into `report` with their latency
/// at `now`, and gathers their tags into `acks` when given. End markers are
/// only noted: leased ones go back when the connection closes.
Taken take(const BenchOptions& o, const std::string& queue, const std::vector<Message>& messages,
           int64_t now, WorkerReport& report, Acker* acks) {
  Taken t;
  for (const Message& m : messages) {
    if (m.type == kStopType) {
      t.stop = true;
      continue;
    }
    if (m.payload.size() != o.size)
      throw BenchFailure("queue " + quoted(queue) + " holds a message of " +
                         std::to_string(m.payload.size()) + " bytes that the bench did not send");
    record_latency(report.latency, now, read_stamp(m.payload.data()));
    if (acks) acks->add(m.delivery_tag);
    ++t.data;
  }
  if (t.data > 0) {
    report.messages += t.data;
    report.last_ns = now;
  }
  return t;
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

/// With ack a consumer is done when its last ack is confirmed.
WorkerReport finished(WorkerReport report, Acker& acks, bool ack) {
  if (ack) report.last_ns = std::max(report.last_ns, acks.finish());
  return report;
}

/// --consume batch and receive: `pipeline` RECEIVEs in flight of up to
/// `batch` messages or of one; with ack, one ACK per reply, pipelined too.
WorkerReport pull(const BenchOptions& o, const std::string& queue, SharedCounter& shared,
                  StartGate& gate) {
  Client c(o.socket, kBenchClientName);
  ReceiveOptions want;
  want.max_count = o.consume == Consume::batch ? o.batch : 1;
  want.ack = o.ack;
  std::deque<Client::Ticket> in_flight;
  Acker acks(c, o.pipeline);
  gate.ready();
  WorkerReport report;
  for (;;) {
    while (in_flight.size() < o.pipeline) in_flight.push_back(c.start_receive(queue, want));
    // wait() writes the requests buffered above (receives and acks) before it reads.
    Reply r = c.wait(in_flight.front());
    const int64_t now = monotonic_ns();
    in_flight.pop_front();
    if (!r.ok()) throw_reply(r, "receive");
    const Taken t = take(o, queue, r.messages, now, report, o.ack ? &acks : nullptr);
    if (o.ack) acks.send();
    // Requests still in flight are cancelled when the connection closes.
    if (t.stop) return finished(report, acks, o.ack);
    if (o.consumers == 1) {
      if (report.messages >= o.count) return finished(report, acks, o.ack);
    } else if (t.data > 0 && shared.add(t.data) >= o.count) {
      report = finished(report, acks, o.ack);
      send_stop_markers(c, queue, stop_markers(o));
      return report;
    }
  }
}

/// --consume push: one push consumer; with ack its credit is the prefetch,
/// and the tags of what it took go back in one ACK before it waits for more
/// (or once half the credit is held, so the broker never runs dry).
WorkerReport push(const BenchOptions& o, const std::string& queue, SharedCounter& shared,
                  StartGate& gate) {
  Client c(o.socket, kBenchClientName);
  return push_on(o, c, queue, shared, gate);
}

}  // namespace

WorkerReport push_on(const BenchOptions& o, Client& c, const std::string& queue,
                     SharedCounter& shared, StartGate& gate) {
  ConsumeOptions want;
  want.ack = o.ack;
  if (o.ack) want.prefetch = o.prefetch;
  const uint32_t id = c.consume(queue, want);
  Acker acks(c, o.pipeline);
  const std::size_t settle_at = std::max<uint32_t>(1, o.prefetch / 2);
  const Timeout wait = o.consumers == 1 ? kForever : kCounterCheck;
  gate.ready();
  WorkerReport report;
  for (;;) {
    std::vector<Message> got = c.deliveries(id, kNoWait);
    if (got.empty()) {
      if (o.ack) acks.send();  // held tags are credit the broker cannot use
      got = c.deliveries(id, wait);
    }
    const int64_t now = monotonic_ns();
    const Taken t = take(o, queue, got, now, report, o.ack ? &acks : nullptr);
    if (o.ack && acks.gathered() >= settle_at) acks.send();
    const uint64_t total =
        o.consumers == 1 ? report.messages : (t.data > 0 ? shared.add(t.data) : shared.load());
    if (total >= o.count) return finished(report, acks, o.ack);
  }
}

void throw_reply(const Reply& r, std::string_view what) {
  throw BenchFailure(std::string(what) +
                     " failed: " + (r.error_message.empty() ? r.error.message() : r.error_message));
}

uint64_t stop_markers(const BenchOptions& o) {
  if (o.consumers == 1 || o.consume == Consume::push) return 0;
  const uint64_t per_receive = o.consume == Consume::batch ? o.batch : 1;
  return uint64_t{o.consumers} * o.pipeline * per_receive;
}

WorkerReport consume(const BenchOptions& o, const std::string& queue, SharedCounter& shared,
                     StartGate& gate) {
  return o.consume == Consume::push ? push(o, queue, shared, gate) : pull(o, queue, shared, gate);
}

}  // namespace postbox::cli::bench
