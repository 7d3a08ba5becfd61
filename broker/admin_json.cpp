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
      {"max_deliveries", a.limits.max_deliveries},
      {"dead_letter", a.limits.dead_letter},
      {"lease_ms", a.limits.lease_ms},
      {"ttl_ms", a.limits.ttl_ms},
      {"leased", st.leased},
      {"delayed", st.delayed},
      {"acked_total", st.acked_total},
      {"nacked_total", st.nacked_total},
      {"redelivered_total", st.redelivered_total},
      {"lease_expired_total", st.lease_expired_total},
      {"expired_total", st.expired_total},
      {"dead_lettered_total", st.dead_lettered_total},
      {"discarded_total", st.discarded_total},
      {"deduplicated_total", st.deduplicated_total},
      {"moved_in_total", st.moved_in_total},
      {"moved_out_total", st.moved_out_total},
      {"consumers", json::array()},
      {"temporary", a.temporary_owner != 0},
      {"published_total", st.published_total},
      {"durable", q.durable()},
      {"log_bytes", q.log_state().bytes},
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
    } else if (key == "temporary") {
      if (!v.is_boolean()) return std::string("DECLARE: key 'temporary' must be true or false");
      spec.temporary = v.get<bool>();
    } else if (key == "durable") {
      if (!v.is_boolean()) return std::string("DECLARE: key 'durable' must be true or false");
      spec.durable = v.get<bool>();
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
            "DECLARE: key 'overflow' must be \"reject\", \"drop-new\", \"drop-oldest\" or "
            "\"drop-lowest-priority\"");
      }
      spec.overflow = *o;
    } else if (key == "max_deliveries") {
      if (!take_unsigned(v, "max_deliveries", spec.max_deliveries, err)) return err;
    } else if (key == "lease_ms") {
      if (!take_unsigned(v, "lease_ms", spec.lease_ms, err)) return err;
    } else if (key == "ttl_ms") {
      if (!take_unsigned(v, "ttl_ms", spec.ttl_ms, err)) return err;
    } else if (key == "dead_letter") {
      if (!v.is_string()) {
        return std::string("DECLARE: key 'dead_letter' must be a queue name, or \"\" for none");
      }
      spec.dead_letter = v.get<std::string>();
    } else {
      return "DECLARE: unknown key '" + key + "'";
    }
  }
  // A temporary queue may leave its naming to the broker.
  if (!have_name && !spec.temporary) return std::string("DECLARE: key 'queue' is required");
  return spec;
}

}  // namespace postbox::broker
