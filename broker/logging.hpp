// spdlog set-up for postboxd: one stderr logger, level from the configuration.
#pragma once

#include <string>

namespace postbox::broker {

/// Installs the default logger. Under journald (JOURNAL_STREAM set) lines
/// carry no timestamp, since the journal adds its own.
void setup_logging(const std::string& level);

}  // namespace postbox::broker
