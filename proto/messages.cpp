// Request and reply bodies: encoders append whole frames, decoders validate every byte.
#include "proto/messages.hpp"

#include <cassert>
#include <cstring>
#include <limits>

#include "proto/properties.hpp"
#include "proto/wire.hpp"

namespace postbox::proto {

namespace {

constexpr std::size_t kMaxQueueName = 255;  // str8; PROTOCOL.md "Conventions"

/// Cuts informational text (client name, broker version, error message) to
/// what its length prefix can carry, at a UTF-8 character boundary. Only
/// human-readable fields are cut; names that select something never are.
std::string_view clamp_text(std::string_view s, std::size_t max) noexcept {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

/// Queue names are validated by the caller (1-255 bytes). Should a longer one
/// slip through a release build, an empty name goes out instead, which the
/// broker refuses with invalid_argument, rather than a cut name that could
/// address a different queue or a length prefix that disagrees with the bytes.
void put_queue(Writer& w, std::string_view queue) {
  assert(queue.size() <= kMaxQueueName && "queue name longer than 255 bytes");
  w.str8(queue.size() <= kMaxQueueName ? queue : std::string_view{});
}

/// Reads a message counter and checks the rest of the body could hold that
/// many fixed headers, so a forged count is refused before any iteration.
bool plausible_count(uint32_t count, std::size_t remaining, std::size_t per_item) noexcept {
  return static_cast<uint64_t>(count) * per_item <= remaining;
}

}  // namespace

// --- Framing ---------------------------------------------------------------

std::size_t begin_frame(std::vector<std::byte>& out, Kind kind, uint32_t request_id) {
  auto at = out.size();
  out.resize(at + kHeaderSize);
  encode_header(FrameHeader{0, kind, 0, request_id}, out.data() + at);
  return out.size();
}

void finish_frame(std::vector<std::byte>& out, std::size_t body_offset) {
  assert(body_offset >= kHeaderSize && body_offset <= out.size() && "not a begin_frame() offset");
  auto size = out.size() - body_offset;
  assert(size <= std::numeric_limits<uint32_t>::max() && "frame body larger than 4 GiB");
  auto body_size = static_cast<uint32_t>(size);
  std::memcpy(out.data() + body_offset - kHeaderSize, &body_size, sizeof body_size);
}

// --- HELLO -----------------------------------------------------------------

void encode(const Hello& m, std::vector<std::byte>& out, uint32_t request_id) {
  auto body = begin_frame(out, Kind::hello, request_id);
  Writer w(out);
  w.u32(kMagic);
  w.u16(m.version);
  w.str8(clamp_text(m.client_name, 0xFF));
  finish_frame(out, body);
}

std::optional<Hello> decode_hello(std::span<const std::byte> body) noexcept {
  Reader r(body);
  auto magic = r.u32();
  Hello m;
  m.version = r.u16();
  m.client_name = r.str8();
  if (!r.done() || magic != kMagic) return std::nullopt;
  return m;
}

void encode(const HelloReply& m, std::vector<std::byte>& out, uint32_t request_id) {
  auto body = begin_frame(out, reply_kind(Kind::hello), request_id);
  Writer w(out);
  w.u16(m.version);
  w.u32(m.max_frame_body);
  w.u32(m.max_message_size);
  w.str8(clamp_text(m.broker_version, 0xFF));
  finish_frame(out, body);
}

std::optional<HelloReply> decode_hello_reply(std::span<const std::byte> body) noexcept {
  Reader r(body);
  HelloReply m;
  m.version = r.u16();
  m.max_frame_body = r.u32();
  m.max_message_size = r.u32();
  m.broker_version = r.str8();
  if (!r.done()) return std::nullopt;
  return m;
}

// --- ERROR -----------------------------------------------------------------

void encode(const ErrorReply& m, std::vector<std::byte>& out, uint32_t request_id) {
  assert(m.code != Errc::ok && "an ERROR frame needs a failure code");
  auto body = begin_frame(out, Kind::error, request_id);
  Writer w(out);
  w.u16(static_cast<uint16_t>(m.code));
  w.str16(clamp_text(m.message, 0xFFFF));
  finish_frame(out, body);
}

std::optional<ErrorReply> decode_error(std::span<const std::byte> body) noexcept {
  Reader r(body);
  ErrorReply m;
  auto code = r.u16();
  m.message = r.str16();
  // Codes this build does not know stay valid: a newer broker may append codes.
  if (!r.done() || code == static_cast<uint16_t>(Errc::ok)) return std::nullopt;
  m.code = static_cast<Errc>(code);
  return m;
}

// --- SEND ------------------------------------------------------------------

std::size_t begin_send(const SendHeader& h, std::vector<std::byte>& out, uint32_t request_id,
                       Kind kind) {
  assert((kind == Kind::send || kind == Kind::publish) && "begin_send() of another kind");
  auto body = begin_frame(out, kind, request_id);
  Writer w(out);
  put_queue(w, h.queue);
  w.u32(h.timeout_ms);
  w.u32(h.count);
  return body;
}

void append_outgoing(const OutgoingMessage& m, std::vector<std::byte>& out) {
  assert(m.properties.size() <= std::numeric_limits<uint32_t>::max() &&
         m.payload.size() <= std::numeric_limits<uint32_t>::max() && "message part over 4 GiB");
  Writer w(out);
  w.i64(m.type);
  w.u8(m.priority);
  w.u8(0);   // flags: none defined in version 1
  w.u16(0);  // reserved
  w.u32(static_cast<uint32_t>(m.properties.size()));
  w.u32(static_cast<uint32_t>(m.payload.size()));
  w.bytes(m.properties);
  w.bytes(m.payload);
}

bool SendReader::open(std::span<const std::byte> body) noexcept {
  Reader r(body);
  header_.queue = r.str8();
  header_.timeout_ms = r.u32();
  header_.count = r.u32();
  left_ = header_.count;
  rest_ = body.subspan(body.size() - r.remaining());
  failed_ = !r.ok() || header_.count == 0 ||
            !plausible_count(header_.count, rest_.size(), kOutgoingMessageHeader);
  if (failed_) left_ = 0;
  return !failed_;
}

bool SendReader::next(OutgoingMessage& m) noexcept {
  if (failed_ || left_ == 0) return false;
  Reader r(rest_);
  m.type = r.i64();
  m.priority = r.u8();
  auto flags = r.u8();
  auto reserved = r.u16();
  auto props_len = r.u32();
  auto payload_len = r.u32();
  m.properties = r.bytes(props_len);
  m.payload = r.bytes(payload_len);
  rest_ = rest_.subspan(rest_.size() - r.remaining());
  --left_;
  // The last message must end the body exactly, so that a caller that saw
  // `count` successful next() calls knows the whole body was valid.
  bool bad_tail = left_ == 0 && !rest_.empty();
  if (!r.ok() || flags != 0 || reserved != 0 || bad_tail || !properties_well_formed(m.properties)) {
    failed_ = true;
    left_ = 0;
    return false;
  }
  return true;
}

void encode(const SendReply& m, std::vector<std::byte>& out, uint32_t request_id,
            uint16_t version) {
  auto body = begin_frame(out, reply_kind(Kind::send), request_id);
  Writer w(out);
  w.u64(m.first_id);
  w.u32(m.count);
  if (version >= kVersionJobs) {
    w.u32(static_cast<uint32_t>(m.duplicates.size()));
    for (const SendDuplicate& d : m.duplicates) {
      w.u32(d.index);
      w.u64(d.existing_id);
    }
  }
  finish_frame(out, body);
}

std::optional<SendReply> decode_send_reply(std::span<const std::byte> body, uint16_t version) {
  Reader r(body);
  SendReply m;
  m.first_id = r.u64();
  m.count = r.u32();
  if (version >= kVersionJobs) {
    const uint32_t n = r.u32();
    if (!r.ok() || !plausible_count(n, r.remaining(), 12) || n > m.count) return std::nullopt;
    m.duplicates.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      SendDuplicate d;
      d.index = r.u32();
      d.existing_id = r.u64();
      // Each names a message of the batch, once, in batch order: a caller may
      // index its batch with it.
      if (d.index >= m.count || (i > 0 && d.index <= m.duplicates.back().index))
        return std::nullopt;
      m.duplicates.push_back(d);
    }
  }
  if (!r.done()) return std::nullopt;
  return m;
}

// --- RECEIVE ---------------------------------------------------------------

void encode(const ReceiveRequest& m, std::vector<std::byte>& out, uint32_t request_id) {
  auto body = begin_frame(out, Kind::receive, request_id);
  Writer w(out);
  put_queue(w, m.queue);
  w.i64(m.type);
  w.u16(m.flags);
  w.u32(m.timeout_ms);
  w.u32(m.max_size);
  w.u32(m.max_count);
  if (m.flags & kReceiveAck) w.u32(m.lease_ms);
  finish_frame(out, body);
}

std::optional<ReceiveRequest> decode_receive(std::span<const std::byte> body) noexcept {
  Reader r(body);
  ReceiveRequest m;
  m.queue = r.str8();
  m.type = r.i64();
  m.flags = r.u16();
  m.timeout_ms = r.u32();
  m.max_size = r.u32();
  m.max_count = r.u32();
  if (m.flags & kReceiveAck) m.lease_ms = r.u32();
  if (!r.done() || (m.flags & ~kReceiveKnownFlags) != 0 || m.max_count == 0) return std::nullopt;
  // A detached lease is still a lease; a leased peek removes nothing to lease.
  if ((m.flags & kReceiveDetached) && !(m.flags & kReceiveAck)) return std::nullopt;
  if ((m.flags & kReceiveAck) && (m.flags & kReceivePeek)) return std::nullopt;
  return m;
}

std::size_t begin_receive_reply(std::vector<std::byte>& out, uint32_t request_id, Kind kind) {
  auto body = begin_frame(out, kind, request_id);
  Writer(out).u32(0);  // count, patched by finish_receive_reply()
  return body;
}

void append_delivered(const DeliveredMessage& m, std::vector<std::byte>& out) {
  assert(m.properties.size() <= std::numeric_limits<uint32_t>::max() &&
         m.payload.size() <= std::numeric_limits<uint32_t>::max() && "message part over 4 GiB");
  Writer w(out);
  w.u64(m.id);
  w.i64(m.type);
  w.u8(m.priority);
  w.u8(m.flags);
  w.u16(0);  // reserved
  w.u32(m.sender_pid);
  w.u32(m.sender_uid);
  w.u64(m.enqueue_time_ns);
  w.u64(m.delivery_tag);
  w.u32(m.delivery_count);
  w.u32(static_cast<uint32_t>(m.properties.size()));
  w.u32(static_cast<uint32_t>(m.payload.size()));
  w.bytes(m.properties);
  w.bytes(m.payload);
}

void finish_receive_reply(std::vector<std::byte>& out, std::size_t body_offset, uint32_t count) {
  assert(body_offset + 4 <= out.size() && "not a begin_receive_reply() offset");
  std::memcpy(out.data() + body_offset, &count, sizeof count);
  finish_frame(out, body_offset);
}

bool ReceiveReplyReader::open(std::span<const std::byte> body) noexcept {
  Reader r(body);
  count_ = r.u32();
  left_ = count_;
  rest_ = body.subspan(body.size() - r.remaining());
  // A zero count must come with an empty rest; otherwise the bytes are trailing.
  failed_ = !r.ok() || !plausible_count(count_, rest_.size(), kDeliveredMessageHeader) ||
            (count_ == 0 && !rest_.empty());
  if (failed_) left_ = 0;
  return !failed_;
}

bool ReceiveReplyReader::next(DeliveredMessage& m) noexcept {
  if (failed_ || left_ == 0) return false;
  Reader r(rest_);
  m.id = r.u64();
  m.type = r.i64();
  m.priority = r.u8();
  m.flags = r.u8();
  auto reserved = r.u16();
  m.sender_pid = r.u32();
  m.sender_uid = r.u32();
  m.enqueue_time_ns = r.u64();
  m.delivery_tag = r.u64();
  m.delivery_count = r.u32();
  auto props_len = r.u32();
  auto payload_len = r.u32();
  m.properties = r.bytes(props_len);
  m.payload = r.bytes(payload_len);
  rest_ = rest_.subspan(rest_.size() - r.remaining());
  --left_;
  bool bad_tail = left_ == 0 && !rest_.empty();
  if (!r.ok() || (m.flags & ~kDeliveredTruncated) != 0 || reserved != 0 || bad_tail ||
      !properties_well_formed(m.properties)) {
    failed_ = true;
    left_ = 0;
    return false;
  }
  return true;
}

// --- Admin -----------------------------------------------------------------

void encode_json(Kind kind, std::string_view json, std::vector<std::byte>& out,
                 uint32_t request_id) {
  auto body = begin_frame(out, kind, request_id);
  Writer(out).str(json);
  finish_frame(out, body);
}

}  // namespace postbox::proto
