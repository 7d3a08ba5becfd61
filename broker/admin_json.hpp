// JSON shapes of the admin frames: the DECLARE body, STAT and LIST replies (proto/PROTOCOL.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "broker/store.hpp"

namespace postbox::broker {

/// The stat object of a queue.
nlohmann::json stat_json(const Queue& q);
/// Parses a DECLARE body; on failure returns the text of the problem.
std::variant<DeclareSpec, std::string> parse_declare(const nlohmann::json& body);

}  // namespace postbox::broker
