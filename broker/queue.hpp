// Queue: one named queue's messages, indexes, limits, blocked senders and receivers, counters.
//
// All queue state is touched only on the broker's loop thread; nothing here locks.
//
// A message is ready (in the indexes below), delayed (invisible until due),
// or leased to a consumer (until settled or expired). Time-driven changes
// (due, TTL, lease expiry) happen in advance(); the queue tells its
// QueueServices when its earliest deadline changes, so one broker timer
// serves every queue and a million delayed messages cost no CPU.
//
// Order: higher priority first, equal priority by id (= arrival order). Every
// selection of Selector costs O(log n) or better in the ready messages:
//   - order_      all messages in queue order          -> type 0, drop-lowest-priority
//   - types_      type -> that type's messages in queue order -> type T, type < 0
//   - heads_      each type's first message, in queue order  -> except T (first or second head)
//   - arrival_    all messages by arrival                -> drop-oldest
// Invariant: no blocked receiver has a matching message queued (every change
// that adds messages serves the receivers, oldest first), and blocked senders
// are admitted strictly first-come first-served.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>

#include "config/config.hpp"
#include "credentials.hpp"
#include "lease.hpp"
#include "message.hpp"
#include "message_log.hpp"
#include "permissions.hpp"
#include "proto/errc.hpp"
#include "selector.hpp"

namespace postbox::broker {

using proto::Errc;

struct QueueAttributes {
  config::QueueLimits limits;
  Ownership owner;
  /// Non-zero: a temporary queue of that connection (session id), which alone
  /// may receive from it and whose end deletes it.
  uint64_t temporary_owner = 0;
};

/// What a receive asks for (the RECEIVE request minus queue name and timeout).
struct ReceiveSpec {
  Selector selector;
  uint32_t max_size = UINT32_MAX;  // largest payload accepted
  bool truncate = false;           // cut larger payloads to max_size (MSG_NOERROR)
  bool peek = false;               // deliver without removing
  uint32_t max_count = 1;          // deliver up to this many in one go (>= 1)
  /// A batch ends before the message that would take the delivered bytes
  /// (payload + properties + per_message_bytes each) past this; the first
  /// message always goes. Keeps one reply within the frame limit.
  uint64_t max_batch_bytes = UINT64_MAX;
  uint32_t per_message_bytes = 0;
  /// Ack mode: lease each delivered message to this holder instead of
  /// removing it (lease_tag is set before deliver()). Null: auto-ack.
  LeaseHolder* lease_to = nullptr;
  uint32_t lease_ms = 0;  // 0: the queue's default lease
};

/// Why a message left for the dead-letter queue (x-death-reason).
enum class DeathReason : uint8_t { rejected, max_deliveries, expired };
std::string_view to_string(DeathReason r) noexcept;

/// The broker-wide collaborators of every queue. The defaults suit a queue on
/// its own (tests): the real clock, no dead-letter queues, no timer.
class QueueServices {
 public:
  virtual ~QueueServices() = default;
  /// CLOCK_MONOTONIC in ns: what due, expiry and lease deadlines are in.
  virtual uint64_t now_ns() const;
  /// Takes `m` (already stamped with its history) into `from`'s dead-letter
  /// queue. False when there is none (missing or full): the caller discards it.
  virtual bool dead_letter(Queue& from, MessagePtr& m, DeathReason why);
  /// `q`'s earliest deadline is now `when_ns` (0: nothing due): call
  /// q.advance() then. Called only when it changes.
  virtual void schedule(Queue& q, uint64_t when_ns);
  uint64_t next_tag = 1;  // delivery tags, unique across queues
};

/// Receives the selected messages of one receive, in order. `payload_size`
/// is the number of payload bytes to deliver (less than the message's when
/// truncated). The message is removed (unless peeking) after the call returns.
class Delivery {
 public:
  virtual void deliver(const Message& m, uint32_t payload_size) = 0;
  /// Called once after the last deliver() of a receive() that delivered,
  /// before the queue admits blocked senders (whose replies may go to the
  /// same connection, so a reply being encoded must be complete by then).
  virtual void batch_done() {}

 protected:
  ~Delivery() = default;
};

/// A receive waiting for a match. Owned by its connection; linked into the
/// queue while it waits (auto-unlinks if destroyed). The queue unlinks it
/// before calling finished(), so finished() may destroy it (or cancel or start
/// other waits). Sending or receiving on the same queue from inside finished()
/// keeps the queue consistent, but waiters not yet served may be overtaken.
class ReceiveWaiter : public Delivery, public bi::list_base_hook<AutoUnlink> {
 public:
  ReceiveSpec spec;
  Credentials who;
  /// ok after one or more deliver() calls; too_big when the matching message
  /// exceeds max_size without truncate; queue_removed when the queue is deleted.
  virtual void finished(Errc result) = 0;
  /// False while the waiter may not take messages now (its connection has
  /// more unread replies than allowed): it is skipped, keeps its place, and
  /// its owner calls Queue::resume() once it may take again.
  virtual bool may_deliver() const { return true; }
  /// How many it may take at once when it is the only waiter (a push
  /// consumer takes one message per turn only to alternate with others).
  virtual uint32_t max_count_alone() const { return spec.max_count; }

 protected:
  ~ReceiveWaiter() = default;
};

/// A message of a batch that was not added: the queue holds its dedup key.
struct Duplicate {
  uint32_t index = 0;        // position in the batch
  uint64_t existing_id = 0;  // the message holding the key
};

/// A batch of messages to queue together (one SEND): all or nothing.
struct Batch {
  std::vector<MessagePtr> messages;
  uint64_t payload_bytes = 0;  // sum of payload sizes, what max_bytes counts
  /// Moved or dead-lettered: keep sender and enqueue time instead of stamping them.
  bool keep_origin = false;
  std::vector<Duplicate> duplicates;  // filled by send()
};

/// A send waiting for room, holding its batch.
class SendWaiter : public bi::list_base_hook<AutoUnlink> {
 public:
  Batch batch;
  Credentials who;
  /// ok with the ids assigned when the batch was queued; queue_removed when deleted;
  /// too_big when the queue's limits were lowered below the batch while it waited.
  virtual void finished(Errc result, uint64_t first_id, uint32_t count) = 0;

 protected:
  ~SendWaiter() = default;
};

struct QueueStats {
  uint64_t depth = 0;
  uint64_t bytes = 0;
  uint64_t sent_total = 0;      // messages accepted, incl. those drop-lowest discarded on arrival
  uint64_t received_total = 0;  // messages removed by receive
  uint64_t dropped_total = 0;   // discarded by an overflow policy
  uint64_t purged_total = 0;
  uint32_t last_send_pid = 0;
  uint64_t last_send_ns = 0;  // CLOCK_REALTIME; 0 = never
  uint32_t last_receive_pid = 0;
  uint64_t last_receive_ns = 0;
  uint64_t created_ns = 0;
  uint64_t blocked_senders = 0;
  uint64_t blocked_receivers = 0;
  std::map<uint8_t, uint64_t> depth_per_priority;  // only non-empty priorities (ready)
  uint64_t leased = 0;
  uint64_t delayed = 0;
  uint64_t acked_total = 0;
  uint64_t nacked_total = 0;
  uint64_t redelivered_total = 0;    // deliveries with delivery_count > 1
  uint64_t lease_expired_total = 0;  // leases that ran out
  uint64_t expired_total = 0;        // messages whose TTL ran out
  uint64_t dead_lettered_total = 0;  // taken by the dead-letter queue
  uint64_t discarded_total = 0;      // due for dead-lettering, but no queue took them
  uint64_t deduplicated_total = 0;   // sends not added: their key was held
  uint64_t moved_in_total = 0;
  uint64_t moved_out_total = 0;
  uint64_t published_total = 0;  // messages taken from publications (also in sent_total)
};

class Queue {
 public:
  /// `next_id` is the broker-wide id counter, shared by every queue;
  /// `services` (default: a private QueueServices) outlives the queue.
  Queue(std::string name, QueueAttributes attrs, uint64_t& next_id, uint64_t created_ns,
        QueueServices* services = nullptr);
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  const std::string& name() const noexcept { return name_; }
  const QueueAttributes& attributes() const noexcept { return attrs_; }
  /// Changes limits/mode; a limit raised may admit blocked senders.
  void set_attributes(const QueueAttributes& a);

  /// Queues the whole batch or nothing. ok: queued, ids first_id.. assigned,
  /// waiting receivers served. queue_full: no room now (and blocked senders, if
  /// any, come first); the caller may wait_send(). too_big: a message exceeds
  /// max_message_size, or the batch exceeds the queue's limits outright, so
  /// waiting could never help. Overflow policies other than reject make room
  /// by discarding and never return queue_full. invalid_argument: a message
  /// type < 1 (msgsnd's EINVAL). On ok the batch's messages have been taken.
  Errc send(Batch& batch, const Credentials& who, uint64_t& first_id);
  /// What send() would answer now, without queuing anything (PUBLISH checks
  /// every target before it sends to any).
  Errc check_send(const Batch& batch) const;
  /// Counts a publication's copy: taken (after send() said ok) or, when the
  /// queue was full under drop-new, dropped.
  void count_publication(std::size_t messages, bool dropped) noexcept;
  /// Parks a sender after send() said queue_full. finished() is called later,
  /// never from inside this call.
  void wait_send(SendWaiter& w);
  /// Unlinks a waiting sender (timeout, disconnect) and admits those behind it.
  /// Does not call finished(); a waiter not waiting is ignored.
  void cancel(SendWaiter& w);
  /// Unlinks a waiting sender without admitting anyone: for cancelling all of
  /// a connection's requests at once, then resume() (a cancelled request must
  /// not let its own connection's later ones through, nor feed a receive
  /// about to be cancelled).
  void detach(SendWaiter& w) noexcept;
  /// Serves receivers and admits senders until neither makes progress: after
  /// detach(), or when a skipped waiter may deliver again.
  void resume();

  /// Selects and delivers up to spec.max_count messages. ok: at least one
  /// delivered. no_message: nothing matches; the caller may wait_receive().
  /// too_big: the first match is larger than max_size and !truncate; it stays.
  /// A later match that is too big ends the batch early (it stays queued).
  /// Every delivery that removes increments delivery_count before deliver();
  /// a peek is not a delivery and leaves it alone.
  Errc receive(const ReceiveSpec& spec, const Credentials& who, Delivery& out);
  /// Parks a receiver after receive() said no_message; finished() comes later.
  void wait_receive(ReceiveWaiter& w);
  /// Unlinks a waiting receiver without calling finished(); ignored if not waiting.
  void cancel(ReceiveWaiter& w);

  // --- Leases. `m` must be leased from this queue (m.leased_from == this);
  // each call ends or changes that lease and serves waiters.

  // With serve = false, waiters are not served and the timer is not re-armed:
  // for settling many leases at once, then resume() each queue touched.

  /// Done: the message is removed.
  void ack(Message& m, bool serve = true);
  /// Back to its place (same id and order), after `delay_ms`, with a new
  /// priority if given; dead-lettered instead once max_deliveries is reached.
  void nack(Message& m, uint32_t delay_ms, std::optional<uint8_t> priority, bool serve = true);
  /// Extends the lease to `lease_ms` from now (0: its original length).
  void touch(Message& m, uint32_t lease_ms);
  /// Straight to the dead-letter queue (or discarded).
  void reject(Message& m, bool serve = true);
  /// Its holder is gone (connection closed): like nack without a delay, but
  /// waiters are not served; call resume() after returning a batch.
  void return_lease(Message& m);

  /// Makes due messages ready, expires TTLs and leases whose time has come.
  void advance();
  /// The earliest deadline in the queue (CLOCK_MONOTONIC ns), 0 for none.
  uint64_t next_deadline() const noexcept;

  /// For MOVE: takes the first ready match out of the queue; nullptr if none.
  MessagePtr extract(const Selector& s);
  /// Puts an extracted message back where it was.
  void restore(MessagePtr m);
  /// Counts messages a MOVE brought in (stats only).
  void count_moved_in(uint64_t n) noexcept;

  /// Removes every ready and delayed message; returns how many. Leased ones
  /// stay with their consumers. Admits blocked senders.
  uint64_t purge();
  /// Fails every waiter with queue_removed and ends every lease (the
  /// messages go with the queue). Called before the queue is destroyed.
  void close();

  QueueStats stats() const;
  uint64_t depth() const noexcept;  // ready messages
  uint64_t bytes() const noexcept;  // their payload bytes

  // --- Durability (broker/journal). A durable queue reports every change of
  // its messages to its log, set once when the queue is created or recovered.
  bool durable() const noexcept { return attrs_.limits.durable; }
  void set_log(MessageLog* log) noexcept;
  /// The journal's bookkeeping for this queue: its number in the records and
  /// the bytes of the records that hold its messages now.
  struct LogState {
    uint32_t id = 0;
    uint64_t bytes = 0;
  };
  LogState& log_state() noexcept { return log_state_; }
  const LogState& log_state() const noexcept { return log_state_; }
  /// Recovery: takes a message as the journal had it (id, counts, times
  /// kept); one that was leased comes back as a returned lease would. Not logged
  /// as new, but a change recovery causes (expiry, a returned lease) is.
  void recover(MessagePtr m, bool was_leased);
  /// Every message held (ready, delayed, leased), in no particular order;
  /// `f` must not add, remove or reorder messages.
  void for_each_message(const std::function<void(Message&)>& f);

 private:
  // Implementation state lives in queue.cpp's Impl, keeping the indexes'
  // template machinery out of every includer.
  struct Impl;
  std::string name_;
  QueueAttributes attrs_;
  LogState log_state_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace postbox::broker
