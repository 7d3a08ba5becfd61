// A queued message: the broker's value type, stored once and linked into the queue's indexes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/intrusive/set_hook.hpp>

namespace postbox::broker {

namespace bi = boost::intrusive;
using AutoUnlink = bi::link_mode<bi::auto_unlink>;
/// Red-black hooks with the colour packed into a pointer: a million delayed
/// messages cost memory, so every hook is three words.
using SetHook = bi::set_member_hook<bi::optimize_size<true>>;

class LeaseHolder;
class Queue;

/// Where a message is: exactly one of these at a time, each with its own index.
enum class MessageState : uint8_t { ready, delayed, leased };

struct Message {
  uint64_t id = 0;  // broker-wide, increasing: also the arrival order within a queue
  int64_t type = 1;
  uint8_t priority = 0;
  MessageState state = MessageState::ready;
  uint32_t sender_pid = 0;
  uint32_t sender_uid = 0;
  uint32_t log_segment = 0;      // durable queues: the journal segment of its latest ADD; 0 = none
  uint64_t enqueue_time_ns = 0;  // CLOCK_REALTIME
  uint32_t delivery_count = 0;
  uint32_t props_size = 0;
  // Scheduling, in CLOCK_MONOTONIC ns (steady_ns()); 0 = none.
  uint64_t due_ns = 0;      // delayed until then
  uint64_t expires_ns = 0;  // TTL: never delivered from then on
  // Dedup key: a range of the properties section (key_size 0 = none).
  uint32_t key_offset = 0;
  uint32_t key_size = 0;
  // Lease, while state == leased.
  uint64_t lease_tag = 0;
  uint64_t lease_deadline_ns = 0;
  uint32_t lease_ms = 0;  // its length, for TOUCH without one
  LeaseHolder* holder = nullptr;
  Queue* leased_from = nullptr;
  std::string data;  // properties TLV followed by the payload: one allocation

  // Index membership, owned by Queue (see queue.hpp for what each orders).
  SetHook order_hook;    // ready: queue order; delayed: due order; leased: lease deadline order
  SetHook type_hook;     // ready: the per-type index; leased: its holder's tag index
  SetHook arrival_hook;  // ready: arrival (id) order, for drop-oldest
  SetHook expiry_hook;   // ready or delayed with a TTL: expiry order

  std::span<const std::byte> properties() const noexcept {
    return {reinterpret_cast<const std::byte*>(data.data()), props_size};
  }
  std::span<const std::byte> payload() const noexcept {
    return {reinterpret_cast<const std::byte*>(data.data()) + props_size, data.size() - props_size};
  }
  std::size_t payload_size() const noexcept { return data.size() - props_size; }
  std::string_view dedup_key() const noexcept { return {data.data() + key_offset, key_size}; }
};

using MessagePtr = std::unique_ptr<Message>;

}  // namespace postbox::broker
