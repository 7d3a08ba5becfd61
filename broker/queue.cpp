// Queue: admission under limits and overflow policies, receives, and the two waiter lines.
//
// Waiters are served by splicing the line into a local list first, so a
// finished() that destroys its waiter, cancels another, or starts a new wait
// never invalidates the walk. After every change the queue is "settled":
// blocked senders are admitted in order while they fit, then receivers are
// served; if that removed messages, senders get another turn, and so on.
#include "broker/queue.hpp"

#include <algorithm>
#include <cassert>

#include "broker/clock.hpp"
#include "broker/message_index.hpp"

namespace postbox::broker {

namespace {

template <class T>
using WaiterList = bi::list<T, bi::constant_time_size<false>>;

bool too_big_for(const Message& m, const ReceiveSpec& spec) noexcept {
  return m.payload_size() > spec.max_size && !spec.truncate;
}

// Recomputed rather than trusting Batch::payload_bytes: the limits must hold for what is queued.
uint64_t payload_sum(const Batch& b) noexcept {
  uint64_t bytes = 0;
  for (const MessagePtr& m : b.messages) bytes += m->payload_size();
  return bytes;
}

uint32_t delivered_size(const Message& m, const ReceiveSpec& spec) noexcept {
  return static_cast<uint32_t>(std::min<std::size_t>(m.payload_size(), spec.max_size));
}

/// Adds m to a batch's byte count; false when it would overflow the budget
/// (never for the first message, `n` == 0).
bool fits_batch(const Message& m, const ReceiveSpec& spec, uint32_t n, uint64_t& bytes) noexcept {
  bytes += m.props_size + delivered_size(m, spec) + spec.per_message_bytes;
  return n == 0 || bytes <= spec.max_batch_bytes;
}

}  // namespace

struct Queue::Impl {
  Impl(const QueueAttributes& a, uint64_t& ids, uint64_t created) : attrs(a), next_id(ids) {
    counters.created_ns = created;
  }

  const config::QueueLimits& limits() const noexcept { return attrs.limits; }
  bool fits(uint64_t count, uint64_t bytes) const noexcept {
    return index.depth() + count <= limits().max_messages &&
           index.bytes() + bytes <= limits().max_bytes;
  }

  Errc check_batch(const Batch& b) const noexcept;
  uint64_t admit(Batch& b, const Credentials& who);
  bool make_room_below(const Message& incoming);
  void drop(Message& m) noexcept {
    index.erase(m);
    ++counters.dropped_total;
  }
  Errc take(const ReceiveSpec& spec, const Credentials& who, Delivery& out);
  Errc take_removing(const ReceiveSpec& spec, Delivery& out, uint32_t max_count);
  Errc peek(const ReceiveSpec& spec, Delivery& out, uint32_t max_count);
  bool admit_senders();
  bool serve_receivers();
  void settle() {
    while (admit_senders() && serve_receivers()) {
    }
  }
  void after_add() {
    if (serve_receivers()) settle();
  }

  const QueueAttributes& attrs;
  uint64_t& next_id;
  MessageIndex index;
  WaiterList<ReceiveWaiter> receivers;
  WaiterList<SendWaiter> senders;
  QueueStats counters;  // totals and last-activity fields; the rest is computed by stats()
};

// =========================================================================
// Admission
// =========================================================================

Errc Queue::Impl::check_batch(const Batch& b) const noexcept {
  for (const MessagePtr& m : b.messages) {
    assert(m && "a Batch holds no null messages");
    if (m->type < 1) return Errc::invalid_argument;  // msgsnd(2): mtype must be > 0
    if (m->payload_size() > limits().max_message_size) return Errc::too_big;
  }
  if (b.messages.size() > limits().max_messages || payload_sum(b) > limits().max_bytes) {
    return Errc::too_big;
  }
  return Errc::ok;
}

// Precondition: the batch passed check_batch() and fits, or the policy makes room.
uint64_t Queue::Impl::admit(Batch& b, const Credentials& who) {
  const uint64_t first = next_id;
  const uint64_t now = realtime_ns();
  const config::Overflow policy = limits().overflow;
  if (policy == config::Overflow::drop_oldest) {
    const uint64_t bytes = payload_sum(b);
    // Terminates: the batch is within the limits outright, so an empty queue fits it.
    while (!fits(b.messages.size(), bytes)) drop(*index.oldest());
  }
  for (MessagePtr& m : b.messages) {
    m->id = next_id++;
    m->enqueue_time_ns = now;
    m->sender_pid = who.pid;
    m->sender_uid = who.uid;
    m->delivery_count = 0;
    ++counters.sent_total;
    if (policy == config::Overflow::drop_lowest_priority && !make_room_below(*m)) {
      // Accepted but ranks below everything it could displace: discarded on arrival.
      ++counters.dropped_total;
      m.reset();
      continue;
    }
    assert(fits(1, m->payload_size()) && "admit() without room");
    index.insert(std::move(m));
  }
  b.messages.clear();
  b.payload_bytes = 0;
  counters.last_send_pid = who.pid;
  counters.last_send_ns = now;
  return first;
}

// drop-lowest-priority: discards from the end of queue order (lowest priority,
// newest) only messages that rank below `incoming`, and only if that makes
// room; otherwise nothing queued is discarded and the caller drops `incoming`.
bool Queue::Impl::make_room_below(const Message& incoming) {
  const uint64_t size = incoming.payload_size();
  if (fits(1, size)) return true;
  // `incoming` is the newest, so exactly the lower priorities rank below it.
  const auto [count, bytes] = index.below(incoming.priority);
  if (index.depth() - count + 1 > limits().max_messages ||
      index.bytes() - bytes + size > limits().max_bytes) {
    return false;
  }
  while (!fits(1, size)) {
    Message* last = index.last();
    assert(last && precedes(incoming, *last) && "drop-lowest discarding a higher-ranked message");
    drop(*last);
  }
  return true;
}

bool Queue::Impl::admit_senders() {
  bool admitted = false;
  while (!senders.empty()) {
    SendWaiter& w = senders.front();
    const Errc checked = check_batch(w.batch);  // limits may have been lowered while it waited
    if (checked == Errc::ok && limits().overflow == config::Overflow::reject &&
        !fits(w.batch.messages.size(), payload_sum(w.batch))) {
      break;
    }
    senders.pop_front();
    if (checked != Errc::ok) {
      w.finished(checked, 0, 0);
      continue;
    }
    const auto count = static_cast<uint32_t>(w.batch.messages.size());
    const uint64_t first = admit(w.batch, w.who);
    admitted = true;
    w.finished(Errc::ok, first, count);  // may destroy w
  }
  return admitted;
}

// =========================================================================
// Receiving
// =========================================================================

Errc Queue::Impl::take(const ReceiveSpec& spec, const Credentials& who, Delivery& out) {
  const uint32_t max_count = std::max<uint32_t>(spec.max_count, 1);
  if (spec.peek) return peek(spec, out, max_count);
  const uint64_t before = counters.received_total;
  const Errc result = take_removing(spec, out, max_count);
  if (counters.received_total != before) {
    counters.last_receive_pid = who.pid;
    counters.last_receive_ns = realtime_ns();
  }
  return result;
}

Errc Queue::Impl::take_removing(const ReceiveSpec& spec, Delivery& out, uint32_t max_count) {
  uint32_t n = 0;
  uint64_t bytes = 0;
  for (; n < max_count; ++n) {
    Message* m = index.select(spec.selector);
    if (!m || too_big_for(*m, spec) || !fits_batch(*m, spec, n, bytes)) break;
    ++m->delivery_count;
    out.deliver(*m, delivered_size(*m, spec));
    index.erase(*m);
    ++counters.received_total;
  }
  if (n > 0) return Errc::ok;
  return index.select(spec.selector) ? Errc::too_big : Errc::no_message;
}

Errc Queue::Impl::peek(const ReceiveSpec& spec, Delivery& out, uint32_t max_count) {
  MatchWalk walk(index, spec.selector);
  uint32_t n = 0;
  uint64_t bytes = 0;
  for (; n < max_count; ++n) {
    Message* m = walk.next();
    if (!m) break;
    if (too_big_for(*m, spec)) return n > 0 ? Errc::ok : Errc::too_big;
    if (!fits_batch(*m, spec, n, bytes)) break;
    out.deliver(*m, delivered_size(*m, spec));
  }
  return n > 0 ? Errc::ok : Errc::no_message;
}

bool Queue::Impl::serve_receivers() {
  if (receivers.empty()) return false;
  const uint64_t before = counters.received_total;
  WaiterList<ReceiveWaiter> pending;
  WaiterList<ReceiveWaiter> unmatched;
  pending.splice(pending.end(), receivers);
  while (!pending.empty() && index.depth() > 0) {
    ReceiveWaiter& w = pending.front();
    pending.pop_front();
    if (!w.may_deliver() || !index.select(w.spec.selector)) {
      unmatched.push_back(w);
      continue;
    }
    const Errc result = take(w.spec, w.who, w);
    w.finished(result);  // may destroy w: it is already unlinked
  }
  // Oldest first again: the unmatched, those not reached, then any that began
  // waiting during a finished() call.
  receivers.splice(receivers.begin(), pending);
  receivers.splice(receivers.begin(), unmatched);
  return counters.received_total != before;
}

// =========================================================================
// Queue
// =========================================================================

Queue::Queue(std::string name, QueueAttributes attrs, uint64_t& next_id, uint64_t created_ns)
    : name_(std::move(name)),
      attrs_(std::move(attrs)),
      impl_(std::make_unique<Impl>(attrs_, next_id, created_ns)) {}

Queue::~Queue() = default;

void Queue::set_attributes(const QueueAttributes& a) {
  attrs_ = a;
  impl_->settle();
}

Errc Queue::send(Batch& batch, const Credentials& who, uint64_t& first_id) {
  const Errc checked = impl_->check_batch(batch);
  if (checked != Errc::ok) return checked;
  if (!impl_->senders.empty()) return Errc::queue_full;  // first come, first served
  if (attrs_.limits.overflow == config::Overflow::reject) {
    if (!impl_->fits(batch.messages.size(), payload_sum(batch))) return Errc::queue_full;
  }
  first_id = impl_->admit(batch, who);
  impl_->after_add();
  return Errc::ok;
}

void Queue::wait_send(SendWaiter& w) {
  assert(!w.is_linked() && "wait_send() of a waiter already waiting");
  impl_->senders.push_back(w);
}

void Queue::cancel(SendWaiter& w) {
  if (!w.is_linked()) return;
  const bool was_first = &impl_->senders.front() == &w;
  w.unlink();
  if (was_first) impl_->settle();
}

Errc Queue::receive(const ReceiveSpec& spec, const Credentials& who, Delivery& out) {
  const uint64_t before = impl_->counters.received_total;
  const Errc result = impl_->take(spec, who, out);
  if (result == Errc::ok) out.batch_done();
  if (impl_->counters.received_total != before) impl_->settle();
  return result;
}

void Queue::detach(SendWaiter& w) noexcept {
  if (w.is_linked()) w.unlink();
}

void Queue::resume() {
  for (;;) {
    const bool received = impl_->serve_receivers();
    const bool admitted = impl_->admit_senders();
    if (!received && !admitted) return;
  }
}

void Queue::wait_receive(ReceiveWaiter& w) {
  assert(!w.is_linked() && "wait_receive() of a waiter already waiting");
  impl_->receivers.push_back(w);
}

void Queue::cancel(ReceiveWaiter& w) {
  if (w.is_linked()) w.unlink();
}

uint64_t Queue::purge() {
  const uint64_t n = impl_->index.clear();
  impl_->counters.purged_total += n;
  impl_->settle();
  return n;
}

void Queue::close() {
  // Unlinked before finished(), which may destroy the waiter.
  while (!impl_->receivers.empty()) {
    ReceiveWaiter& w = impl_->receivers.front();
    impl_->receivers.pop_front();
    w.finished(Errc::queue_removed);
  }
  while (!impl_->senders.empty()) {
    SendWaiter& w = impl_->senders.front();
    impl_->senders.pop_front();
    w.finished(Errc::queue_removed, 0, 0);
  }
}

QueueStats Queue::stats() const {
  QueueStats s = impl_->counters;
  s.depth = impl_->index.depth();
  s.bytes = impl_->index.bytes();
  s.blocked_senders = impl_->senders.size();
  s.blocked_receivers = impl_->receivers.size();
  for (std::size_t p = 0; p < MessageIndex::kPriorities; ++p) {
    if (uint64_t n = impl_->index.depth_at(static_cast<uint8_t>(p))) s.depth_per_priority[p] = n;
  }
  return s;
}

uint64_t Queue::depth() const noexcept {
  return impl_->index.depth();
}
uint64_t Queue::bytes() const noexcept {
  return impl_->index.bytes();
}

}  // namespace postbox::broker
