// Version 2 bodies for job dispatch: settling leases (ACK, NACK, TOUCH, REJECT)
// and push consumers (CONSUME, CANCEL; DELIVER reuses the RECEIVE_OK body).
// See proto/PROTOCOL.md section 11. Decoders refuse malformed input and never
// read past the body; views point into it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "frame.hpp"

namespace postbox::proto {

/// NACK's priority value meaning "keep the message's priority".
inline constexpr uint16_t kKeepPriority = 0xFFFF;

// --- ACK, NACK, TOUCH, REJECT ----------------------------------------------
// body: ms:u32 priority:u16 count:u32 then count x tag:u64
//   ACK, REJECT: ms 0, priority 0xFFFF.
//   NACK: ms = delay before the message is ready again; priority = its new
//         priority 0..255, or 0xFFFF to keep it.
//   TOUCH: ms = the lease's new length from now, 0 = its original length;
//          priority 0xFFFF.
struct SettleRequest {
  uint32_t ms = 0;
  uint16_t priority = kKeepPriority;
  std::span<const std::byte> tags;  // count x u64, little-endian; use tag_at()
  uint32_t count() const noexcept { return static_cast<uint32_t>(tags.size() / 8); }
  uint64_t tag_at(uint32_t i) const noexcept;
};
/// `kind` is one of ack, nack, touch, reject.
void encode_settle(Kind kind, uint32_t ms, uint16_t priority, std::span<const uint64_t> tags,
                   std::vector<std::byte>& out, uint32_t request_id);
/// nullopt when malformed: count 0, count not matching the tags present, a
/// priority over 255 other than 0xFFFF, or ms/priority set where the kind
/// takes none.
std::optional<SettleRequest> decode_settle(Kind kind, std::span<const std::byte> body) noexcept;

// body: settled:u32 missing:u32 then missing x tag:u64 — the tags that named
// no lease this connection may settle (unknown, expired, already settled).
struct SettleReply {
  uint32_t settled = 0;
  std::vector<uint64_t> missing;
};
void encode(Kind request_kind, const SettleReply& m, std::vector<std::byte>& out,
            uint32_t request_id);
std::optional<SettleReply> decode_settle_reply(std::span<const std::byte> body) noexcept;

// --- CONSUME, CANCEL -------------------------------------------------------
// CONSUME body: queue:str8 type:i64 flags:u16 prefetch:u32 lease_ms:u32 max_size:u32
//   flags: kReceiveExcept, kReceiveTruncate, kReceiveAck (others: malformed).
//   prefetch: with ack, the most unsettled messages pushed at once (>= 1);
//             without ack, 0 (flow control is the connection's output limit).
// CONSUME_OK body: empty. Then DELIVER frames (kind 0x8018) with the CONSUME's
// request id and a RECEIVE_OK body, until CANCEL_OK or an ERROR with that id.
struct ConsumeRequest {
  std::string_view queue;
  int64_t type = 0;
  uint16_t flags = 0;
  uint32_t prefetch = 0;
  uint32_t lease_ms = 0;  // 0: the queue's default
  uint32_t max_size = 0xFFFFFFFFu;
};
void encode(const ConsumeRequest& m, std::vector<std::byte>& out, uint32_t request_id);
std::optional<ConsumeRequest> decode_consume(std::span<const std::byte> body) noexcept;

// CANCEL body: consumer:u32 (the CONSUME's request id). CANCEL_OK body: empty;
// no DELIVER for that consumer follows it. Its unsettled leases stay leased.
struct CancelRequest {
  uint32_t consumer = 0;
};
void encode(const CancelRequest& m, std::vector<std::byte>& out, uint32_t request_id);
std::optional<CancelRequest> decode_cancel(std::span<const std::byte> body) noexcept;

/// An empty-bodied reply (CONSUME_OK, CANCEL_OK).
void encode_empty_reply(Kind request_kind, std::vector<std::byte>& out, uint32_t request_id);

}  // namespace postbox::proto
