// Version 2 bodies for publish/subscribe: PUBLISH (a SEND addressed to a topic)
// and its reply. BIND, UNBIND and BINDINGS have JSON bodies (PROTOCOL.md 7).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "frame.hpp"

namespace postbox::proto {

// PUBLISH body: exactly a SEND body (proto/messages.hpp, SendReader) whose
// first field is the topic instead of a queue name, and whose timeout_ms
// MUST be 0: a publish never waits.
//
// PUBLISH_OK body: queues:u32 denied:u32 dropped:u32
//   queues: how many queues took a copy (0: nobody took one, "unroutable");
//   denied: matching queues the publisher may not write to, which got nothing;
//   dropped: matching queues that were full under overflow "drop-new" and
//   dropped their copy (counted in their dropped_total).
struct PublishReply {
  uint32_t queues = 0;
  uint32_t denied = 0;
  uint32_t dropped = 0;
};
void encode(const PublishReply& m, std::vector<std::byte>& out, uint32_t request_id);
std::optional<PublishReply> decode_publish_reply(std::span<const std::byte> body) noexcept;

}  // namespace postbox::proto
