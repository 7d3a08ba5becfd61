// QUEUE record bodies: attributes to JSON and back.
#include "broker/journal/queue_record.hpp"

#include <nlohmann/json.hpp>

namespace postbox::broker::journal {

using nlohmann::json;

std::string queue_json(const Queue& q) {
  const auto& a = q.attributes();
  const auto& l = a.limits;
  return json{{"name", q.name()},
              {"max_messages", l.max_messages},
              {"max_bytes", l.max_bytes},
              {"max_message_size", l.max_message_size},
              {"mode", a.owner.mode},
              {"overflow", std::string(config::to_string(l.overflow))},
              {"max_deliveries", l.max_deliveries},
              {"dead_letter", l.dead_letter},
              {"lease_ms", l.lease_ms},
              {"ttl_ms", l.ttl_ms},
              {"owner_uid", a.owner.uid},
              {"owner_gid", a.owner.gid},
              {"created_ns", q.stats().created_ns}}
      .dump();
}

std::optional<QueueImage> parse_queue_json(std::string_view text, std::string& why) {
  try {
    const json j = json::parse(text);
    QueueImage img;
    img.name = j.at("name").get<std::string>();
    auto& l = img.attrs.limits;
    l.max_messages = j.at("max_messages").get<uint64_t>();
    l.max_bytes = j.at("max_bytes").get<uint64_t>();
    l.max_message_size = j.at("max_message_size").get<uint32_t>();
    l.mode = j.at("mode").get<uint32_t>();
    auto overflow = config::parse_overflow(j.at("overflow").get<std::string>());
    if (!overflow) {
      why = "unknown overflow policy";
      return std::nullopt;
    }
    l.overflow = *overflow;
    l.max_deliveries = j.at("max_deliveries").get<uint32_t>();
    l.dead_letter = j.at("dead_letter").get<std::string>();
    l.lease_ms = j.at("lease_ms").get<uint32_t>();
    l.ttl_ms = j.at("ttl_ms").get<uint64_t>();
    l.durable = true;
    img.attrs.owner =
        Ownership{j.at("owner_uid").get<uint32_t>(), j.at("owner_gid").get<uint32_t>(), l.mode};
    img.created_ns = j.at("created_ns").get<uint64_t>();
    return img;
  } catch (const json::exception& e) {
    why = e.what();
    return std::nullopt;
  }
}

}  // namespace postbox::broker::journal
