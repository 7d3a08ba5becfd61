// Publish/subscribe bodies.
#include "proto/topics.hpp"

#include "proto/messages.hpp"
#include "proto/wire.hpp"

namespace postbox::proto {

void encode(const PublishReply& m, std::vector<std::byte>& out, uint32_t request_id) {
  auto body = begin_frame(out, reply_kind(Kind::publish), request_id);
  Writer w(out);
  w.u32(m.queues);
  w.u32(m.denied);
  w.u32(m.dropped);
  finish_frame(out, body);
}

std::optional<PublishReply> decode_publish_reply(std::span<const std::byte> body) noexcept {
  Reader r(body);
  PublishReply m;
  m.queues = r.u32();
  m.denied = r.u32();
  m.dropped = r.u32();
  if (!r.done()) return std::nullopt;
  return m;
}

}  // namespace postbox::proto
