// Turning a SEND or PUBLISH body into a Batch of broker messages.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "broker/queue.hpp"
#include "broker/session.hpp"

namespace postbox::broker {

/// The largest properties section one message may carry. max_bytes counts
/// payloads (like msg_qbytes), so this bounds what a full queue holds beyond it.
inline constexpr std::size_t kMaxPropertiesSize = 64 * 1024;

/// Checks the whole body's framing (lengths, counts, properties TLV), so a
/// malformed SEND is a protocol error whatever queue it names.
bool well_framed(std::span<const std::byte> body);

/// Copies the messages of a well-framed body into a Batch, with their
/// scheduling (version 2 sessions), or sets `code` and `problem` for the
/// first message that cannot be taken: by `q`'s limits, or with q null
/// (PUBLISH) by the broker's. `stamp` (PUBLISH's topic entry) is appended to
/// every message's properties, after the sender's, and counts in the limits.
Batch build_batch(Session& s, std::span<const std::byte> body, const Queue* q, proto::Errc& code,
                  std::string& problem, std::string_view stamp = {});

}  // namespace postbox::broker
