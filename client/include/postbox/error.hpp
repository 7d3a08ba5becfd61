// libpostbox's error codes and the exception that carries them with the broker's message.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace postbox {

/// Why a request failed. Values 0..65535 are the broker's wire codes
/// (proto/errc.hpp, checked equal by static_asserts in error.cpp); values from
/// 0x10000 up can never be sent on the wire (codes are u16) and are raised by
/// the client itself. A newer broker may send a code not listed here: it is
/// kept as its number.
enum class Errc : int {
  ok = 0,
  protocol_error = 1,       // malformed frame or request (either side); the connection is closed
  unsupported_version = 2,  // the broker does not speak our protocol version
  invalid_argument = 3,     // a bad value: queue name, type, limit, timeout
  no_such_queue = 4,
  queue_exists = 5,  // exclusive declare of an existing queue
  permission_denied = 6,
  no_message = 7,  // nothing matched before the timeout
  queue_full = 8,
  too_big = 9,         // message larger than a limit (receiver's max size, queue's or broker's)
  queue_removed = 10,  // the queue was deleted while the request waited on it
  shutting_down = 11,  // the broker is stopping; the request was not carried out
  resource_limit = 12,
  internal_error = 13,
  storage_error = 14,       // the broker's durable log cannot be written (disk full, I/O error)
  unreachable = 0x10000,    // client side: could not connect to the broker's socket
  disconnected = 0x10001,   // client side: the connection was lost or closed before the reply
  no_such_lease = 0x10002,  // client side: a settle named a tag the broker holds no lease for
  no_route = 0x10003,       // client side: a request was published to a topic no queue took
};

/// Stable identifier, e.g. "queue_full"; "unknown" for values not listed.
std::string_view to_string(Errc code) noexcept;

/// The category of postbox::Errc; message() gives a short generic text ("queue is full").
const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A failed request: the code plus the most specific message known (the
/// broker's text when it sent one, e.g. "queue 'jobs' is full"). what() is
/// that message, never empty.
class Error : public std::runtime_error {
 public:
  /// An empty `message` is replaced by the code's generic text.
  Error(Errc code, const std::string& message);

  Errc errc() const noexcept { return errc_; }
  /// The same code in postbox::error_category(), for std::error_code users.
  std::error_code code() const noexcept { return make_error_code(errc_); }

 private:
  Errc errc_;
};

}  // namespace postbox

template <>
struct std::is_error_code_enum<postbox::Errc> : std::true_type {};
