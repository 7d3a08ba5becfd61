// SEND: validate a batch, queue it whole, or park it until the queue has room.
#include <chrono>

#include "broker/clock.hpp"
#include "broker/handlers.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"

namespace postbox::broker {

using proto::Errc;

namespace {

std::string full_text(const Queue& q) {
  const auto& l = q.attributes().limits;
  return quoted_queue(q.name()) + " is full (max_messages " + std::to_string(l.max_messages) +
         ", max_bytes " + std::to_string(l.max_bytes) + ")";
}

void reply_sent(Session& s, uint32_t rid, uint64_t first_id, uint32_t count,
                const std::vector<Duplicate>& duplicates) {
  proto::SendReply r{first_id, count, {}};
  r.duplicates.reserve(duplicates.size());
  for (const Duplicate& d : duplicates) r.duplicates.push_back({d.index, d.existing_id});
  proto::encode(r, s.output(), rid, s.version());
}

void reply_send_error(Session& s, uint32_t rid, const Queue& q, Errc code, const Batch& b) {
  switch (code) {
    case Errc::queue_full:
      return s.reply_error(rid, code, full_text(q));
    case Errc::too_big: {
      const auto& l = q.attributes().limits;
      return s.reply_error(rid, code,
                           "a batch of " + std::to_string(b.messages.size()) + " messages (" +
                               std::to_string(b.payload_bytes) + " bytes) can never fit " +
                               quoted_queue(q.name()) + " (max_messages " +
                               std::to_string(l.max_messages) + ", max_bytes " +
                               std::to_string(l.max_bytes) + ")");
    }
    case Errc::queue_removed:
      return s.reply_error(rid, code, quoted_queue(q.name()) + " was deleted");
    default:
      return s.reply_error(rid, code, std::string(proto::to_string(code)));
  }
}

/// A SEND waiting for room: parked on the queue, on the deadline timer and
/// on its session; whichever ends it first answers it and deletes it.
class PendingSend final : public SendWaiter, public Deadline, public Pending {
 public:
  PendingSend(Session& s, Queue& q, uint32_t rid, uint32_t timeout_ms, Batch b)
      : session_(s), queue_(q), rid_(rid), timeout_ms_(timeout_ms) {
    batch = std::move(b);
    for (const MessagePtr& m : batch.messages) held_ += m->data.size() + sizeof(Message);
  }

  void finished(Errc result, uint64_t first_id, uint32_t count) override {
    if (result == Errc::ok)
      reply_sent(session_, rid_, first_id, count, batch.duplicates);
    else
      reply_send_error(session_, rid_, queue_, result, batch);
    done();
  }
  void expired() override {
    queue_.cancel(static_cast<SendWaiter&>(*this));
    session_.reply_error(
        rid_, Errc::queue_full,
        full_text(queue_) + " after waiting " + std::to_string(timeout_ms_) + " ms");
    done();
  }
  Queue& queue() noexcept override { return queue_; }
  void detach() noexcept override { static_cast<SendWaiter&>(*this).unlink(); }
  void answer(Errc code) override {
    session_.reply_error(rid_, code,
                         "the send was cancelled (the broker is stopping or the connection is "
                         "closing); nothing was queued");
    session_.reply_ready();
    delete this;
  }
  std::size_t held_bytes() const noexcept override { return held_; }

 private:
  void done() {
    session_.unpark(*this);
    session_.reply_ready();
    delete this;  // unlinks from the timer and the queue
  }
  Session& session_;
  Queue& queue_;
  uint32_t rid_;
  uint32_t timeout_ms_;
  std::size_t held_ = 0;  // fixed at parking: the batch empties when admitted
};

/// Checks the whole body's framing (lengths, counts, properties TLV), so a
/// malformed SEND is a protocol error whatever queue it names.
bool well_framed(std::span<const std::byte> body) {
  proto::SendReader reader;
  if (!reader.open(body)) return false;
  proto::OutgoingMessage m;
  while (reader.next(m)) {
  }
  return !reader.failed();
}

/// The largest properties section one message may carry. max_bytes counts
/// payloads (like msg_qbytes), so this bounds what a full queue holds beyond it.
constexpr std::size_t kMaxPropertiesSize = 64 * 1024;

constexpr uint64_t kNsPerMs = 1'000'000;
// Far beyond any real schedule (~292 years of ns), so sums cannot wrap.
constexpr uint64_t kMaxScheduleMs = 100ull * 366 * 24 * 3600 * 1000;

/// Due time and expiry from the scheduling properties, on the monotonic clock.
/// A due time in the past is now; delay and due together: the later wins.
void schedule(Message& m, const proto::Scheduling& sc, uint64_t now_real, uint64_t now_steady) {
  uint64_t due = 0;
  if (sc.delay_ms && *sc.delay_ms > 0) {
    due = now_steady + std::min(*sc.delay_ms, kMaxScheduleMs) * kNsPerMs;
  }
  if (sc.due_ns && *sc.due_ns > now_real) {
    due = std::max(due, now_steady + std::min(*sc.due_ns - now_real, kMaxScheduleMs * kNsPerMs));
  }
  m.due_ns = due;
  // TTL counts from the send, not from when a delayed message becomes due.
  if (sc.ttl_ms && *sc.ttl_ms > 0)
    m.expires_ns = now_steady + std::min(*sc.ttl_ms, kMaxScheduleMs) * kNsPerMs;
  if (!sc.dedup_key.empty()) {
    m.key_offset = static_cast<uint32_t>(sc.dedup_key_offset);
    m.key_size = static_cast<uint32_t>(sc.dedup_key.size());
  }
}

/// Copies the messages of a well-framed body into a Batch, or sets `problem`
/// (code and text) for the first message the queue cannot take.
Batch build_batch(Session& s, std::span<const std::byte> body, const Queue& q, Errc& code,
                  std::string& problem) {
  proto::SendReader reader;
  reader.open(body);
  const uint32_t max_size = q.attributes().limits.max_message_size;
  const uint32_t max_frame = s.context().config.max_frame_size;
  const uint64_t now = realtime_ns();
  const uint64_t steady = steady_ns();
  Batch batch;
  batch.messages.reserve(reader.header().count);
  proto::OutgoingMessage m;
  while (reader.next(m)) {
    if (m.type < 1) {
      code = Errc::invalid_argument;
      problem = "message type must be 1..9223372036854775807, got " + std::to_string(m.type);
    } else if (m.properties.size() > kMaxPropertiesSize) {
      code = Errc::too_big;
      problem = "a message's properties of " + std::to_string(m.properties.size()) +
                " bytes exceed the limit of " + std::to_string(kMaxPropertiesSize);
    } else if (m.properties.size() + m.payload.size() + proto::kDeliveredMessageHeader + 4 >
               max_frame) {
      // Delivered messages carry a larger header than sent ones; one must fit a reply.
      code = Errc::too_big;
      problem = "a message of " + std::to_string(m.payload.size()) + " bytes with " +
                std::to_string(m.properties.size()) +
                " bytes of properties would not fit a reply frame (max_frame_size " +
                std::to_string(max_frame) + ")";
    } else if (m.payload.size() > max_size) {
      code = Errc::too_big;
      problem = "a message of " + std::to_string(m.payload.size()) + " bytes exceeds " +
                quoted_queue(q.name()) + " max_message_size " + std::to_string(max_size);
    }
    proto::Scheduling sched;
    if (code == Errc::ok && s.version() >= proto::kVersionJobs) {
      problem = proto::find_scheduling(m.properties, sched);
      if (!problem.empty()) code = Errc::invalid_argument;
    }
    if (code != Errc::ok) return {};
    auto msg = std::make_unique<Message>();
    schedule(*msg, sched, now, steady);
    msg->type = m.type;
    msg->priority = m.priority;
    msg->sender_pid = s.peer().pid;
    msg->sender_uid = s.peer().uid;
    msg->enqueue_time_ns = now;
    msg->props_size = static_cast<uint32_t>(m.properties.size());
    msg->data.reserve(m.properties.size() + m.payload.size());
    msg->data.append(reinterpret_cast<const char*>(m.properties.data()), m.properties.size());
    msg->data.append(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
    batch.payload_bytes += m.payload.size();
    batch.messages.push_back(std::move(msg));
  }
  return batch;
}

}  // namespace

// SEND queue:str8 timeout_ms:u32 count:u32 {type priority props payload}...
void handle_send(Session& s, const proto::Frame& f) {
  const uint32_t rid = f.header.request_id;
  if (!well_framed(f.body)) return s.fail_protocol(rid, "malformed SEND");
  proto::SendReader reader;
  reader.open(f.body);
  const proto::SendHeader h = reader.header();
  Queue* q = find_queue_or_reply(s, rid, h.queue);
  if (!q) return;
  if (!may_write(q->attributes().owner, s.peer())) {
    return s.reply_error(rid, Errc::permission_denied,
                         "permission denied: uid " + std::to_string(s.peer().uid) +
                             " may not send to " + quoted_queue(h.queue));
  }
  Errc problem_code = Errc::ok;
  std::string problem;
  Batch batch = build_batch(s, f.body, *q, problem_code, problem);
  if (problem_code != Errc::ok) return s.reply_error(rid, problem_code, problem);

  uint64_t first_id = 0;
  const uint32_t count = static_cast<uint32_t>(batch.messages.size());
  const Errc code = q->send(batch, s.peer(), first_id);
  if (code == Errc::ok) return reply_sent(s, rid, first_id, count, batch.duplicates);
  if (code != Errc::queue_full || h.timeout_ms == 0 || s.context().stopping) {
    return reply_send_error(s, rid, *q, code, batch);
  }
  auto* p = new PendingSend(s, *q, rid, h.timeout_ms, std::move(batch));
  p->who = s.peer();
  s.park(*p);
  if (h.timeout_ms != proto::kWaitForever) {
    p->when = Clock::now() + std::chrono::milliseconds(h.timeout_ms);
    s.context().deadlines.add(*p);
  }
  q->wait_send(*p);
}

}  // namespace postbox::broker
