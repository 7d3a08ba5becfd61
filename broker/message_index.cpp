// MessageIndex: linking, unlinking and selecting messages; MatchWalk for peeks.
#include "broker/message_index.hpp"

#include <algorithm>
#include <cassert>

namespace postbox::broker {

// =========================================================================
// MessageIndex
// =========================================================================

MessageIndex::~MessageIndex() {
  clear();
}

namespace {
/// Links `m` last when it sorts there (the usual case: ids grow), which costs
/// O(1); otherwise an ordinary O(log n) insert. Boost's end() hint is no
/// shortcut here: it finds the last node by walking down from the root.
/// The set's last element in O(1): the header's right link. (rbegin() walks
/// down from the root in this Boost version.)
template <class Set>
const Message* last_of(Set& set) noexcept {
  using traits = typename Set::node_traits;
  auto header = set.end().pointed_node();
  auto right = traits::get_right(header);
  return right == header ? nullptr : Set::value_traits::to_value_ptr(right);
}

template <class Set, class Less>
void insert_mostly_last(Set& set, Message& m, Less less) {
  const Message* last = last_of(set);
  assert(last == (set.empty() ? nullptr : &*set.rbegin()) && "header's right link is the last");
  if (!last || !less(m, *last)) {
    set.push_back(m);
  } else {
    set.insert(m);
  }
}
}  // namespace

void MessageIndex::insert(MessagePtr owned) {
  assert(owned && "MessageIndex::insert() needs a message");
  Message& m = *owned.release();
  m.state = MessageState::ready;
  // Ids grow, so a message usually sorts last (equal or lower priority).
  insert_mostly_last(order_, m, precedes);
  TypeEntry& e = types_.try_emplace(m.type, m.type).first->second;
  if (e.messages.empty()) {
    e.messages.insert(m);
    heads_.insert(e);
  } else if (precedes(m, e.head())) {
    // heads_ is ordered by each entry's head: re-key it around the change.
    heads_.erase(heads_.iterator_to(e));
    e.messages.insert(m);
    heads_.insert(e);
  } else {
    insert_mostly_last(e.messages, m, precedes);
  }
  insert_mostly_last(arrival_, m, [](const Message& a, const Message& b) { return a.id < b.id; });
  ++depth_;
  bytes_ += m.payload_size();
  ++depth_per_priority_[m.priority];
  bytes_per_priority_[m.priority] += m.payload_size();
}

MessagePtr MessageIndex::release(Message& m) noexcept {
  auto it = types_.find(m.type);
  assert(it != types_.end() && "erase() of a message not in this index");
  TypeEntry& e = it->second;
  const bool was_head = &e.head() == &m;
  if (was_head) heads_.erase(heads_.iterator_to(e));
  e.messages.erase(e.messages.iterator_to(m));
  if (e.messages.empty()) {
    types_.erase(it);
  } else if (was_head) {
    heads_.insert(e);
  }
  order_.erase(order_.iterator_to(m));
  arrival_.erase(arrival_.iterator_to(m));
  --depth_;
  bytes_ -= m.payload_size();
  --depth_per_priority_[m.priority];
  bytes_per_priority_[m.priority] -= m.payload_size();
  return MessagePtr(&m);
}

uint64_t MessageIndex::clear() noexcept {
  const uint64_t n = depth_;
  // Safe-mode hooks assert they are unlinked when destroyed: unlink from every
  // other index before the last one disposes of the messages.
  arrival_.clear();
  heads_.clear();
  for (auto& [type, e] : types_) e.messages.clear();
  types_.clear();
  order_.clear_and_dispose([](Message* m) { delete m; });
  depth_ = 0;
  bytes_ = 0;
  depth_per_priority_.fill(0);
  bytes_per_priority_.fill(0);
  return n;
}

TypeEntry* MessageIndex::entry_of(int64_t type) noexcept {
  auto it = types_.find(type);
  return it == types_.end() ? nullptr : &it->second;
}

Message* MessageIndex::select(const Selector& s) noexcept {
  if (s.is_any()) return order_.empty() ? nullptr : &*order_.begin();
  if (s.is_exact()) {
    TypeEntry* e = entry_of(s.type);
    return e ? &*e->messages.begin() : nullptr;
  }
  if (s.is_except()) {
    // The first head in queue order, or the second when the first is the excluded type.
    auto h = heads_.begin();
    if (h != heads_.end() && h->type == s.type) ++h;
    return h == heads_.end() ? nullptr : &*h->messages.begin();
  }
  auto lowest = types_.begin();
  if (lowest == types_.end() || lowest->first > s.bound()) return nullptr;
  return &*lowest->second.messages.begin();
}

std::pair<uint64_t, uint64_t> MessageIndex::below(uint8_t priority) const noexcept {
  uint64_t count = 0;
  uint64_t bytes = 0;
  for (std::size_t p = 0; p < priority; ++p) {
    count += depth_per_priority_[p];
    bytes += bytes_per_priority_[p];
  }
  return {count, bytes};
}

// =========================================================================
// MatchWalk
// =========================================================================

MatchWalk::MatchWalk(MessageIndex& index, const Selector& s) : index_(index), selector_(s) {}

Message* MatchWalk::next() {
  auto& types = index_.types_;
  if (selector_.is_any()) {
    order_at_ = started_ ? std::next(order_at_) : index_.order_.begin();
    started_ = true;
    return order_at_ == index_.order_.end() ? nullptr : &*order_at_;
  }
  if (selector_.is_except()) return next_except();
  if (!started_) {
    started_ = true;
    type_at_ = selector_.is_exact() ? types.find(selector_.type) : types.begin();
    if (type_at_ == types.end() || type_at_->first > selector_.bound()) {
      type_at_ = types.end();
      return nullptr;
    }
    in_type_ = type_at_->second.messages.begin();
    return &*in_type_;
  }
  if (type_at_ == types.end()) return nullptr;
  if (++in_type_ != type_at_->second.messages.end()) return &*in_type_;
  // Exhausted this type: exact has no more; at-most moves to the next type up.
  if (selector_.is_exact() || ++type_at_ == types.end() || type_at_->first > selector_.bound()) {
    type_at_ = types.end();
    return nullptr;
  }
  in_type_ = type_at_->second.messages.begin();
  return &*in_type_;
}

Message* MatchWalk::next_except() {
  auto& heads = index_.heads_;
  auto skip_excluded = [&] {
    if (heads_at_ != heads.end() && heads_at_->type == selector_.type) ++heads_at_;
  };
  if (!started_) {
    started_ = true;
    heads_at_ = heads.begin();
    skip_excluded();
  }
  // Min-heap on the cursors' current messages.
  auto later = [](const Cursor& a, const Cursor& b) { return precedes(*b.first, *a.first); };
  const bool from_heads = heads_at_ != heads.end() &&
                          (heap_.empty() || precedes(heads_at_->head(), *heap_.front().first));
  if (from_heads) {
    TypeSet& msgs = heads_at_->messages;
    Message* m = &*msgs.begin();
    ++heads_at_;
    skip_excluded();
    if (auto rest = std::next(msgs.begin()); rest != msgs.end()) {
      heap_.emplace_back(rest, msgs.end());
      std::push_heap(heap_.begin(), heap_.end(), later);
    }
    return m;
  }
  if (heap_.empty()) return nullptr;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Cursor& c = heap_.back();
  Message* m = &*c.first;
  if (++c.first == c.second) {
    heap_.pop_back();
  } else {
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  return m;
}

}  // namespace postbox::broker
