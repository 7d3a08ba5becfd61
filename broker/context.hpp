// What every session shares: the loop, the queues, the timers and the limits.
#pragma once

#include <utility>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <string>

#include "broker/deadlines.hpp"
#include "broker/store.hpp"
#include "config/config.hpp"

namespace postbox::broker {

/// Owned by Broker; sessions hold a reference. All of it is loop-thread only.
struct Context {
  boost::asio::io_context& io;
  QueueStore& store;
  Deadlines& deadlines;
  const config::Config& config;
  std::string broker_version;
  bool stopping = false;
};

}  // namespace postbox::broker
