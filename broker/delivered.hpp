// The wire view of a message being delivered (RECEIVE_OK and DELIVER bodies).
#pragma once

#include "broker/message.hpp"
#include "proto/messages.hpp"

namespace postbox::broker {

/// `payload_size` below the message's means it was truncated. The tag is
/// the lease's (0 for auto-ack and peeks); delivery_count includes this one.
inline proto::DeliveredMessage delivered_of(const Message& m, uint32_t payload_size) noexcept {
  proto::DeliveredMessage d;
  d.id = m.id;
  d.type = m.type;
  d.priority = m.priority;
  d.flags = payload_size < m.payload_size() ? proto::kDeliveredTruncated : 0;
  d.sender_pid = m.sender_pid;
  d.sender_uid = m.sender_uid;
  d.enqueue_time_ns = m.enqueue_time_ns;
  d.delivery_tag = m.state == MessageState::leased ? m.lease_tag : 0;
  d.delivery_count = m.delivery_count;
  d.properties = m.properties();
  d.payload = m.payload().first(payload_size);
  return d;
}

}  // namespace postbox::broker
