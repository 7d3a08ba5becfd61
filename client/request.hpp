// The parts of Client::request() that need no connection: correlation ids and target choice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace postbox::detail {

/// A correlation id unique to one request: `nonce` (random per connection,
/// so that ids of other processes and earlier connections never collide) in
/// hex, a dash, and `n`, the request's number on the connection.
std::string correlation_id(uint64_t nonce, uint64_t n);
/// A random nonce for correlation_id(), from std::random_device.
uint64_t random_nonce();

/// True when `name` could name a queue (1-255 bytes of A-Z a-z 0-9 . _ -,
/// the broker's rule, PROTOCOL.md "Limits"). A request to a target that
/// cannot is published without first trying a send.
bool could_be_queue_name(std::string_view name) noexcept;

}  // namespace postbox::detail
