// What every session shares: the loop, the queues, the timers and the limits.
#pragma once

#include <utility>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "broker/deadlines.hpp"
#include "broker/lease.hpp"
#include "broker/store.hpp"
#include "config/config.hpp"

namespace postbox::broker {

class Consumer;

/// Leases of detached ack-mode RECEIVEs (the CLI's `recv --ack`): not bound
/// to a connection, they end only by settle or expiry.
class DetachedLeases final : public LeaseHolder {};

/// Owned by Broker; sessions hold a reference. All of it is loop-thread only.
struct Context {
  boost::asio::io_context& io;
  QueueStore& store;
  Deadlines& deadlines;
  const config::Config& config;
  std::string broker_version;
  DetachedLeases& detached;
  /// Every push consumer by queue, for STAT.
  std::unordered_multimap<const Queue*, Consumer*> consumers;
  bool stopping = false;
};

}  // namespace postbox::broker
