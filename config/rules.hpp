// The rules every Config obeys, whether it came from a file, flags or code (internal).
#pragma once

#include <string_view>

#include "config/config.hpp"

namespace postbox::config::detail {

/// 1-255 bytes of [A-Za-z0-9._-], as the broker requires.
bool valid_queue_name(std::string_view name) noexcept;

/// Every range, the frame/message size rule, queue name rules and that no queue is its own
/// dead-letter queue; throws Problem.
void check_rules(const Config& c);

}  // namespace postbox::config::detail
