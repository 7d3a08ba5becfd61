// spdlog set-up for postboxd.
#include "broker/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace postbox::broker {

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_st("postboxd");
  const char* journal = std::getenv("JOURNAL_STREAM");
  logger->set_pattern(journal && *journal ? "%l: %v" : "%Y-%m-%dT%H:%M:%S.%e postboxd %l: %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace postbox::broker
