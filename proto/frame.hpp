// Frame header layout, request kinds and protocol limits (proto/PROTOCOL.md, "Framing").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace postbox::proto {

/// Protocol version spoken by this build; HELLO negotiates down to the peer's.
inline constexpr uint16_t kVersion = 2;
/// The first version with leases, delays, push consumers (PROTOCOL.md section 11).
inline constexpr uint16_t kVersionJobs = 2;
/// "PBOX" at the start of every HELLO body, so a stray client fails fast.
inline constexpr uint32_t kMagic = 0x584f4250;  // bytes 'P' 'B' 'O' 'X' little-endian
inline constexpr std::size_t kHeaderSize = 12;
/// Default and hard ceiling for a frame body; the broker announces its own
/// limit in HELLO_OK and may configure it lower.
inline constexpr uint32_t kDefaultMaxFrameBody = 16u << 20;
inline constexpr uint32_t kMaxFrameBodyCeiling = 256u << 20;
/// Timeout value meaning "wait forever".
inline constexpr uint32_t kWaitForever = 0xFFFFFFFFu;
/// max_size value meaning "no limit".
inline constexpr uint32_t kNoSizeLimit = 0xFFFFFFFFu;

/// Request kinds. A reply carries the request's kind with kReplyBit set and the
/// same request id, except ERROR which answers any request.
enum class Kind : uint16_t {
  hello = 0x0001,
  declare = 0x0002,
  remove = 0x0003,  // DELETE queue
  purge = 0x0004,
  stat = 0x0005,
  list = 0x0006,
  move = 0x0007,      // version 2
  bind = 0x0008,      // version 2: topics
  unbind = 0x0009,    // version 2
  bindings = 0x000A,  // version 2
  status = 0x000B,    // version 2: the broker process and its durable log
  send = 0x0010,
  receive = 0x0011,
  ack = 0x0012,      // version 2: settle leases
  nack = 0x0013,     // version 2
  touch = 0x0014,    // version 2
  reject = 0x0015,   // version 2
  consume = 0x0016,  // version 2: start a push consumer
  cancel = 0x0017,   // version 2: stop one
  publish = 0x0019,  // version 2: copy messages into every queue bound to a topic
  deliver = 0x8018,  // version 2, broker -> client: messages pushed to a consumer
  error = 0xFFFF,
};
inline constexpr uint16_t kReplyBit = 0x8000;

constexpr Kind reply_kind(Kind k) noexcept {
  return static_cast<Kind>(static_cast<uint16_t>(k) | kReplyBit);
}
constexpr bool is_reply(Kind k) noexcept {
  return (static_cast<uint16_t>(k) & kReplyBit) != 0;
}

/// 12 bytes, little-endian: body_size:u32 kind:u16 flags:u16 request_id:u32.
/// flags is reserved (must be 0 in version 1, ignored on receipt).
struct FrameHeader {
  uint32_t body_size = 0;
  Kind kind = Kind::error;
  uint16_t flags = 0;
  uint32_t request_id = 0;
};

void encode_header(const FrameHeader& h, std::byte* out) noexcept;
FrameHeader decode_header(const std::byte* in) noexcept;

}  // namespace postbox::proto
