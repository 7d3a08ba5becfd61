// A queued message: the broker's value type, stored once and linked into the queue's indexes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <boost/intrusive/list_hook.hpp>
#include <boost/intrusive/set_hook.hpp>

namespace postbox::broker {

namespace bi = boost::intrusive;
using AutoUnlink = bi::link_mode<bi::auto_unlink>;

struct Message {
  uint64_t id = 0;  // broker-wide, increasing: also the arrival order within a queue
  int64_t type = 1;
  uint8_t priority = 0;
  uint32_t sender_pid = 0;
  uint32_t sender_uid = 0;
  uint64_t enqueue_time_ns = 0;  // CLOCK_REALTIME
  uint32_t delivery_count = 0;
  uint32_t props_size = 0;
  std::string data;  // properties TLV followed by the payload: one allocation

  // Index membership, owned by Queue (see queue.hpp for what each orders).
  bi::set_member_hook<> order_hook;     // the queue's global (priority desc, id asc) order
  bi::set_member_hook<> type_hook;      // the per-type index, same order
  bi::list_member_hook<> arrival_hook;  // arrival order, for drop-oldest

  std::span<const std::byte> properties() const noexcept {
    return {reinterpret_cast<const std::byte*>(data.data()), props_size};
  }
  std::span<const std::byte> payload() const noexcept {
    return {reinterpret_cast<const std::byte*>(data.data()) + props_size, data.size() - props_size};
  }
  std::size_t payload_size() const noexcept { return data.size() - props_size; }
};

using MessagePtr = std::unique_ptr<Message>;

}  // namespace postbox::broker
