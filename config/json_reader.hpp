// Reading config JSON text into a Config: syntax, known keys, types and per-key ranges (internal).
#pragma once

#include <string>

#include "config/config.hpp"

namespace postbox::config::detail {

/// Parses `text` (JSON, comments allowed) and stores each key present into
/// `c`; throws Problem naming the first bad key. Cross-key rules are left to
/// check_rules().
void read_json(const std::string& text, Config& c);

}  // namespace postbox::config::detail
