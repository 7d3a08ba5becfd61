// Queue::Impl: the state behind a Queue, shared by queue.cpp (admission,
// receiving, waiters) and queue_jobs.cpp (leases, schedules, dead letters).
// Private to those two files.
#pragma once

#include <string_view>
#include <unordered_map>

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>

#include "broker/message_index.hpp"
#include "broker/queue.hpp"

namespace postbox::broker {

template <class T>
using WaiterList = bi::list<T, bi::constant_time_size<false>>;

struct DueOrder {
  bool operator()(const Message& a, const Message& b) const noexcept {
    return a.due_ns != b.due_ns ? a.due_ns < b.due_ns : a.id < b.id;
  }
};
struct LeaseOrder {
  bool operator()(const Message& a, const Message& b) const noexcept {
    return a.lease_deadline_ns != b.lease_deadline_ns ? a.lease_deadline_ns < b.lease_deadline_ns
                                                      : a.lease_tag < b.lease_tag;
  }
};
struct ExpiryOrder {
  bool operator()(const Message& a, const Message& b) const noexcept {
    return a.expires_ns != b.expires_ns ? a.expires_ns < b.expires_ns : a.id < b.id;
  }
};
// A message is in exactly one of order_ (ready), DelaySet or LeaseSet, so
// they share its order_hook.
using DelaySet = bi::multiset<Message, bi::member_hook<Message, SetHook, &Message::order_hook>,
                              bi::compare<DueOrder>>;
using LeaseSet = bi::multiset<Message, bi::member_hook<Message, SetHook, &Message::order_hook>,
                              bi::compare<LeaseOrder>>;
using ExpirySet = bi::multiset<Message, bi::member_hook<Message, SetHook, &Message::expiry_hook>,
                               bi::compare<ExpiryOrder>>;

struct Queue::Impl {
  Impl(Queue& q, uint64_t& ids, uint64_t created, QueueServices& s)
      : self(q), next_id(ids), services(s) {
    counters.created_ns = created;
  }
  ~Impl();

  const config::QueueLimits& limits() const noexcept { return self.attrs_.limits; }
  uint64_t held_count() const noexcept { return index.depth() + delayed_count + leased_count; }
  uint64_t held_bytes() const noexcept { return index.bytes() + delayed_bytes + leased_bytes; }
  bool fits(uint64_t count, uint64_t bytes) const noexcept {
    return held_count() + count <= limits().max_messages &&
           held_bytes() + bytes <= limits().max_bytes;
  }

  // --- admission (queue.cpp)
  Errc check_batch(const Batch& b) const noexcept;
  std::pair<uint64_t, uint64_t> room_needed(const Batch& b) const;
  bool can_make_room(const Batch& b) const;
  uint64_t admit(Batch& b, const Credentials& who);
  bool merge_duplicate(Message& incoming, Message& held);
  bool make_room_below(const Message& incoming);
  bool drop_one_oldest();
  bool admit_senders();

  // --- receiving (queue.cpp)
  Errc take(const ReceiveSpec& spec, const Credentials& who, Delivery& out);
  Errc take_removing(const ReceiveSpec& spec, Delivery& out, uint32_t max_count);
  Errc peek(const ReceiveSpec& spec, Delivery& out, uint32_t max_count);
  bool serve_pass();
  bool serve_receivers();
  void settle() {
    while (admit_senders() && serve_receivers()) {
    }
  }
  void after_add() {
    if (serve_receivers()) settle();
  }

  // --- where messages live (queue_jobs.cpp)
  /// Places a message that is in no index: delayed if due later, else ready.
  /// Returns it, or nullptr when it expired and left (dead-lettered).
  Message* place(MessagePtr m, uint64_t now);
  /// Unlinks a ready or delayed message from everything and hands it back.
  MessagePtr unlink_held(Message& m) noexcept;
  /// Unlinks a leased message from the lease indexes and its holder.
  MessagePtr end_lease(Message& m) noexcept;
  /// Removes a ready or delayed message for good.
  void destroy(Message& m) {
    forget_key(m);
    if (log) log->removed(self, m);
    unlink_held(m).reset();
  }
  /// Drops m's dedup key (it is leaving the queue).
  void forget_key(const Message& m) noexcept;
  /// A message leaving for the dead-letter queue (or the bin).
  void dead_letter(MessagePtr m, DeathReason why);
  /// A lease ending without ack: back in place or, at the limit, dead-lettered.
  void requeue(MessagePtr m, uint32_t delay_ms, uint64_t now);
  void lease(Message& m, const ReceiveSpec& spec, uint64_t now);
  /// advance() without serving waiters; true if it changed anything.
  bool process_due(uint64_t now);
  void reschedule();
  /// After a lease ended: serve waiters, admit senders, re-arm.
  void changed();

  Queue& self;
  uint64_t& next_id;
  QueueServices& services;
  MessageLog* log = nullptr;  // durable queues only
  MessageIndex index;         // ready messages
  DelaySet delayed;
  uint64_t delayed_count = 0;
  uint64_t delayed_bytes = 0;
  LeaseSet leases;
  uint64_t leased_count = 0;
  uint64_t leased_bytes = 0;
  ExpirySet expiring;                                   // ready and delayed messages with a TTL
  std::unordered_map<std::string_view, Message*> keys;  // dedup key -> holder (views into data)
  uint64_t scheduled = 0;                               // what services.schedule() was last told
  uint64_t delivered_total = 0;                         // to tell whether a pass delivered
  WaiterList<ReceiveWaiter> receivers;
  WaiterList<SendWaiter> senders;
  QueueStats counters;  // totals and last-activity fields; the rest is computed by stats()
};

}  // namespace postbox::broker
