// QueueStore: the named queues of one broker; declare, find, delete, list; name validation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "queue.hpp"
#include "topic_trie.hpp"

namespace postbox::broker {

/// 1-255 bytes of [A-Za-z0-9._-].
bool valid_queue_name(std::string_view name) noexcept;
/// A name as it may appear in a one-line error: printable, escaped, bounded.
std::string shown(std::string_view name);

/// A declare request: unset fields take the store's defaults (new queue) or
/// are left alone (existing queue).
struct DeclareSpec {
  std::string name;
  bool exclusive = false;
  std::optional<uint64_t> max_messages;
  std::optional<uint64_t> max_bytes;
  std::optional<uint32_t> max_message_size;
  std::optional<uint32_t> mode;
  std::optional<config::Overflow> overflow;
  std::optional<uint32_t> max_deliveries;
  std::optional<std::string> dead_letter;
  std::optional<uint32_t> lease_ms;
  std::optional<uint64_t> ttl_ms;
  /// Kept in the journal; fixed when the queue is created.
  std::optional<bool> durable;
  /// A new queue owned by this connection (session id): deleted when it ends.
  /// With an empty name the store picks one ("tmp.<session>.<n>").
  uint64_t temporary_for = 0;
  /// DECLARE's "temporary": the handler sets temporary_for to its session.
  bool temporary = false;
};

struct MoveResult {
  uint64_t moved = 0;       // taken from the source
  uint64_t merged = 0;      // of those, added nothing: the destination held their dedup key
  Errc stopped = Errc::ok;  // why it stopped before max_count with messages left (e.g. queue_full)
};

struct DeclareResult {
  Errc code = Errc::ok;
  std::string error;  // one line naming the queue and the problem when code != ok
  Queue* queue = nullptr;
  bool created = false;
};

/// Also the QueueServices of its queues: dead letters go to another queue of
/// the store, and schedule() reaches the broker's timer through on_schedule.
class QueueStore final : public QueueServices {
 public:
  /// `defaults` apply to queues declared without limits; `ceiling` is the
  /// largest max_message_size any queue may have (frame limit).
  QueueStore(config::QueueLimits defaults, uint32_t message_size_ceiling);

  /// Creates or opens. Opening checks read or write permission; attributes
  /// given for an existing queue change it and need may_admin. exclusive fails
  /// with queue_exists when it exists.
  DeclareResult declare(const DeclareSpec& spec, const Credentials& who, uint64_t now_ns);
  Queue* find(std::string_view name) noexcept;
  /// Closes (waking all waiters with queue_removed) and destroys the queue.
  void remove(Queue& q);
  /// Every queue, sorted by name.
  std::vector<Queue*> all();
  std::size_t size() const noexcept { return queues_.size(); }
  /// Moves up to `max_count` ready messages matching `which`, in queue order,
  /// keeping type, priority, properties, sender and enqueue time. Stops early
  /// when `to` refuses one (it stays in `from`). Permissions are the caller's.
  MoveResult move(Queue& from, Queue& to, const Selector& which, uint64_t max_count);

  // --- Topics: bindings of queues to patterns (broker/topic_trie.hpp).
  TopicTrie<Queue*>& topics() noexcept { return topics_; }
  struct TopicCounters {
    uint64_t published_total = 0;   // PUBLISH requests that succeeded
    uint64_t unroutable_total = 0;  // of those, reaching no queue
    uint64_t denied_total = 0;      // copies not delivered: no write permission
    uint64_t dropped_total = 0;     // copies dropped by full drop-new queues
    uint64_t copies_total = 0;      // copies queued, one per queue per publication
  };
  TopicCounters& topic_counters() noexcept { return topic_counters_; }

  bool dead_letter(Queue& from, MessagePtr& m, DeathReason why) override;
  void schedule(Queue& q, uint64_t when_ns) override;
  /// Where schedule() goes (the broker's timer); unset: nowhere.
  void set_on_schedule(std::function<void(Queue&, uint64_t)> f) { on_schedule_ = std::move(f); }
  uint32_t message_size_ceiling() const noexcept { return ceiling_; }

  // --- Durability. The journal every durable queue reports to; unset, no
  // queue can be durable (DECLARE fails with storage_error).
  void set_log(MessageLog* log) noexcept { log_ = log; }
  MessageLog* log() const noexcept { return log_; }
  /// Recovery: creates a durable queue as the journal had it (no permission
  /// checks); nullptr if the name is taken or invalid.
  Queue* restore_queue(const std::string& name, const QueueAttributes& attrs, uint64_t created_ns);
  /// The id the next message gets; recovery raises it past every id it saw.
  uint64_t next_id() const noexcept { return next_id_; }
  void raise_next_id(uint64_t at_least) noexcept {
    if (at_least > next_id_) next_id_ = at_least;
  }
  const config::QueueLimits& defaults() const noexcept { return defaults_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  config::QueueLimits defaults_;
  uint32_t ceiling_;
  uint64_t next_id_ = 1;
  uint64_t next_temporary_ = 1;
  TopicTrie<Queue*> topics_;
  TopicCounters topic_counters_;
  std::function<void(Queue&, uint64_t)> on_schedule_;
  MessageLog* log_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Queue>, Hash, std::equal_to<>> queues_;
};

}  // namespace postbox::broker
