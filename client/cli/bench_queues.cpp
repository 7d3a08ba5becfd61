// BenchQueues: limit checks, exclusive declaration, clean-up and end-marker draining of a run's
// queues.
#include "client/cli/bench_queues.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace postbox::cli::bench {

namespace {

// Bytes a message adds to a SEND or RECEIVE_OK frame besides its payload
// (PROTOCOL.md 6.1 and 6.4: 20 and 56, rounded up), and a frame's own header
// and queue name, at most 12 + 256 + 12.
constexpr uint64_t kMessageOverhead = 64;
constexpr uint64_t kFrameOverhead = 512;
// How long the leases of a run's ended consumers may take to come back: the
// broker returns them as soon as it reads each connection's end.
constexpr std::chrono::seconds kLeaseReturnWait{10};

/// The payload bytes `messages` of `size` would need, capped at kMaxQueueBytes.
uint64_t capped_bytes(uint64_t messages, uint32_t size) {
  return messages > kMaxQueueBytes / size ? kMaxQueueBytes : std::max<uint64_t>(messages * size, 1);
}

void check_limits(const BenchOptions& o, const ServerInfo& broker) {
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
void check_queue(const BenchOptions& o, const QueueStat& q, uint64_t markers) {
  if (q.depth > 0)
    throw BenchFailure("queue " + quoted(q.name) + " holds " + std::to_string(q.depth) +
                       " messages; the bench needs an empty queue");
  if (q.max_message_size < o.size)
    throw BenchFailure("queue " + quoted(q.name) + " takes messages of at most " +
                       std::to_string(q.max_message_size) + " bytes, --size is " +
                       std::to_string(o.size));
  if (q.durable != o.durable)
    throw BenchFailure("queue " + quoted(q.name) +
                       (q.durable ? " is durable: add --durable, or use another queue"
                                  : " is not durable: --durable needs a queue declared durable "
                                    "(or no --queue)"));
  if (o.consumers == 0 && (q.max_messages < o.count || q.max_bytes < o.count * o.size))
    throw BenchFailure("queue " + quoted(q.name) + " cannot hold the " + std::to_string(o.count) +
                       " messages that --consumers 0 leaves queued");
  if (q.max_messages < markers || q.max_bytes < markers * kMarkerSize)
    throw BenchFailure("queue " + quoted(q.name) + " cannot hold the " + std::to_string(markers) +
                       " end markers (8 bytes each) that " + std::to_string(o.consumers) +
                       " consumers x pipeline x batch need");
}

}  // namespace

std::string quoted(std::string_view name) {
  return "'" + std::string(name) + "'";
}

BenchQueues::BenchQueues(const BenchOptions& o, std::vector<std::string> names, uint64_t messages,
                         uint64_t markers)
    : socket_(o.socket), ack_(o.ack), names_(std::move(names)) {
  Client admin(socket_, kBenchClientName);
  check_limits(o, admin.server_info());
  QueueOptions q;
  q.exclusive = true;
  q.max_messages = messages + markers;
  // Markers are sent only once the data is gone, but must fit all at once:
  // when the last consumer has stopped, nobody would make room for the rest.
  q.max_bytes = capped_bytes(messages, o.size) + markers * kMarkerSize;
  q.max_message_size = o.size;
  q.mode = 0600;
  q.durable = o.durable;
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

BenchQueues::~BenchQueues() {
  remove_created();
}

void BenchQueues::drain_stop_markers() {
  Client admin(socket_, kBenchClientName);
  ReceiveOptions r;
  r.type = kStopType;
  r.timeout = kNoWait;
  for (const std::string& name : names_) {
    if (std::find(created_.begin(), created_.end(), name) != created_.end()) continue;
    // With --ack the consumers leave leased markers behind, which return to
    // the queue once the broker has seen their connections close; data
    // messages were all acked before the consumers ended.
    if (ack_) wait_for_no_leases(admin, name);
    while (!admin.receive_many(name, kStopChunk, r).empty()) {
    }
  }
}

void BenchQueues::purge_kept() {
  Client admin(socket_, kBenchClientName);
  for (const std::string& name : names_)
    if (std::find(created_.begin(), created_.end(), name) == created_.end()) admin.purge(name);
}

void BenchQueues::wait_for_no_leases(Client& admin, const std::string& name) {
  const auto deadline = std::chrono::steady_clock::now() + kLeaseReturnWait;
  for (;;) {
    const uint64_t leased = admin.stat(name).leased;
    if (leased == 0) return;
    if (std::chrono::steady_clock::now() > deadline)
      throw BenchFailure("queue " + quoted(name) + " still holds " + std::to_string(leased) +
                         " leased messages after the consumers ended");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

bool BenchQueues::create(Client& admin, const std::string& name, const QueueOptions& q) {
  try {
    admin.declare(name, q);
  } catch (const Error& e) {
    if (e.errc() == Errc::queue_exists) return false;
    throw;
  }
  created_.push_back(name);
  return true;
}

void BenchQueues::remove_created() noexcept {
  // Best effort: a failed run must still not leave its queues behind, and
  // the run's own outcome matters more than a failure to tidy up.
  try {
    if (created_.empty()) return;
    Client admin(socket_, kBenchClientName);
    for (const std::string& name : created_) admin.remove(name);
    created_.clear();
  } catch (const std::exception&) {
  }
}

}  // namespace postbox::cli::bench
