// RECEIVE: select by msgrcv rules, deliver up to max_count, or park until a match arrives.
#include <chrono>

#include "broker/delivered.hpp"
#include "broker/handlers.hpp"
#include "proto/messages.hpp"

namespace postbox::broker {

using proto::Errc;

namespace {

std::string describe(const Selector& sel) {
  if (sel.is_any()) return "no message";
  if (sel.is_exact()) return "no message of type " + std::to_string(sel.type);
  if (sel.is_except()) return "no message of a type other than " + std::to_string(sel.type);
  return "no message of type <= " + std::to_string(sel.bound());
}

/// Encodes one RECEIVE reply, starting it at the first delivered message so
/// that a receive that ends in an error leaves nothing behind in the buffer.
class ReplyEncoder {
 public:
  ReplyEncoder(Session& s, uint32_t rid) : session_(s), rid_(rid) {}
  void add(const Message& m, uint32_t payload_size) {
    auto& out = session_.output();
    if (count_ == 0) body_ = proto::begin_receive_reply(out, rid_);
    proto::append_delivered(delivered_of(m, payload_size), out);
    ++count_;
  }
  void finish() { proto::finish_receive_reply(session_.output(), body_, count_); }
  uint32_t count() const noexcept { return count_; }

 private:
  Session& session_;
  uint32_t rid_;
  std::size_t body_ = 0;
  uint32_t count_ = 0;
};

class ImmediateDelivery final : public Delivery {
 public:
  ImmediateDelivery(Session& s, uint32_t rid) : reply(s, rid) {}
  void deliver(const Message& m, uint32_t payload_size) override { reply.add(m, payload_size); }
  // The frame must be complete before the queue admits a parked send of this
  // same session, whose SEND_OK goes to the same buffer.
  void batch_done() override { reply.finish(); }
  ReplyEncoder reply;
};

void reply_receive_error(Session& s, uint32_t rid, const Queue& q, Errc code,
                         const ReceiveSpec& spec, uint32_t waited_ms) {
  switch (code) {
    case Errc::no_message: {
      std::string text = describe(spec.selector) + " in " + quoted_queue(q.name());
      if (waited_ms > 0) text += " within " + std::to_string(waited_ms) + " ms";
      return s.reply_error(rid, code, text);
    }
    case Errc::too_big:
      return s.reply_error(rid, code,
                           "the selected message in " + quoted_queue(q.name()) +
                               " is larger than max size " + std::to_string(spec.max_size) +
                               " (it stays queued; receive with truncate to cut it)");
    case Errc::queue_removed:
      return s.reply_error(rid, code, quoted_queue(q.name()) + " was deleted");
    default:
      return s.reply_error(rid, code, std::string(proto::to_string(code)));
  }
}

/// A RECEIVE waiting for a match; ends by delivery, timeout, queue deletion
/// or its session's end, whichever comes first.
class PendingReceive final : public ReceiveWaiter, public Deadline, public Pending {
 public:
  PendingReceive(Session& s, Queue& q, uint32_t rid, uint32_t timeout_ms)
      : session_(s), queue_(q), rid_(rid), timeout_ms_(timeout_ms), reply_(s, rid) {}

  void deliver(const Message& m, uint32_t payload_size) override { reply_.add(m, payload_size); }
  void finished(Errc result) override {
    if (result == Errc::ok && reply_.count() > 0) {
      if (!spec.peek) session_.hold_for(queue_);  // what it took is logged now
      reply_.finish();
    } else
      reply_receive_error(session_, rid_, queue_, result, spec, 0);
    done();
  }
  void expired() override {
    queue_.cancel(static_cast<ReceiveWaiter&>(*this));
    reply_receive_error(session_, rid_, queue_, Errc::no_message, spec, timeout_ms_);
    done();
  }
  bool may_deliver() const override {
    // As for consumers: a durable queue's deliveries wait for the log to write again.
    if (!spec.peek && queue_.durable() && session_.context().journal.failing()) return false;
    return !session_.output_over_limit();
  }
  Queue& queue() noexcept override { return queue_; }
  void detach() noexcept override { static_cast<ReceiveWaiter&>(*this).unlink(); }
  void answer(Errc code) override {
    session_.reply_error(rid_, code,
                         "the receive was cancelled (the broker is stopping or the connection is "
                         "closing); nothing was taken");
    session_.reply_ready();
    delete this;
  }

 private:
  void done() {
    session_.unpark(*this);
    session_.reply_ready();
    delete this;
  }
  Session& session_;
  Queue& queue_;
  uint32_t rid_;
  uint32_t timeout_ms_;
  ReplyEncoder reply_;
};

}  // namespace

// RECEIVE queue:str8 type:i64 flags:u16 timeout_ms:u32 max_size:u32 max_count:u32
void handle_receive(Session& s, const proto::Frame& f) {
  const uint32_t rid = f.header.request_id;
  auto req = proto::decode_receive(f.body);
  if (!req) return s.fail_protocol(rid, "malformed RECEIVE");
  if (s.version() < proto::kVersionJobs && (req->flags & ~proto::kReceiveKnownFlagsV1)) {
    return s.fail_protocol(rid, "malformed RECEIVE (unknown flags in protocol version 1)");
  }
  Queue* q = find_queue_or_reply(s, rid, req->queue);
  if (!q) return;
  if (!may_take_or_reply(s, rid, *q, "receive from")) return;
  ReceiveSpec spec;
  spec.selector = Selector{req->type, (req->flags & proto::kReceiveExcept) != 0};
  spec.max_size = req->max_size;
  spec.truncate = (req->flags & proto::kReceiveTruncate) != 0;
  spec.peek = (req->flags & proto::kReceivePeek) != 0;
  spec.max_count = req->max_count;
  // One reply must fit the frame limit the client was promised in HELLO_OK.
  spec.max_batch_bytes = s.context().config.max_frame_size - 4;
  spec.per_message_bytes = static_cast<uint32_t>(proto::kDeliveredMessageHeader);
  if (req->flags & proto::kReceiveAck) {
    if (req->flags & proto::kReceiveDetached) {
      spec.lease_to = &s.context().detached;
    } else {
      spec.lease_to = &s.leases();
    }
    spec.lease_ms = req->lease_ms;
  }

  if (!spec.peek && !log_writable_or_reply(s, rid, *q)) return;
  ImmediateDelivery out(s, rid);
  const Errc code = q->receive(spec, s.peer(), out);
  if (code == Errc::ok) {
    if (!spec.peek) s.hold_for(*q);  // what it took is logged now
    return;                          // batch_done() finished the reply
  }
  if (code != Errc::no_message || req->timeout_ms == 0 || s.context().stopping) {
    return reply_receive_error(s, rid, *q, code, spec, 0);
  }
  auto* p = new PendingReceive(s, *q, rid, req->timeout_ms);
  p->spec = spec;
  p->who = s.peer();
  s.park(*p);
  if (req->timeout_ms != proto::kWaitForever) {
    p->when = Clock::now() + std::chrono::milliseconds(req->timeout_ms);
    s.context().deadlines.add(*p);
  }
  q->wait_receive(*p);
}

}  // namespace postbox::broker
