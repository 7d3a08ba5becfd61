// SEND: validate a batch, queue it whole, or park it until the queue has room.
#include <chrono>

#include "broker/batch_builder.hpp"
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
    if (result == Errc::ok) {
      session_.hold_for(queue_);
      reply_sent(session_, rid_, first_id, count, batch.duplicates);
    } else
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
  if (!log_takes_sends_or_reply(s, rid, *q)) return;
  Errc problem_code = Errc::ok;
  std::string problem;
  Batch batch = build_batch(s, f.body, q, problem_code, problem);
  if (problem_code != Errc::ok) return s.reply_error(rid, problem_code, problem);

  uint64_t first_id = 0;
  const uint32_t count = static_cast<uint32_t>(batch.messages.size());
  const Errc code = q->send(batch, s.peer(), first_id);
  if (code == Errc::ok) {
    s.hold_for(*q);
    return reply_sent(s, rid, first_id, count, batch.duplicates);
  }
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
