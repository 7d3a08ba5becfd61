// Request and reply bodies, one struct each, with encode/decode (proto/PROTOCOL.md).
//
// Binary bodies for the data path (HELLO, SEND, RECEIVE, ERROR); JSON bodies
// for administration (DECLARE, DELETE, PURGE, STAT, LIST), whose keys are
// documented in PROTOCOL.md. Decoders return false/nullopt on any malformed
// input and never read past the body. Views (string_view, span) point into the
// decoded body and live as long as it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "errc.hpp"
#include "frame.hpp"

namespace postbox::proto {

/// Appends a complete frame (header + body) to `out`; returns the offset of
/// the body so callers can encode the body in place and then call
/// finish_frame() to patch the size.
std::size_t begin_frame(std::vector<std::byte>& out, Kind kind, uint32_t request_id);
void finish_frame(std::vector<std::byte>& out, std::size_t body_offset);

// --- HELLO ---------------------------------------------------------------
// body: magic:u32 version:u16 client_name:str8
struct Hello {
  uint16_t version = kVersion;
  std::string_view client_name;
};
void encode(const Hello& m, std::vector<std::byte>& out, uint32_t request_id);
std::optional<Hello> decode_hello(std::span<const std::byte> body) noexcept;

// body: version:u16 max_frame_body:u32 max_message_size:u32 broker_version:str8
struct HelloReply {
  uint16_t version = kVersion;
  uint32_t max_frame_body = kDefaultMaxFrameBody;
  uint32_t max_message_size = 0;  // the broker-wide ceiling for any queue
  std::string_view broker_version;
};
void encode(const HelloReply& m, std::vector<std::byte>& out, uint32_t request_id);
std::optional<HelloReply> decode_hello_reply(std::span<const std::byte> body) noexcept;

// --- ERROR ---------------------------------------------------------------
// body: code:u16 message:str16
struct ErrorReply {
  Errc code = Errc::internal_error;
  std::string_view message;
};
void encode(const ErrorReply& m, std::vector<std::byte>& out, uint32_t request_id);
std::optional<ErrorReply> decode_error(std::span<const std::byte> body) noexcept;

// --- SEND ----------------------------------------------------------------
// body: queue:str8 timeout_ms:u32 count:u32 then count x OutgoingMessage
// OutgoingMessage: type:i64 priority:u8 flags:u8 reserved:u16 props_len:u32
//                  payload_len:u32 props payload
// A SEND is all or nothing: every message is queued, or none is.
struct OutgoingMessage {
  int64_t type = 1;
  uint8_t priority = 0;
  std::span<const std::byte> properties;  // TLV, see properties.hpp
  std::span<const std::byte> payload;
};
inline constexpr std::size_t kOutgoingMessageHeader = 8 + 1 + 1 + 2 + 4 + 4;

struct SendHeader {
  std::string_view queue;
  uint32_t timeout_ms = 0;  // 0: fail at once when full; kWaitForever: no limit
  uint32_t count = 0;
};
/// Encodes the SEND header; append each message with append_outgoing() and
/// finish with finish_frame(). The header's count must equal what is appended.
/// With kind publish it begins a PUBLISH (h.queue is the topic, h.timeout_ms 0).
std::size_t begin_send(const SendHeader& h, std::vector<std::byte>& out, uint32_t request_id,
                       Kind kind = Kind::send);
void append_outgoing(const OutgoingMessage& m, std::vector<std::byte>& out);

/// Iterates the messages of a SEND body without copying them.
class SendReader {
 public:
  /// Decodes the header; false when malformed.
  bool open(std::span<const std::byte> body) noexcept;
  const SendHeader& header() const noexcept { return header_; }
  /// Next message; false at the end or when malformed (check failed()).
  bool next(OutgoingMessage& m) noexcept;
  /// True when the body was malformed (bad lengths, trailing bytes, count mismatch).
  bool failed() const noexcept { return failed_; }

 private:
  SendHeader header_;
  std::span<const std::byte> rest_;
  uint32_t left_ = 0;
  bool failed_ = false;
};

// body: first_id:u64 count:u32 (ids are first_id .. first_id+count-1)
// version 2 adds: duplicates:u32 then duplicates x (index:u32 existing_id:u64)
struct SendDuplicate {
  uint32_t index = 0;        // position of the message in the SEND (0-based)
  uint64_t existing_id = 0;  // the queued message with the same dedup key
};
struct SendReply {
  uint64_t first_id = 0;
  uint32_t count = 0;
  std::vector<SendDuplicate> duplicates;  // version 2; messages not added (dedup key known)
};
void encode(const SendReply& m, std::vector<std::byte>& out, uint32_t request_id,
            uint16_t version = kVersion);
std::optional<SendReply> decode_send_reply(std::span<const std::byte> body,
                                           uint16_t version = kVersion);

// --- RECEIVE -------------------------------------------------------------
// body: queue:str8 type:i64 flags:u16 timeout_ms:u32 max_size:u32 max_count:u32
//       [lease_ms:u32, present exactly when flags has kReceiveAck]
enum ReceiveFlags : uint16_t {
  kReceiveExcept = 1 << 0,    // MSG_EXCEPT: first message whose type is not `type`
  kReceiveTruncate = 1 << 1,  // MSG_NOERROR: cut payloads to max_size instead of failing
  kReceivePeek = 1 << 2,      // return without removing
  kReceiveKnownFlagsV1 = kReceiveExcept | kReceiveTruncate | kReceivePeek,
  // Version 2:
  kReceiveAck = 1 << 3,       // lease the messages instead of removing them
  kReceiveDetached = 1 << 4,  // with ack: the lease outlives the connection (ends on expiry)
  kReceiveKnownFlags = kReceiveKnownFlagsV1 | kReceiveAck | kReceiveDetached,
};
struct ReceiveRequest {
  std::string_view queue;
  int64_t type = 0;  // msgrcv msgtyp: 0 any, >0 exactly, <0 lowest type <= |type|
  uint16_t flags = 0;
  uint32_t timeout_ms = 0;           // 0: at once; kWaitForever: no limit
  uint32_t max_size = kNoSizeLimit;  // largest payload accepted
  uint32_t max_count = 1;            // up to this many messages in one reply (>= 1)
  uint32_t lease_ms = 0;             // with kReceiveAck: lease length, 0 = the queue's default
};
void encode(const ReceiveRequest& m, std::vector<std::byte>& out, uint32_t request_id);
std::optional<ReceiveRequest> decode_receive(std::span<const std::byte> body) noexcept;

// body: count:u32 then count x DeliveredMessage
// DeliveredMessage: id:u64 type:i64 priority:u8 flags:u8 reserved:u16
//   sender_pid:u32 sender_uid:u32 enqueue_time_ns:u64 delivery_tag:u64
//   delivery_count:u32 props_len:u32 payload_len:u32 props payload
enum DeliveredFlags : uint8_t {
  kDeliveredTruncated = 1 << 0,
};
struct DeliveredMessage {
  uint64_t id = 0;
  int64_t type = 1;
  uint8_t priority = 0;
  uint8_t flags = 0;
  uint32_t sender_pid = 0;
  uint32_t sender_uid = 0;
  uint64_t enqueue_time_ns = 0;  // CLOCK_REALTIME, ns since the epoch
  uint64_t delivery_tag = 0;     // 0: auto-acknowledged (no lease)
  uint32_t delivery_count = 1;
  std::span<const std::byte> properties;
  std::span<const std::byte> payload;
};
inline constexpr std::size_t kDeliveredMessageHeader =
    8 + 8 + 1 + 1 + 2 + 4 + 4 + 8 + 8 + 4 + 4 + 4;

/// Encodes the RECEIVE reply header with a count patched later: call
/// append_delivered() per message, then finish_receive_reply().
/// DELIVER frames (pushes to a consumer) share the body; pass Kind::deliver.
std::size_t begin_receive_reply(std::vector<std::byte>& out, uint32_t request_id,
                                Kind kind = reply_kind(Kind::receive));
void append_delivered(const DeliveredMessage& m, std::vector<std::byte>& out);
void finish_receive_reply(std::vector<std::byte>& out, std::size_t body_offset, uint32_t count);

class ReceiveReplyReader {
 public:
  bool open(std::span<const std::byte> body) noexcept;
  uint32_t count() const noexcept { return count_; }
  bool next(DeliveredMessage& m) noexcept;
  bool failed() const noexcept { return failed_; }

 private:
  std::span<const std::byte> rest_;
  uint32_t count_ = 0;
  uint32_t left_ = 0;
  bool failed_ = false;
};

// --- Admin (JSON bodies) --------------------------------------------------
// DECLARE, DELETE, PURGE, STAT, LIST and their replies carry one UTF-8 JSON
// object as the whole body; keys are in PROTOCOL.md.
void encode_json(Kind kind, std::string_view json, std::vector<std::byte>& out,
                 uint32_t request_id);

}  // namespace postbox::proto
