// JSON shapes of the admin frames.
#include "broker/admin_json.hpp"

#include <limits>

namespace postbox::broker {

using nlohmann::json;

json stat_json(const Queue& q) {
  const QueueStats st = q.stats();
  const auto& a = q.attributes();
  json per_priority = json::object();
  for (const auto& [prio, n] : st.depth_per_priority) per_priority[std::to_string(prio)] = n;
  return {
      {"name", q.name()},
      {"depth", st.depth},
      {"bytes", st.bytes},
      {"max_messages", a.limits.max_messages},
      {"max_bytes", a.limits.max_bytes},
      {"max_message_size", a.limits.max_message_size},
      {"mode", a.owner.mode},
      {"overflow", std::string(config::to_string(a.limits.overflow))},
      {"owner_uid", a.owner.uid},
      {"owner_gid", a.owner.gid},
      {"created_ns", st.created_ns},
      {"last_send_pid", st.last_send_pid},
      {"last_send_ns", st.last_send_ns},
      {"last_receive_pid", st.last_receive_pid},
      {"last_receive_ns", st.last_receive_ns},
      {"sent_total", st.sent_total},
      {"received_total", st.received_total},
      {"dropped_total", st.dropped_total},
      {"purged_total", st.purged_total},
      {"blocked_senders", st.blocked_senders},
      {"blocked_receivers", st.blocked_receivers},
      {"depth_per_priority", per_priority},
  };
}

namespace {

template <class T>
bool take_unsigned(const json& v, const char* key, std::optional<T>& out, std::string& err) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    err = std::string("DECLARE: key '") + key + "' must be an unsigned integer";
    return false;
  }
  const uint64_t n = v.get<uint64_t>();
  if (n > std::numeric_limits<T>::max()) {
    err = std::string("DECLARE: key '") + key + "' is out of range (at most " +
          std::to_string(std::numeric_limits<T>::max()) + ")";
    return false;
  }
  out = static_cast<T>(n);
  return true;
}

}  // namespace

std::variant<DeclareSpec, std::string> parse_declare(const json& body) {
  if (!body.is_object()) return std::string("DECLARE body must be a JSON object");
  DeclareSpec spec;
  std::string err;
  bool have_name = false;
  for (const auto& [key, v] : body.items()) {
    if (key == "queue") {
      if (!v.is_string()) return std::string("DECLARE: key 'queue' must be a string");
      spec.name = v.get<std::string>();
      have_name = true;
    } else if (key == "exclusive") {
      if (!v.is_boolean()) return std::string("DECLARE: key 'exclusive' must be true or false");
      spec.exclusive = v.get<bool>();
    } else if (key == "max_messages") {
      if (!take_unsigned(v, "max_messages", spec.max_messages, err)) return err;
    } else if (key == "max_bytes") {
      if (!take_unsigned(v, "max_bytes", spec.max_bytes, err)) return err;
    } else if (key == "max_message_size") {
      if (!take_unsigned(v, "max_message_size", spec.max_message_size, err)) return err;
    } else if (key == "mode") {
      if (!take_unsigned(v, "mode", spec.mode, err)) return err;
    } else if (key == "overflow") {
      auto o = v.is_string() ? config::parse_overflow(v.get<std::string>()) : std::nullopt;
      if (!o) {
        return std::string(
            "DECLARE: key 'overflow' must be \"reject\", \"drop-oldest\" or "
            "\"drop-lowest-priority\"");
      }
      spec.overflow = *o;
    } else {
      return "DECLARE: unknown key '" + key + "'";
    }
  }
  if (!have_name) return std::string("DECLARE: key 'queue' is required");
  return spec;
}

}  // namespace postbox::broker
