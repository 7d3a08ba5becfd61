// Wire error codes shared by broker and client, with their std::error_category.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace postbox::proto {

/// Error codes carried in ERROR frames. Values are part of the wire protocol
/// (proto/PROTOCOL.md, "Errors"): never renumber, only append.
enum class Errc : uint16_t {
  ok = 0,
  protocol_error = 1,       // malformed frame or request; the connection is closed
  unsupported_version = 2,  // HELLO asked for a version the broker does not speak
  invalid_argument = 3,     // well-formed request with a bad value (queue name, type, limit)
  no_such_queue = 4,
  queue_exists = 5,  // exclusive declare of an existing queue
  permission_denied = 6,
  no_message = 7,  // nothing matched before the timeout (or at once with timeout 0)
  queue_full = 8,
  too_big = 9,          // message larger than the receiver's max size or the queue's limit
  queue_removed = 10,   // the queue was deleted while the request waited on it
  shutting_down = 11,   // the broker is stopping; the request was not carried out
  resource_limit = 12,  // a connection or broker limit (connections, pending replies) was hit
  internal_error = 13,
  storage_error = 14,  // the durable log cannot be written (disk full, I/O error)
};

/// Stable identifier of a code, e.g. "queue_full"; "unknown" for values not listed.
std::string_view to_string(Errc code) noexcept;

const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace postbox::proto

template <>
struct std::is_error_code_enum<postbox::proto::Errc> : std::true_type {};
