// postbox::Errc names and texts, its error category, and the check that it mirrors the wire codes.
#include "postbox/error.hpp"

#include <string>

#include "proto/errc.hpp"

namespace postbox {

namespace {

// The public enum repeats the wire values so that <postbox/error.hpp> does not
// need the protocol headers installed; these keep the two from drifting.
#define POSTBOX_SAME_CODE(name) \
  static_assert(static_cast<int>(Errc::name) == static_cast<int>(proto::Errc::name), #name)
POSTBOX_SAME_CODE(ok);
POSTBOX_SAME_CODE(protocol_error);
POSTBOX_SAME_CODE(unsupported_version);
POSTBOX_SAME_CODE(invalid_argument);
POSTBOX_SAME_CODE(no_such_queue);
POSTBOX_SAME_CODE(queue_exists);
POSTBOX_SAME_CODE(permission_denied);
POSTBOX_SAME_CODE(no_message);
POSTBOX_SAME_CODE(queue_full);
POSTBOX_SAME_CODE(too_big);
POSTBOX_SAME_CODE(queue_removed);
POSTBOX_SAME_CODE(shutting_down);
POSTBOX_SAME_CODE(resource_limit);
POSTBOX_SAME_CODE(internal_error);
POSTBOX_SAME_CODE(storage_error);
#undef POSTBOX_SAME_CODE
// Client-side codes must be impossible on the wire, whose codes are u16.
static_assert(static_cast<int>(Errc::unreachable) > 0xFFFF);

struct Description {
  std::string_view name;
  std::string_view text;
};

/// Name and text in one switch with no default: a new code fails the build
/// (-Wswitch) until it is described.
Description describe(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return {"ok", "success"};
    case Errc::protocol_error:
      return {"protocol_error", "protocol error"};
    case Errc::unsupported_version:
      return {"unsupported_version", "protocol version not supported by the broker"};
    case Errc::invalid_argument:
      return {"invalid_argument", "invalid argument"};
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
      return {"queue_removed", "queue was deleted"};
    case Errc::shutting_down:
      return {"shutting_down", "broker is shutting down"};
    case Errc::resource_limit:
      return {"resource_limit", "broker resource limit reached"};
    case Errc::internal_error:
      return {"internal_error", "internal broker error"};
    case Errc::storage_error:
      return {"storage_error", "the broker's durable log cannot be written"};
    case Errc::unreachable:
      return {"unreachable", "broker unreachable"};
    case Errc::disconnected:
      return {"disconnected", "connection to the broker lost"};
    case Errc::no_such_lease:
      return {"no_such_lease", "no lease with that delivery tag (expired, settled or not yours)"};
    case Errc::no_route:
      return {"no_route", "no queue took the request (nothing bound to the topic)"};
  }
  return {"unknown", "unknown error"};
}

class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "libpostbox"; }
  std::string message(int code) const override {
    auto d = describe(static_cast<Errc>(code));
    if (d.name == "unknown") return "unknown error " + std::to_string(code);
    return std::string(d.text);
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

Error::Error(Errc code, const std::string& message)
    : std::runtime_error(message.empty() ? error_category().message(static_cast<int>(code))
                                         : message),
      errc_(code) {}

}  // namespace postbox
