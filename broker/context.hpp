// What every session shares: the loop, the queues, the timers and the limits.
#pragma once

#include <utility>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "broker/deadlines.hpp"
#include "broker/journal/journal.hpp"
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
  journal::Journal& journal;
  /// Every push consumer by queue, for STAT.
  std::unordered_multimap<const Queue*, Consumer*> consumers;
  uint64_t started_ns = 0;   // steady_ns() at start, for STATUS
  uint64_t connections = 0;  // open sessions
  bool stopping = false;
};

}  // namespace postbox::broker
