// Queue: leases, delays, TTLs and dead letters — where a message lives and when it moves.
#include <cassert>
#include <string>

#include "broker/clock.hpp"
#include "broker/queue_impl.hpp"
#include "proto/properties.hpp"

namespace postbox::broker {

namespace {
constexpr uint64_t kNsPerMs = 1'000'000;
}

std::string_view to_string(DeathReason r) noexcept {
  switch (r) {
    case DeathReason::rejected:
      return "rejected";
    case DeathReason::max_deliveries:
      return "max_deliveries";
    case DeathReason::expired:
      return "expired";
  }
  return "unknown";
}

uint64_t QueueServices::now_ns() const {
  return steady_ns();
}
bool QueueServices::dead_letter(Queue&, MessagePtr&, DeathReason) {
  return false;
}
void QueueServices::schedule(Queue&, uint64_t) {}

Queue::Impl::~Impl() {
  // Safe-mode hooks must be unlinked before their messages are deleted.
  expiring.clear();
  while (!leases.empty()) end_lease(*leases.begin()).reset();
  delayed.clear_and_dispose([](Message* m) { delete m; });
  keys.clear();
}

// =========================================================================
// Where messages live
// =========================================================================

Message* Queue::Impl::place(MessagePtr m, uint64_t now) {
  if (m->expires_ns != 0 && m->expires_ns <= now) {
    ++counters.expired_total;
    dead_letter(std::move(m), DeathReason::expired);
    return nullptr;
  }
  Message* placed = m.get();
  if (m->expires_ns != 0) expiring.insert(*m);
  if (m->due_ns > now) {
    m->state = MessageState::delayed;
    ++delayed_count;
    delayed_bytes += m->payload_size();
    delayed.insert(*m.release());
    return placed;
  }
  m->due_ns = 0;
  index.insert(std::move(m));
  return placed;
}

MessagePtr Queue::Impl::unlink_held(Message& m) noexcept {
  assert(m.state != MessageState::leased && "unlink_held() of a leased message");
  if (m.expiry_hook.is_linked()) expiring.erase(expiring.iterator_to(m));
  if (m.state == MessageState::delayed) {
    delayed.erase(delayed.iterator_to(m));
    --delayed_count;
    delayed_bytes -= m.payload_size();
    m.state = MessageState::ready;
    return MessagePtr(&m);
  }
  return index.release(m);
}

void Queue::Impl::forget_key(const Message& m) noexcept {
  if (m.key_size == 0) return;
  auto it = keys.find(m.dedup_key());
  if (it != keys.end() && it->second == &m) keys.erase(it);
}

void Queue::Impl::lease(Message& m, const ReceiveSpec& spec, uint64_t now) {
  MessagePtr owned = unlink_held(m);
  m.lease_tag = services.next_tag++;
  m.lease_ms = spec.lease_ms != 0 ? spec.lease_ms : limits().lease_ms;
  m.lease_deadline_ns = now + uint64_t{m.lease_ms} * kNsPerMs;
  m.holder = spec.lease_to;
  m.leased_from = &self;
  m.state = MessageState::leased;
  leases.insert(*owned.release());
  m.holder->link(m);
  ++leased_count;
  leased_bytes += m.payload_size();
  if (log) log->leased(self, m);
}

MessagePtr Queue::Impl::end_lease(Message& m) noexcept {
  assert(m.state == MessageState::leased && m.leased_from == &self && "not leased from here");
  leases.erase(leases.iterator_to(m));
  LeaseHolder* holder = m.holder;
  holder->unlink(m);
  --leased_count;
  leased_bytes -= m.payload_size();
  m.holder = nullptr;
  m.leased_from = nullptr;
  m.state = MessageState::ready;
  holder->lease_ended();
  return MessagePtr(&m);
}

void Queue::Impl::dead_letter(MessagePtr m, DeathReason why) {
  forget_key(*m);
  if (log) log->removed(self, *m);  // before its history changes it
  if (limits().dead_letter.empty()) {
    ++counters.discarded_total;
    return;
  }
  // History goes after the existing properties, so the key's offset holds.
  std::string history;
  proto::append_header("x-death-queue", self.name(), history);
  proto::append_header("x-death-reason", to_string(why), history);
  proto::append_header("x-death-count", std::to_string(m->delivery_count), history);
  proto::append_header("x-death-time-ns", std::to_string(realtime_ns()), history);
  proto::append_header("x-first-enqueue-ns", std::to_string(m->enqueue_time_ns), history);
  m->data.insert(m->props_size, history);
  m->props_size += static_cast<uint32_t>(history.size());
  m->due_ns = 0;
  m->expires_ns = 0;
  m->lease_tag = 0;
  if (services.dead_letter(self, m, why)) {
    ++counters.dead_lettered_total;
  } else {
    ++counters.discarded_total;
  }
}

void Queue::Impl::requeue(MessagePtr m, uint32_t delay_ms, uint64_t now) {
  const uint32_t limit = limits().max_deliveries;
  if (limit != 0 && m->delivery_count >= limit) {
    dead_letter(std::move(m), DeathReason::max_deliveries);
    return;
  }
  m->due_ns = delay_ms != 0 ? now + uint64_t{delay_ms} * kNsPerMs : 0;
  Message* placed = place(std::move(m), now);
  if (log && placed) log->updated(self, *placed);
}

bool Queue::Impl::process_due(uint64_t now) {
  bool changed = false;
  // Leases first: a returned message whose TTL ran out meanwhile is expired by place().
  while (!leases.empty() && leases.begin()->lease_deadline_ns <= now) {
    ++counters.lease_expired_total;
    requeue(end_lease(*leases.begin()), 0, now);
    changed = true;
  }
  while (!expiring.empty() && expiring.begin()->expires_ns <= now) {
    ++counters.expired_total;
    MessagePtr m = unlink_held(*expiring.begin());
    dead_letter(std::move(m), DeathReason::expired);
    changed = true;
  }
  while (!delayed.empty() && delayed.begin()->due_ns <= now) {
    place(unlink_held(*delayed.begin()), now);
    changed = true;
  }
  return changed;
}

void Queue::Impl::reschedule() {
  const uint64_t next = self.next_deadline();
  if (next == scheduled) return;
  scheduled = next;
  services.schedule(self, next);
}

void Queue::Impl::changed() {
  serve_receivers();
  settle();
  reschedule();
}

// =========================================================================
// Queue: leases and time
// =========================================================================

void Queue::ack(Message& m, bool serve) {
  MessagePtr done = impl_->end_lease(m);
  impl_->forget_key(*done);
  if (impl_->log) impl_->log->removed(*this, *done);
  ++impl_->counters.acked_total;
  done.reset();
  if (serve) impl_->changed();  // room for blocked senders
}

void Queue::nack(Message& m, uint32_t delay_ms, std::optional<uint8_t> priority, bool serve) {
  MessagePtr back = impl_->end_lease(m);
  if (priority) back->priority = *priority;
  ++impl_->counters.nacked_total;
  impl_->requeue(std::move(back), delay_ms, impl_->services.now_ns());
  if (serve) impl_->changed();
}

void Queue::touch(Message& m, uint32_t lease_ms) {
  assert(m.state == MessageState::leased && m.leased_from == this && "not leased from here");
  impl_->leases.erase(impl_->leases.iterator_to(m));
  // m.lease_ms stays the receive's length: TOUCH 0 means that one, not the last touch's.
  const uint32_t length = lease_ms != 0 ? lease_ms : m.lease_ms;
  m.lease_deadline_ns = impl_->services.now_ns() + uint64_t{length} * kNsPerMs;
  impl_->leases.insert(m);
  impl_->reschedule();
}

void Queue::reject(Message& m, bool serve) {
  impl_->dead_letter(impl_->end_lease(m), DeathReason::rejected);
  if (serve) impl_->changed();
}

void Queue::return_lease(Message& m) {
  impl_->requeue(impl_->end_lease(m), 0, impl_->services.now_ns());
  impl_->reschedule();
}

void Queue::advance() {
  if (impl_->process_due(impl_->services.now_ns())) {
    impl_->changed();
  } else {
    impl_->reschedule();
  }
}

uint64_t Queue::next_deadline() const noexcept {
  uint64_t next = 0;
  auto consider = [&next](uint64_t t) {
    if (next == 0 || t < next) next = t;
  };
  if (!impl_->delayed.empty()) consider(impl_->delayed.begin()->due_ns);
  if (!impl_->expiring.empty()) consider(impl_->expiring.begin()->expires_ns);
  if (!impl_->leases.empty()) consider(impl_->leases.begin()->lease_deadline_ns);
  return next;
}

MessagePtr Queue::extract(const Selector& s) {
  if (impl_->process_due(impl_->services.now_ns())) impl_->after_add();
  Message* m = impl_->index.select(s);
  if (!m) return nullptr;
  impl_->forget_key(*m);
  if (impl_->log) impl_->log->removed(*this, *m);
  ++impl_->counters.moved_out_total;
  return impl_->unlink_held(*m);
}

void Queue::restore(MessagePtr m) {
  --impl_->counters.moved_out_total;
  if (m->key_size > 0) impl_->keys.emplace(m->dedup_key(), m.get());
  Message* placed = impl_->place(std::move(m), impl_->services.now_ns());
  if (impl_->log && placed) impl_->log->added(*this, *placed);
  impl_->reschedule();
}

void Queue::recover(MessagePtr m, bool was_leased) {
  const uint64_t now = impl_->services.now_ns();
  if (m->key_size > 0) impl_->keys.emplace(m->dedup_key(), m.get());
  if (was_leased) {
    impl_->requeue(std::move(m), 0, now);  // logs the lease's end
  } else {
    impl_->place(std::move(m), now);
  }
  impl_->reschedule();
}

void Queue::count_moved_in(uint64_t n) noexcept {
  impl_->counters.moved_in_total += n;
}

}  // namespace postbox::broker
