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
#include <string_view>
#include <unordered_set>

#include "broker/clock.hpp"
#include "broker/queue_impl.hpp"

namespace postbox::broker {

namespace {

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

QueueServices& default_services() {
  static QueueServices services;  // loop-thread only, like everything here
  return services;
}

}  // namespace

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

// Whether the overflow policy can make room for `b` now. Leased messages are
// with consumers and cannot be discarded, so even a discarding policy may
// have to wait for acks.
// What the batch would add: messages whose dedup key is held (or repeated
// earlier in the batch) add nothing, so they need no room.
std::pair<uint64_t, uint64_t> Queue::Impl::room_needed(const Batch& b) const {
  uint64_t n = 0;
  uint64_t bytes = 0;
  std::unordered_set<std::string_view> batch_keys;
  for (const MessagePtr& m : b.messages) {
    if (m->key_size > 0) {
      const std::string_view key = m->dedup_key();
      if (keys.contains(key) || !batch_keys.insert(key).second) continue;
    }
    ++n;
    bytes += m->payload_size();
  }
  return {n, bytes};
}

bool Queue::Impl::can_make_room(const Batch& b) const {
  const auto [n, bytes] = room_needed(b);
  switch (limits().overflow) {
    case config::Overflow::reject:
    case config::Overflow::drop_new:  // PUBLISH drops the copy before asking
      return fits(n, bytes);
    case config::Overflow::drop_oldest:
    case config::Overflow::drop_lowest_priority:
      // drop-lowest discards incoming messages that rank lowest, so the
      // batch always fits once leased ones leave room for it.
      return leased_count + n <= limits().max_messages &&
             leased_bytes + bytes <= limits().max_bytes;
  }
  return false;
}

// Precondition: the batch passed check_batch() and can_make_room().
uint64_t Queue::Impl::admit(Batch& b, const Credentials& who) {
  // The timer may not have fired yet: an expired message must not hold its
  // dedup key. First, as dead letters take ids from the shared counter.
  if (scheduled != 0 && scheduled <= services.now_ns()) process_due(services.now_ns());
  const uint64_t first = next_id;
  // The batch's ids are taken up front: a message dead-lettered on arrival
  // (expired) takes an id for its copy, which must not split the range.
  next_id += b.messages.size();
  const uint64_t now_real = realtime_ns();
  const uint64_t now = services.now_ns();
  const config::Overflow policy = limits().overflow;
  b.duplicates.clear();
  if (policy == config::Overflow::drop_oldest) {
    const auto [n, bytes] = room_needed(b);
    while (!fits(n, bytes) && drop_one_oldest()) {
    }
  }
  const uint64_t default_ttl_ns = limits().ttl_ms * 1'000'000;
  for (uint32_t i = 0; i < b.messages.size(); ++i) {
    MessagePtr& m = b.messages[i];
    m->id = first + i;
    if (!b.keep_origin) {
      m->enqueue_time_ns = now_real;
      m->sender_pid = who.pid;
      m->sender_uid = who.uid;
    }
    m->delivery_count = 0;
    if (default_ttl_ns > 0 && (m->expires_ns == 0 || m->expires_ns > now + default_ttl_ns)) {
      m->expires_ns = now + default_ttl_ns;
    }
    ++counters.sent_total;
    if (m->key_size > 0) {
      if (auto it = keys.find(m->dedup_key()); it != keys.end()) {
        b.duplicates.push_back({i, it->second->id});
        merge_duplicate(*m, *it->second);
        ++counters.deduplicated_total;
        m.reset();
        continue;
      }
    }
    if (policy == config::Overflow::drop_lowest_priority && !make_room_below(*m)) {
      // Accepted but ranks below everything it could displace: discarded on arrival.
      ++counters.dropped_total;
      m.reset();
      continue;
    }
    if (!fits(1, m->payload_size())) {
      // Only under drop-oldest, when it discarded the holder of a key this
      // message repeats: room_needed() had counted it as a duplicate.
      assert(policy == config::Overflow::drop_oldest && "admit() without room");
      while (!fits(1, m->payload_size()) && drop_one_oldest()) {
      }
      if (!fits(1, m->payload_size())) {
        ++counters.dropped_total;
        m.reset();
        continue;
      }
    }
    if (m->key_size > 0) keys.emplace(m->dedup_key(), m.get());
    Message* placed = place(std::move(m), now);
    if (log && placed) log->added(self, *placed);
  }
  b.messages.clear();
  b.payload_bytes = 0;
  counters.last_send_pid = who.pid;
  counters.last_send_ns = now_real;
  return first;
}

// A send whose key is held: it may raise the held message's priority and
// bring its due time forward; nothing else changes.
bool Queue::Impl::merge_duplicate(Message& incoming, Message& held) {
  const bool raise = incoming.priority > held.priority;
  const bool sooner = held.state == MessageState::delayed && incoming.due_ns < held.due_ns;
  if (!raise && !sooner) return false;
  if (held.state == MessageState::leased) {
    held.priority = std::max(held.priority, incoming.priority);  // applies when it returns
    if (log) log->updated(self, held);
    return true;
  }
  MessagePtr m = unlink_held(held);
  m->priority = std::max(m->priority, incoming.priority);
  if (sooner) m->due_ns = incoming.due_ns;
  Message* placed = place(std::move(m), services.now_ns());
  if (log && placed) log->updated(self, *placed);
  return true;
}

// drop-lowest-priority: discards from the end of queue order (lowest priority,
// newest) only ready messages that rank below `incoming`, and only if that
// makes room; otherwise nothing queued is discarded and the caller drops `incoming`.
bool Queue::Impl::make_room_below(const Message& incoming) {
  const uint64_t size = incoming.payload_size();
  if (fits(1, size)) return true;
  // `incoming` is the newest, so exactly the lower priorities rank below it.
  const auto [count, bytes] = index.below(incoming.priority);
  if (held_count() - count + 1 > limits().max_messages ||
      held_bytes() - bytes + size > limits().max_bytes) {
    return false;
  }
  while (!fits(1, size)) {
    Message* last = index.last();
    assert(last && precedes(incoming, *last) && "drop-lowest discarding a higher-ranked message");
    destroy(*last);
    ++counters.dropped_total;
  }
  return true;
}

// drop-oldest: the oldest ready message, else the delayed one due last.
bool Queue::Impl::drop_one_oldest() {
  Message* victim = index.oldest();
  if (!victim && !delayed.empty()) victim = &*delayed.rbegin();
  if (!victim) return false;
  destroy(*victim);
  ++counters.dropped_total;
  return true;
}

bool Queue::Impl::admit_senders() {
  bool admitted = false;
  while (!senders.empty()) {
    SendWaiter& w = senders.front();
    // Before the room check, which admit() must not invalidate by expiring a key's holder.
    if (scheduled != 0 && scheduled <= services.now_ns()) process_due(services.now_ns());
    const Errc checked = check_batch(w.batch);  // limits may have been lowered while it waited
    if (checked == Errc::ok && !can_make_room(w.batch)) break;
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
  // The timer may not have fired yet: nothing expired is ever delivered, and
  // what is due is visible.
  if (scheduled != 0 && scheduled <= services.now_ns()) process_due(services.now_ns());
  const uint32_t max_count = std::max<uint32_t>(spec.max_count, 1);
  if (spec.peek) return peek(spec, out, max_count);
  const uint64_t before = delivered_total;
  const Errc result = take_removing(spec, out, max_count);
  if (delivered_total != before) {
    counters.last_receive_pid = who.pid;
    counters.last_receive_ns = realtime_ns();
  }
  return result;
}

Errc Queue::Impl::take_removing(const ReceiveSpec& spec, Delivery& out, uint32_t max_count) {
  uint32_t n = 0;
  uint64_t bytes = 0;
  const uint64_t now = spec.lease_to ? services.now_ns() : 0;
  for (; n < max_count; ++n) {
    Message* m = index.select(spec.selector);
    if (!m || too_big_for(*m, spec) || !fits_batch(*m, spec, n, bytes)) break;
    if (++m->delivery_count > 1) ++counters.redelivered_total;
    ++counters.received_total;
    ++delivered_total;
    if (spec.lease_to) {
      lease(*m, spec, now);  // assigns the tag deliver() reports
      out.deliver(*m, delivered_size(*m, spec));
    } else {
      out.deliver(*m, delivered_size(*m, spec));
      destroy(*m);
    }
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

// One turn for every waiter, oldest first. A waiter that starts waiting
// again from finished() (a push consumer) is behind those not yet served,
// so consumers take turns.
bool Queue::Impl::serve_pass() {
  const uint64_t before = delivered_total;
  WaiterList<ReceiveWaiter> pending;
  WaiterList<ReceiveWaiter> unmatched;
  // As in take(): what expired must not count as a match below.
  if (scheduled != 0 && scheduled <= services.now_ns()) process_due(services.now_ns());
  pending.splice(pending.end(), receivers);
  // A waiter alone has no one to take turns with: it may take a larger batch.
  const bool alone = !pending.empty() && std::next(pending.begin()) == pending.end();
  while (!pending.empty() && index.depth() > 0) {
    ReceiveWaiter& w = pending.front();
    pending.pop_front();
    if (!w.may_deliver() || !index.select(w.spec.selector)) {
      unmatched.push_back(w);
      continue;
    }
    Errc result;
    if (alone && w.max_count_alone() > w.spec.max_count) {
      ReceiveSpec spec = w.spec;
      spec.max_count = w.max_count_alone();
      result = take(spec, w.who, w);
    } else {
      result = take(w.spec, w.who, w);
    }
    if (result == Errc::no_message) {
      // take() found the match expired meanwhile: still waiting, not finished.
      unmatched.push_back(w);
      continue;
    }
    w.finished(result);  // may destroy w: it is already unlinked
  }
  // Oldest first again: the unmatched, those not reached, then any that began
  // waiting during a finished() call.
  receivers.splice(receivers.begin(), pending);
  receivers.splice(receivers.begin(), unmatched);
  return delivered_total != before;
}

bool Queue::Impl::serve_receivers() {
  bool any = false;
  // Terminates: a pass that delivers takes at least one ready message.
  while (!receivers.empty() && index.depth() > 0 && serve_pass()) any = true;
  return any;
}

// =========================================================================
// Queue
// =========================================================================

Queue::Queue(std::string name, QueueAttributes attrs, uint64_t& next_id, uint64_t created_ns,
             QueueServices* services)
    : name_(std::move(name)),
      attrs_(std::move(attrs)),
      impl_(std::make_unique<Impl>(*this, next_id, created_ns,
                                   services ? *services : default_services())) {}

Queue::~Queue() = default;

void Queue::set_attributes(const QueueAttributes& a) {
  attrs_ = a;
  impl_->settle();
}

Errc Queue::send(Batch& batch, const Credentials& who, uint64_t& first_id) {
  const Errc checked = impl_->check_batch(batch);
  if (checked != Errc::ok) return checked;
  // As in receive(): what expired before the timer fired takes no room.
  const uint64_t now = impl_->services.now_ns();
  if (impl_->scheduled != 0 && impl_->scheduled <= now && impl_->process_due(now)) {
    impl_->after_add();
    impl_->reschedule();
  }
  if (!impl_->senders.empty()) return Errc::queue_full;  // first come, first served
  if (!impl_->can_make_room(batch)) return Errc::queue_full;
  first_id = impl_->admit(batch, who);
  impl_->after_add();
  impl_->reschedule();
  return Errc::ok;
}

Errc Queue::check_send(const Batch& batch) const {
  const Errc checked = impl_->check_batch(batch);
  if (checked != Errc::ok) return checked;
  if (!impl_->senders.empty() || !impl_->can_make_room(batch)) return Errc::queue_full;
  return Errc::ok;
}

void Queue::count_publication(std::size_t messages, bool dropped) noexcept {
  (dropped ? impl_->counters.dropped_total : impl_->counters.published_total) += messages;
}

void Queue::wait_send(SendWaiter& w) {
  assert(!w.is_linked() && "wait_send() of a waiter already waiting");
  impl_->senders.push_back(w);
}

void Queue::cancel(SendWaiter& w) {
  if (!w.is_linked()) return;
  const bool was_first = &impl_->senders.front() == &w;
  w.unlink();
  if (was_first) {
    impl_->settle();
    impl_->reschedule();
  }
}

Errc Queue::receive(const ReceiveSpec& spec, const Credentials& who, Delivery& out) {
  const uint64_t before = impl_->delivered_total;
  const Errc result = impl_->take(spec, who, out);
  if (result == Errc::ok) out.batch_done();
  if (impl_->delivered_total != before) impl_->settle();
  impl_->reschedule();
  return result;
}

void Queue::detach(SendWaiter& w) noexcept {
  if (w.is_linked()) w.unlink();
}

void Queue::resume() {
  for (;;) {
    const bool received = impl_->serve_receivers();
    const bool admitted = impl_->admit_senders();
    if (!received && !admitted) break;
  }
  impl_->reschedule();
}

void Queue::wait_receive(ReceiveWaiter& w) {
  assert(!w.is_linked() && "wait_receive() of a waiter already waiting");
  impl_->receivers.push_back(w);
}

void Queue::cancel(ReceiveWaiter& w) {
  if (w.is_linked()) w.unlink();
}

uint64_t Queue::purge() {
  uint64_t n = impl_->index.depth() + impl_->delayed_count;
  // One PURGE record covers them all (replayed as "all that are not leased").
  auto discard = [this](Message& m) {
    impl_->forget_key(m);
    if (impl_->log) impl_->log->forgotten(*this, m);
    impl_->unlink_held(m).reset();
  };
  while (Message* m = impl_->index.oldest()) discard(*m);
  while (!impl_->delayed.empty()) discard(*impl_->delayed.begin());
  if (impl_->log && n > 0) impl_->log->purged(*this);
  impl_->counters.purged_total += n;
  impl_->settle();
  impl_->reschedule();
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
  // Leases end with the queue: their holders must not find them any more.
  while (!impl_->leases.empty()) impl_->end_lease(*impl_->leases.begin()).reset();
  if (impl_->scheduled != 0) {
    impl_->scheduled = 0;
    impl_->services.schedule(*this, 0);
  }
}

QueueStats Queue::stats() const {
  QueueStats s = impl_->counters;
  s.depth = impl_->index.depth();
  s.bytes = impl_->index.bytes();
  s.leased = impl_->leased_count;
  s.delayed = impl_->delayed_count;
  s.blocked_senders = impl_->senders.size();
  s.blocked_receivers = impl_->receivers.size();
  for (std::size_t p = 0; p < MessageIndex::kPriorities; ++p) {
    if (uint64_t n = impl_->index.depth_at(static_cast<uint8_t>(p))) s.depth_per_priority[p] = n;
  }
  return s;
}

void Queue::set_log(MessageLog* log) noexcept {
  impl_->log = log;
}

void Queue::for_each_message(const std::function<void(Message&)>& f) {
  impl_->index.for_each(f);
  for (Message& m : impl_->delayed) f(m);
  for (Message& m : impl_->leases) f(m);
}

uint64_t Queue::depth() const noexcept {
  return impl_->index.depth();
}
uint64_t Queue::bytes() const noexcept {
  return impl_->index.bytes();
}

}  // namespace postbox::broker
