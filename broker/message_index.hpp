// MessageIndex: one queue's messages and the four indexes that make every selection O(log n).
//
// Owns the messages linked into it (raw pointers released from MessagePtr,
// deleted on erase). Indexes, all intrusive, so linking a message allocates
// nothing except a type node when its type is new:
//   - order_    every message in queue order (priority desc, id asc)
//   - types_    type -> its messages in queue order; empty types are erased
//   - heads_    each type's first message, in queue order (for except)
//   - arrival_  every message by arrival (id order)
// Only ready messages are here; delayed and leased ones live in the Queue.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include <boost/intrusive/set.hpp>

#include "broker/message.hpp"
#include "broker/selector.hpp"

namespace postbox::broker {

/// Queue order: higher priority first, then lower id (earlier arrival).
inline bool precedes(const Message& a, const Message& b) noexcept {
  return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
}

struct QueueOrder {
  bool operator()(const Message& a, const Message& b) const noexcept { return precedes(a, b); }
};

struct ArrivalOrder {
  bool operator()(const Message& a, const Message& b) const noexcept { return a.id < b.id; }
};

using OrderSet = bi::set<Message, bi::member_hook<Message, SetHook, &Message::order_hook>,
                         bi::compare<QueueOrder>>;
using TypeSet = bi::set<Message, bi::member_hook<Message, SetHook, &Message::type_hook>,
                        bi::compare<QueueOrder>>;
using ArrivalSet = bi::set<Message, bi::member_hook<Message, SetHook, &Message::arrival_hook>,
                           bi::compare<ArrivalOrder>>;

/// One type's messages; linked into heads_ by its first message while non-empty.
struct TypeEntry : bi::set_base_hook<> {
  explicit TypeEntry(int64_t t) : type(t) {}
  int64_t type;
  TypeSet messages;
  const Message& head() const noexcept { return *messages.begin(); }
};

struct HeadOrder {
  bool operator()(const TypeEntry& a, const TypeEntry& b) const noexcept {
    return precedes(a.head(), b.head());
  }
};
using HeadSet = bi::set<TypeEntry, bi::compare<HeadOrder>>;

class MessageIndex {
 public:
  static constexpr std::size_t kPriorities = 256;  // priority is a u8

  MessageIndex() = default;
  ~MessageIndex();
  MessageIndex(const MessageIndex&) = delete;
  MessageIndex& operator=(const MessageIndex&) = delete;

  /// Links `m` (id already assigned) and takes ownership. New messages (the
  /// largest id) cost amortised O(1) per index; a returning one O(log n).
  void insert(MessagePtr m);
  /// Unlinks `m`, which must be linked here, and hands it back.
  MessagePtr release(Message& m) noexcept;
  /// Unlinks and deletes `m`, which must be linked here.
  void erase(Message& m) noexcept { release(m).reset(); }
  /// Erases everything; returns how many. `before_delete(Message&)` runs for
  /// each first (to unlink it from indexes outside this one).
  template <class F>
  uint64_t clear(F&& before_delete) noexcept {
    for (Message& m : arrival_) before_delete(m);
    return clear();
  }
  uint64_t clear() noexcept;
  /// Calls f(Message&) for every message, in arrival order; f must not change the index.
  template <class F>
  void for_each(F&& f) {
    for (Message& m : arrival_) f(m);
  }

  /// The message a receive with `s` takes now, or nullptr: O(log n).
  Message* select(const Selector& s) noexcept;
  /// The last message in queue order (lowest priority, newest), or nullptr.
  Message* last() noexcept { return order_.empty() ? nullptr : &*order_.rbegin(); }
  /// The oldest-arrived message, or nullptr.
  Message* oldest() noexcept { return arrival_.empty() ? nullptr : &*arrival_.begin(); }

  uint64_t depth() const noexcept { return depth_; }
  uint64_t bytes() const noexcept { return bytes_; }
  uint64_t depth_at(uint8_t priority) const noexcept { return depth_per_priority_[priority]; }
  /// Messages and payload bytes of priorities below `priority`: what drop-lowest may free.
  std::pair<uint64_t, uint64_t> below(uint8_t priority) const noexcept;

 private:
  friend class MatchWalk;
  TypeEntry* entry_of(int64_t type) noexcept;

  OrderSet order_;
  std::map<int64_t, TypeEntry> types_;
  HeadSet heads_;
  ArrivalSet arrival_;
  uint64_t depth_ = 0;
  uint64_t bytes_ = 0;
  std::array<uint64_t, kPriorities> depth_per_priority_{};
  std::array<uint64_t, kPriorities> bytes_per_priority_{};
};

/// The successive matches of a selector in the order repeated receives would
/// take them, without removing anything (for peek): O(log n) per step. Valid
/// only while the index is not changed.
class MatchWalk {
 public:
  MatchWalk(MessageIndex& index, const Selector& s);
  /// The next match, or nullptr when there is none.
  Message* next();

 private:
  using Cursor = std::pair<TypeSet::iterator, TypeSet::iterator>;  // at, end
  Message* next_except();

  MessageIndex& index_;
  Selector selector_;
  bool started_ = false;
  OrderSet::iterator order_at_;
  std::map<int64_t, TypeEntry>::iterator type_at_;
  TypeSet::iterator in_type_;
  // except: a lazy k-way merge of the other types' sequences. Types enter the
  // heap in head order, so one not yet entered cannot precede heads_at_.
  HeadSet::iterator heads_at_;
  std::vector<Cursor> heap_;
};

}  // namespace postbox::broker
