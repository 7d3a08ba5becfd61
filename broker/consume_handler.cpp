// CONSUME and CANCEL: start and stop push consumers.
#include "broker/consumer.hpp"
#include "broker/handlers.hpp"
#include "proto/jobs.hpp"
#include "proto/messages.hpp"

namespace postbox::broker {

using proto::Errc;

// CONSUME queue:str8 type:i64 flags:u16 prefetch:u32 lease_ms:u32 max_size:u32
void handle_consume(Session& s, const proto::Frame& f) {
  const uint32_t rid = f.header.request_id;
  auto req = proto::decode_consume(f.body);
  if (!req) return s.fail_protocol(rid, "malformed CONSUME");
  Queue* q = find_queue_or_reply(s, rid, req->queue);
  if (!q) return;
  if (!may_take_or_reply(s, rid, *q, "consume from")) return;
  if (s.find_consumer(rid)) {
    return s.reply_error(
        rid, Errc::invalid_argument,
        "request id " + std::to_string(rid) + " already names a consumer on this connection");
  }
  if (s.context().stopping) {
    return s.reply_error(rid, Errc::shutting_down, "the broker is stopping");
  }
  const bool ack = (req->flags & proto::kReceiveAck) != 0;
  auto* c = new Consumer(s, *q, rid, ack, req->prefetch);
  c->spec.selector = Selector{req->type, (req->flags & proto::kReceiveExcept) != 0};
  c->spec.max_size = req->max_size;
  c->spec.truncate = (req->flags & proto::kReceiveTruncate) != 0;
  c->spec.max_count = 1;  // one message per turn: consumers of a queue alternate
  // When it is alone and takes more at once, one frame's worth at most.
  c->spec.max_batch_bytes = s.context().config.max_frame_size - 4;
  c->spec.per_message_bytes = static_cast<uint32_t>(proto::kDeliveredMessageHeader);
  c->spec.lease_to = ack ? c : nullptr;
  c->spec.lease_ms = req->lease_ms;
  c->who = s.peer();
  s.park(*c);
  // CONSUME_OK goes before any DELIVER of this consumer.
  proto::encode_empty_reply(proto::Kind::consume, s.output(), rid);
  q->wait_receive(*c);
  q->resume();  // serves it at once from what is queued
}

// CANCEL consumer:u32
void handle_cancel(Session& s, const proto::Frame& f) {
  const uint32_t rid = f.header.request_id;
  auto req = proto::decode_cancel(f.body);
  if (!req) return s.fail_protocol(rid, "malformed CANCEL");
  Consumer* c = s.find_consumer(req->consumer);
  if (!c) {
    return s.reply_error(
        rid, Errc::invalid_argument,
        "no consumer started by request " + std::to_string(req->consumer) + " on this connection");
  }
  c->cancel();
  proto::encode_empty_reply(proto::Kind::cancel, s.output(), rid);
}

}  // namespace postbox::broker
