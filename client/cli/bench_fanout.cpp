// The fan-out workload (`bench --subscribers N`): producers publish to a topic, and N subscriber
// processes each receive every publication through their own temporary queue and push consumer.
//
// A subscriber declares and binds its queue before it reports ready, so no
// publication precedes a binding. Its queue has room for the whole run: under
// the default overflow a full subscriber would fail the publication for all.
#include <unistd.h>

#include <algorithm>

#include "client/cli/bench_consumers.hpp"
#include "client/cli/bench_queues.hpp"
#include "client/cli/bench_workloads.hpp"
#include "postbox/client.hpp"

namespace postbox::cli::bench {

namespace {

/// Publishes `messages` in PUBLISHes of up to `batch`, `pipeline` in flight;
/// each must reach every subscriber.
WorkerReport publish(const BenchOptions& o, const std::string& topic, uint64_t messages,
                     StartGate& gate) {
  return produce_pipelined(
      o, messages, gate,
      [&topic](Client& c, std::span<const std::string> batch) {
        return c.start_publish_batch(topic, batch);
      },
      [&o](const Reply& r) {
        if (!r.ok()) throw_reply(r, "publish");
        if (r.published.queues != o.subscribers)
          throw BenchFailure("a publication reached " + std::to_string(r.published.queues) +
                             " of " + std::to_string(o.subscribers) + " subscribers");
      });
}

/// One subscriber: a temporary queue bound to `topic`, consumed by push (with
/// --ack, leased and acked) until all o.count publications are in.
WorkerReport subscribe(const BenchOptions& o, const std::string& topic, StartGate& gate) {
  Client c(o.socket, kBenchClientName);
  QueueOptions room;
  room.temporary = true;
  room.max_messages = std::max<uint64_t>(o.count, 1);
  room.max_bytes = std::max<uint64_t>(o.count * o.size, 1);
  const std::string queue = c.declare("", room).queue.name;
  c.bind(queue, topic);
  BenchOptions alone = o;
  alone.consumers = 1;  // it counts for itself: every subscriber gets every message
  SharedCounter unused;
  WorkerReport report = push_on(alone, c, queue, unused, gate);
  // Closing would delete it too, but only once the broker reads the close:
  // deleting it now means no queue of the run outlives the bench.
  c.remove(queue);
  return report;
}

}  // namespace

Measurement run_postbox_fanout(const BenchOptions& o) {
  const std::string topic =
      o.queue.empty() ? "bench." + std::to_string(::getpid()) + ".fanout" : o.queue;
  std::vector<Worker> workers;
  for (uint32_t i = 0; i < o.producers; ++i) {
    const uint64_t n = share_of(o.count, o.producers, i);
    workers.push_back({"publisher " + std::to_string(i + 1),
                       [&o, &topic, n](StartGate& g) { return publish(o, topic, n, g); }});
  }
  for (uint32_t i = 0; i < o.subscribers; ++i) {
    workers.push_back({"subscriber " + std::to_string(i + 1),
                       [&o, &topic](StartGate& g) { return subscribe(o, topic, g); }});
  }
  // The subscribers' queues die with their connections.
  return throughput_of(run_workers(std::move(workers)), o.producers);
}

}  // namespace postbox::cli::bench
