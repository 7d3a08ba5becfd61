// Job-dispatch bodies: every field checked, nothing read past the body.
#include "proto/jobs.hpp"

#include <cassert>
#include <cstring>

#include "proto/messages.hpp"
#include "proto/wire.hpp"

namespace postbox::proto {

uint64_t SettleRequest::tag_at(uint32_t i) const noexcept {
  uint64_t v;
  std::memcpy(&v, tags.data() + std::size_t{i} * 8, 8);
  return v;
}

void encode_settle(Kind kind, uint32_t ms, uint16_t priority, std::span<const uint64_t> tags,
                   std::vector<std::byte>& out, uint32_t request_id) {
  auto body = begin_frame(out, kind, request_id);
  Writer w(out);
  w.u32(ms);
  w.u16(priority);
  w.u32(static_cast<uint32_t>(tags.size()));
  for (uint64_t t : tags) w.u64(t);
  finish_frame(out, body);
}

std::optional<SettleRequest> decode_settle(Kind kind, std::span<const std::byte> body) noexcept {
  Reader r(body);
  SettleRequest m;
  m.ms = r.u32();
  m.priority = r.u16();
  const uint32_t count = r.u32();
  if (!r.ok() || count == 0 || r.remaining() != std::size_t{count} * 8) return std::nullopt;
  m.tags = r.bytes(r.remaining());
  if (m.priority > 255 && m.priority != kKeepPriority) return std::nullopt;
  const bool takes_ms = kind == Kind::nack || kind == Kind::touch;
  const bool takes_priority = kind == Kind::nack;
  if (!takes_ms && m.ms != 0) return std::nullopt;
  if (!takes_priority && m.priority != kKeepPriority) return std::nullopt;
  return m;
}

void encode(Kind request_kind, const SettleReply& m, std::vector<std::byte>& out,
            uint32_t request_id) {
  auto body = begin_frame(out, reply_kind(request_kind), request_id);
  Writer w(out);
  w.u32(m.settled);
  w.u32(static_cast<uint32_t>(m.missing.size()));
  for (uint64_t t : m.missing) w.u64(t);
  finish_frame(out, body);
}

std::optional<SettleReply> decode_settle_reply(std::span<const std::byte> body) noexcept {
  Reader r(body);
  SettleReply m;
  m.settled = r.u32();
  const uint32_t missing = r.u32();
  if (!r.ok() || r.remaining() != std::size_t{missing} * 8) return std::nullopt;
  m.missing.reserve(missing);
  for (uint32_t i = 0; i < missing; ++i) m.missing.push_back(r.u64());
  if (!r.done()) return std::nullopt;
  return m;
}

void encode(const ConsumeRequest& m, std::vector<std::byte>& out, uint32_t request_id) {
  assert(m.queue.size() <= 255 && "queue name longer than 255 bytes");
  auto body = begin_frame(out, Kind::consume, request_id);
  Writer w(out);
  w.str8(m.queue.size() <= 255 ? m.queue : std::string_view{});
  w.i64(m.type);
  w.u16(m.flags);
  w.u32(m.prefetch);
  w.u32(m.lease_ms);
  w.u32(m.max_size);
  finish_frame(out, body);
}

std::optional<ConsumeRequest> decode_consume(std::span<const std::byte> body) noexcept {
  Reader r(body);
  ConsumeRequest m;
  m.queue = r.str8();
  m.type = r.i64();
  m.flags = r.u16();
  m.prefetch = r.u32();
  m.lease_ms = r.u32();
  m.max_size = r.u32();
  constexpr uint16_t known = kReceiveExcept | kReceiveTruncate | kReceiveAck;
  if (!r.done() || (m.flags & ~known) != 0) return std::nullopt;
  const bool ack = (m.flags & kReceiveAck) != 0;
  if (ack ? m.prefetch == 0 : (m.prefetch != 0 || m.lease_ms != 0)) return std::nullopt;
  return m;
}

void encode(const CancelRequest& m, std::vector<std::byte>& out, uint32_t request_id) {
  auto body = begin_frame(out, Kind::cancel, request_id);
  Writer(out).u32(m.consumer);
  finish_frame(out, body);
}

std::optional<CancelRequest> decode_cancel(std::span<const std::byte> body) noexcept {
  Reader r(body);
  CancelRequest m;
  m.consumer = r.u32();
  if (!r.done()) return std::nullopt;
  return m;
}

void encode_empty_reply(Kind request_kind, std::vector<std::byte>& out, uint32_t request_id) {
  auto body = begin_frame(out, reply_kind(request_kind), request_id);
  finish_frame(out, body);
}

}  // namespace postbox::proto
