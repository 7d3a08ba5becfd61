// The body of a QUEUE record: a durable queue's name and attributes as JSON
// (rare, small, and easy to extend without a format change).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/queue.hpp"

namespace postbox::broker::journal {

struct QueueImage {
  std::string name;
  QueueAttributes attrs;
  uint64_t created_ns = 0;
};

std::string queue_json(const Queue& q);
/// nullopt (with `why` set) when the JSON is not a queue image this broker can use.
std::optional<QueueImage> parse_queue_json(std::string_view json, std::string& why);

}  // namespace postbox::broker::journal
