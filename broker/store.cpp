// QueueStore: declaring (create, open, change), finding, removing and listing queues.
#include "broker/store.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace postbox::broker {

namespace {

constexpr std::size_t kMaxNameLength = 255;
constexpr uint32_t kMaxMode = 0777;
constexpr std::size_t kShownNameLength = 64;  // keeps an error about a bad name one short line
// max_frame_size - message_size_ceiling (256) minus a delivered message's
// header and the reply's count: what a message's data may exceed the ceiling by.
constexpr std::size_t kReplyHeadroom = 256 - 56 - 4;
constexpr uint64_t kMaxTtlMs = 100ull * 366 * 24 * 3600 * 1000;  // ~100 years: ns fit a u64

bool is_name_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string octal(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0%o", v);
  return buf;
}

DeclareResult failure(Errc code, std::string text) {
  DeclareResult r;
  r.code = code;
  r.error = std::move(text);
  return r;
}

// The limits `spec` asks for, over `base`.
config::QueueLimits merged(const DeclareSpec& spec, config::QueueLimits base) {
  if (spec.max_messages) base.max_messages = *spec.max_messages;
  if (spec.max_bytes) base.max_bytes = *spec.max_bytes;
  if (spec.max_message_size) base.max_message_size = *spec.max_message_size;
  if (spec.mode) base.mode = *spec.mode;
  if (spec.overflow) base.overflow = *spec.overflow;
  if (spec.max_deliveries) base.max_deliveries = *spec.max_deliveries;
  if (spec.dead_letter) base.dead_letter = *spec.dead_letter;
  if (spec.lease_ms) base.lease_ms = *spec.lease_ms;
  if (spec.ttl_ms) base.ttl_ms = *spec.ttl_ms;
  if (spec.durable) base.durable = *spec.durable;
  return base;
}

// Empty when the limits are acceptable, else the one-line reason.
std::string invalid_limits(const std::string& name, const config::QueueLimits& l,
                           uint32_t ceiling) {
  const std::string q = "queue '" + name + "': ";
  if (l.max_messages < 1) return q + "max_messages must be at least 1";
  if (l.max_bytes < 1) return q + "max_bytes must be at least 1";
  if (l.max_message_size < 1) return q + "max_message_size must be at least 1";
  if (l.max_message_size > ceiling) {
    return q + "max_message_size " + std::to_string(l.max_message_size) +
           " exceeds the broker's limit " + std::to_string(ceiling);
  }
  if (l.mode > kMaxMode) return q + "mode " + octal(l.mode) + " is outside 0..0777";
  if (!l.dead_letter.empty() && !valid_queue_name(l.dead_letter)) {
    return q + "dead_letter '" + shown(l.dead_letter) + "' is not a valid queue name";
  }
  if (l.dead_letter == name) return q + "a queue cannot be its own dead_letter queue";
  if (l.lease_ms < 1) return q + "lease_ms must be at least 1";
  if (l.ttl_ms > kMaxTtlMs) {
    return q + "ttl_ms " + std::to_string(l.ttl_ms) + " exceeds " + std::to_string(kMaxTtlMs);
  }
  return {};
}

bool same_limits(const config::QueueLimits& a, const config::QueueLimits& b) noexcept {
  return a.max_messages == b.max_messages && a.max_bytes == b.max_bytes &&
         a.max_message_size == b.max_message_size && a.mode == b.mode && a.overflow == b.overflow &&
         a.max_deliveries == b.max_deliveries && a.dead_letter == b.dead_letter &&
         a.lease_ms == b.lease_ms && a.ttl_ms == b.ttl_ms && a.durable == b.durable;
}

}  // namespace

std::string shown(std::string_view name) {
  std::string out;
  for (unsigned char c : name.substr(0, kShownNameLength)) {
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (name.size() > kShownNameLength) out += "...";
  return out;
}

bool valid_queue_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= kMaxNameLength &&
         std::all_of(name.begin(), name.end(), is_name_char);
}

QueueStore::QueueStore(config::QueueLimits defaults, uint32_t message_size_ceiling)
    : defaults_(defaults), ceiling_(message_size_ceiling) {}

DeclareResult QueueStore::declare(const DeclareSpec& spec_in, const Credentials& who,
                                  uint64_t now_ns) {
  DeclareSpec named;
  if (spec_in.temporary_for != 0 && spec_in.name.empty()) {
    named = spec_in;
    do {
      named.name =
          "tmp." + std::to_string(spec_in.temporary_for) + "." + std::to_string(next_temporary_++);
    } while (queues_.contains(named.name));
  }
  const DeclareSpec& spec = named.name.empty() ? spec_in : named;
  if (!valid_queue_name(spec.name)) {
    return failure(Errc::invalid_argument,
                   "queue name '" + shown(spec.name) + "': must be 1-255 bytes of [A-Za-z0-9._-]");
  }
  auto found = queues_.find(spec.name);
  Queue* existing = found == queues_.end() ? nullptr : found->second.get();
  config::QueueLimits base = existing ? existing->attributes().limits : defaults_;
  // The default dead-letter queue itself has none unless it asks for one.
  if (!existing && base.dead_letter == spec.name) base.dead_letter.clear();
  // A temporary queue ends with its connection: the default does not make it durable.
  if (!existing && spec.temporary_for != 0) base.durable = false;
  const config::QueueLimits wanted = merged(spec, base);
  if (std::string why = invalid_limits(spec.name, wanted, ceiling_); !why.empty()) {
    return failure(Errc::invalid_argument, std::move(why));
  }
  if (wanted.durable && spec.temporary_for != 0) {
    return failure(Errc::invalid_argument,
                   "queue '" + spec.name + "': a temporary queue cannot be durable");
  }
  if (existing && wanted.durable != existing->attributes().limits.durable) {
    return failure(Errc::invalid_argument, "queue '" + spec.name + "' exists and is " +
                                               (existing->durable() ? "durable" : "not durable") +
                                               ": durability is fixed when a queue is created");
  }
  // Creating or changing a durable queue writes a record; opening one does not.
  if (wanted.durable && (!existing || !same_limits(wanted, existing->attributes().limits))) {
    std::string why = log_ ? log_->writable() : "no durable log is configured";
    if (!why.empty()) {
      return failure(Errc::storage_error,
                     "queue '" + spec.name + "': cannot be logged: " + std::move(why));
    }
  }

  if (!existing) {
    QueueAttributes attrs{wanted, Ownership{who.uid, who.gid, wanted.mode}, spec.temporary_for};
    auto q = std::make_unique<Queue>(spec.name, attrs, next_id_, now_ns, this);
    DeclareResult r;
    r.queue = q.get();
    r.created = true;
    queues_.emplace(spec.name, std::move(q));
    if (wanted.durable) {
      r.queue->set_log(log_);
      log_->queue_declared(*r.queue);
    }
    return r;
  }

  const QueueAttributes& attrs = existing->attributes();
  if (spec.exclusive || spec.temporary_for != 0) {
    return failure(Errc::queue_exists, "queue '" + spec.name + "' already exists");
  }
  if (!may_read(attrs.owner, who) && !may_write(attrs.owner, who)) {
    return failure(Errc::permission_denied, "queue '" + spec.name + "': permission denied (mode " +
                                                octal(attrs.owner.mode) + ", owner uid " +
                                                std::to_string(attrs.owner.uid) + ")");
  }
  // Repeating the current attributes is opening, not changing: it needs no admin right.
  if (!same_limits(wanted, attrs.limits)) {
    if (!may_admin(attrs.owner, who)) {
      return failure(Errc::permission_denied, "queue '" + spec.name + "': only its owner (uid " +
                                                  std::to_string(attrs.owner.uid) +
                                                  ") or root may change its attributes");
    }
    QueueAttributes changed = attrs;
    changed.limits = wanted;
    changed.owner.mode = wanted.mode;
    existing->set_attributes(changed);
    if (existing->durable()) log_->queue_declared(*existing);
  }
  DeclareResult r;
  r.queue = existing;
  return r;
}

Queue* QueueStore::find(std::string_view name) noexcept {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : it->second.get();
}

void QueueStore::remove(Queue& q) {
  auto it = queues_.find(q.name());
  assert(it != queues_.end() && it->second.get() == &q && "remove() of a queue not in this store");
  // Out of the map first, so a finished() looking the name up no longer finds it.
  std::unique_ptr<Queue> doomed = std::move(it->second);
  queues_.erase(it);
  topics_.unbind_all(doomed.get());
  if (doomed->durable() && log_) log_->queue_dropped(*doomed);
  doomed->close();
}

Queue* QueueStore::restore_queue(const std::string& name, const QueueAttributes& attrs,
                                 uint64_t created_ns) {
  if (!valid_queue_name(name) || queues_.contains(name)) return nullptr;
  auto q = std::make_unique<Queue>(name, attrs, next_id_, created_ns, this);
  Queue* raw = q.get();
  queues_.emplace(name, std::move(q));
  raw->set_log(log_);
  return raw;
}

bool QueueStore::dead_letter(Queue& from, MessagePtr& m, DeathReason) {
  Queue* target = find(from.attributes().limits.dead_letter);
  if (!target || target == &from) return false;
  // The source's owner chose the dead-letter queue: it must be a queue that
  // owner may write to, or dead-lettering would be a way into anyone's queue.
  const Ownership& source = from.attributes().owner;
  if (!may_write(target->attributes().owner, Credentials{0, source.uid, source.gid})) return false;
  // Its history made it larger; one that no longer fits a reply frame could
  // never be delivered (and dead-letter cycles would keep growing it).
  if (m->data.size() > ceiling_ + kReplyHeadroom) return false;
  // A dead-letter queue keeps every death: the key would merge them.
  m->key_size = 0;
  Batch b;
  b.keep_origin = true;
  b.payload_bytes = m->payload_size();
  b.messages.push_back(std::move(m));
  uint64_t first = 0;
  // The broker itself sends: no permission applies, and a full queue drops it.
  if (target->send(b, Credentials{0, 0, 0}, first) == Errc::ok) return true;
  m = std::move(b.messages.front());
  return false;
}

void QueueStore::schedule(Queue& q, uint64_t when_ns) {
  if (on_schedule_) on_schedule_(q, when_ns);
}

MoveResult QueueStore::move(Queue& from, Queue& to, const Selector& which, uint64_t max_count) {
  MoveResult r;
  if (&from == &to) return r;
  while (r.moved < max_count) {
    MessagePtr m = from.extract(which);
    if (!m) break;
    Batch b;
    b.keep_origin = true;
    b.payload_bytes = m->payload_size();
    b.messages.push_back(std::move(m));
    uint64_t first = 0;
    const Errc code = to.send(b, Credentials{0, 0, 0}, first);
    if (code != Errc::ok) {
      from.restore(std::move(b.messages.front()));
      r.stopped = code;
      break;
    }
    // `to` holding the same dedup key took it as a duplicate: gone from
    // `from`, added nothing.
    if (!b.duplicates.empty()) ++r.merged;
    ++r.moved;
  }
  to.count_moved_in(r.moved);
  from.resume();  // room for its blocked senders
  return r;
}

std::vector<Queue*> QueueStore::all() {
  std::vector<Queue*> out;
  out.reserve(queues_.size());
  for (auto& [name, q] : queues_) out.push_back(q.get());
  std::sort(out.begin(), out.end(), [](Queue* a, Queue* b) { return a->name() < b->name(); });
  return out;
}

}  // namespace postbox::broker
