// Wire error codes: stable identifiers, readable texts and the "postbox" error category.
#include "proto/errc.hpp"

#include <string>

namespace postbox::proto {

namespace {

/// Identifier and text kept in one switch so they cannot drift apart; no
/// default, so a new code fails the build (-Wswitch) until it is described.
constexpr std::string_view kUnknown = "unknown";

struct Description {
  std::string_view name;
  std::string_view text;
};

Description describe(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return {"ok", "success"};
    case Errc::protocol_error:
      return {"protocol_error", "malformed frame or request (connection closed)"};
    case Errc::unsupported_version:
      return {"unsupported_version", "protocol version not supported by the broker"};
    case Errc::invalid_argument:
      return {"invalid_argument", "invalid argument in request"};
    case Errc::no_such_queue:
      return {"no_such_queue", "no such queue"};
    case Errc::queue_exists:
      return {"queue_exists", "queue already exists"};
    case Errc::permission_denied:
      return {"permission_denied", "permission denied"};
    case Errc::no_message:
      return {"no_message", "no matching message"};
    case Errc::queue_full:
      return {"queue_full", "queue is full"};
    case Errc::too_big:
      return {"too_big", "message too big"};
    case Errc::queue_removed:
      return {"queue_removed", "queue was removed while waiting"};
    case Errc::shutting_down:
      return {"shutting_down", "broker is shutting down"};
    case Errc::resource_limit:
      return {"resource_limit", "broker or connection resource limit reached"};
    case Errc::internal_error:
      return {"internal_error", "internal broker error"};
    case Errc::storage_error:
      return {"storage_error", "the broker's durable log cannot be written"};
  }
  return {kUnknown, "unknown postbox error"};
}

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "postbox"; }
  std::string message(int value) const override {
    // A newer peer may send codes this build does not list; keep the number
    // visible so the message still identifies them.
    if (value < 0 || value > 0xFFFF || describe(static_cast<Errc>(value)).name == kUnknown)
      return "unknown postbox error " + std::to_string(value);
    return std::string(describe(static_cast<Errc>(value)).text);
  }
};

}  // namespace

std::string_view to_string(Errc code) noexcept {
  return describe(code).name;
}

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace postbox::proto
