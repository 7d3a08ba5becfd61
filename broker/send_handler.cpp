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

void reply_sent(Session& s, uint32_t rid, uint64_t first_id, uint32_t count) {
  proto::encode(proto::SendReply{first_id, count}, s.output(), rid);
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
  PendingSend(Session& s, Queue& q, uint32_t rid, uint32_t timeout_ms)
      : session_(s), queue_(q), rid_(rid), timeout_ms_(timeout_ms) {}

  void finished(Errc result, uint64_t first_id, uint32_t count) override {
    if (result == Errc::ok)
      reply_sent(session_, rid_, first_id, count);
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
  void cancel(Errc code) override {
    queue_.cancel(static_cast<SendWaiter&>(*this));
    session_.reply_error(rid_, code, "the broker is shutting down; the send was not queued");
    done();
  }

 private:
  void done() {
    session_.reply_ready();
    delete this;  // unlinks from the session, the timer and the queue
  }
  Session& session_;
  Queue& queue_;
  uint32_t rid_;
  uint32_t timeout_ms_;
};

}  // namespace

// SEND queue:str8 timeout_ms:u32 count:u32 {type priority props payload}...
void handle_send(Session& s, const proto::Frame& f) {
  const uint32_t rid = f.header.request_id;
  proto::SendReader reader;
  if (!reader.open(f.body)) return s.fail_protocol(rid, "malformed SEND header");
  const auto& h = reader.header();
  Queue* q = find_queue_or_reply(s, rid, h.queue);
  if (!q) return;
  if (!may_write(q->attributes().owner, s.peer())) {
    return s.reply_error(rid, Errc::permission_denied,
                         "permission denied: uid " + std::to_string(s.peer().uid) +
                             " may not send to " + quoted_queue(h.queue));
  }
  const uint32_t max_size = q->attributes().limits.max_message_size;
  Batch batch;
  batch.messages.reserve(h.count);
  const uint64_t now = realtime_ns();
  proto::OutgoingMessage m;
  std::string problem;  // the first bad message, reported once the framing is known good
  Errc problem_code = Errc::ok;
  while (reader.next(m)) {
    if (!proto::properties_well_formed(m.properties)) {
      return s.fail_protocol(rid, "malformed properties section in SEND");
    }
    if (!problem.empty()) continue;  // keep checking the framing of the rest
    if (m.type < 1) {
      problem = "message type must be 1..9223372036854775807, got " + std::to_string(m.type);
      problem_code = Errc::invalid_argument;
      continue;
    }
    // Delivered messages carry a larger header than sent ones; one must still fit a reply frame.
    if (m.properties.size() + m.payload.size() + proto::kDeliveredMessageHeader + 4 >
        s.context().config.max_frame_size) {
      problem = "a message of " + std::to_string(m.payload.size()) + " bytes with " +
                std::to_string(m.properties.size()) +
                " bytes of properties would not fit a reply frame (max_frame_size " +
                std::to_string(s.context().config.max_frame_size) + ")";
      problem_code = Errc::too_big;
      continue;
    }
    if (m.payload.size() > max_size) {
      problem = "a message of " + std::to_string(m.payload.size()) + " bytes exceeds " +
                quoted_queue(h.queue) + " max_message_size " + std::to_string(max_size);
      problem_code = Errc::too_big;
      continue;
    }
    auto msg = std::make_unique<Message>();
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
  if (reader.failed()) return s.fail_protocol(rid, "malformed message in SEND");
  if (problem_code != Errc::ok) return s.reply_error(rid, problem_code, problem);
  if (batch.messages.empty())
    return s.reply_error(rid, Errc::invalid_argument, "SEND carries no messages");

  uint64_t first_id = 0;
  const uint32_t count = static_cast<uint32_t>(batch.messages.size());
  const Errc code = q->send(batch, s.peer(), first_id);
  if (code == Errc::ok) return reply_sent(s, rid, first_id, count);
  if (code != Errc::queue_full || h.timeout_ms == 0 || s.context().stopping) {
    return reply_send_error(s, rid, *q, code, batch);
  }
  auto* p = new PendingSend(s, *q, rid, h.timeout_ms);
  p->batch = std::move(batch);
  p->who = s.peer();
  s.park(*p);
  if (h.timeout_ms != proto::kWaitForever) {
    p->when = Clock::now() + std::chrono::milliseconds(h.timeout_ms);
    s.context().deadlines.add(*p);
  }
  q->wait_send(*p);
}

}  // namespace postbox::broker
