// Consumer: credit, turn-taking and DELIVER frames that grow while nothing else is written.
#include "broker/consumer.hpp"

#include <cstring>

#include "broker/delivered.hpp"
#include "broker/handlers.hpp"
#include "proto/jobs.hpp"
#include "proto/messages.hpp"

namespace postbox::broker {

using proto::Errc;

Consumer::Consumer(Session& s, Queue& q, uint32_t request_id, bool ack, uint32_t prefetch)
    : session_(s), queue_(q), rid_(request_id), ack_(ack), prefetch_(prefetch) {
  s.context().consumers.emplace(&q, this);
}

Consumer::~Consumer() {
  auto [first, last] = session_.context().consumers.equal_range(&queue_);
  for (auto it = first; it != last; ++it) {
    if (it->second == this) {
      session_.context().consumers.erase(it);
      break;
    }
  }
}

bool Consumer::may_deliver() const {
  if (session_.output_over_limit()) return false;
  // While the log fails, a durable queue's deliveries could not be logged;
  // the journal resumes such queues once it writes again.
  if (queue_.durable() && session_.context().journal.failing()) return false;
  return !ack_ || count() < prefetch_;
}

uint32_t Consumer::max_count_alone() const {
  // Without ack the output limit bounds it; a batch stays within one frame (spec).
  constexpr uint32_t kAutoAckBatch = 256;
  return ack_ ? prefetch_ - static_cast<uint32_t>(count()) : kAutoAckBatch;
}

void Consumer::deliver(const Message& m, uint32_t payload_size) {
  auto& out = session_.output();
  const proto::DeliveredMessage d = delivered_of(m, payload_size);
  const std::size_t add = proto::kDeliveredMessageHeader + d.properties.size() + d.payload.size();
  const std::size_t limit = session_.context().config.max_frame_size;
  const bool extend = frame_epoch_ == session_.output_epoch() && frame_end_ == out.size() &&
                      (out.size() - frame_body_) + add <= limit;
  if (!extend) {
    frame_body_ = proto::begin_receive_reply(out, rid_, proto::Kind::deliver);
    frame_count_ = 0;
    frame_epoch_ = session_.output_epoch();
  }
  proto::append_delivered(d, out);
  // Always a complete frame: count and size are patched after every message.
  proto::finish_receive_reply(out, frame_body_, ++frame_count_);
  frame_end_ = out.size();
}

void Consumer::finished(Errc result) {
  if (result == Errc::ok) {
    session_.hold_for(queue_);  // after take(): the removals or leases are logged
    session_.reply_ready();
    queue_.wait_receive(*this);  // behind the consumers not yet served
    return;
  }
  // queue_removed, or too_big: the best match is larger than max_size and
  // would block this consumer for good, so it ends and says why.
  if (result == Errc::too_big) {
    session_.reply_error(rid_, result,
                         "the next message in " + quoted_queue(queue_.name()) +
                             " is larger than the consumer's max size; the consumer ended");
  } else {
    session_.reply_error(rid_, result, quoted_queue(queue_.name()) + " was deleted");
  }
  session_.reply_ready();
  retire();
}

void Consumer::answer(Errc code) {
  session_.reply_error(rid_, code,
                       "the consumer was cancelled (the broker is stopping or the connection is "
                       "closing)");
  session_.reply_ready();
  retire();
}

void Consumer::cancel() {
  retire();
}

void Consumer::retire() {
  detach();
  session_.unpark(*this);
  session_.adopt_leases(*this);
  delete this;
}

}  // namespace postbox::broker
