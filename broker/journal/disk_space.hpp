// DiskSpace: whether the file system of the journal has room for more
// messages.
//
// A disk that fills up fails every write, a removal's as much as a send's,
// and with it every receive of a durable queue. Below disk_free_limit the
// broker refuses durable sends instead, while there is still room: receives,
// acks and the rest go on (their records are small), and as consumers drain
// the queues compaction deletes segments and the space comes back (as
// RabbitMQ's disk alarm blocks publishers and lets consumers run).
#pragma once

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <string>

namespace postbox::broker::journal {

class DiskSpace {
 public:
  /// `limit` 0: never low.
  DiskSpace(boost::asio::io_context& io, std::string dir, uint64_t limit);

  /// Checks now, then once a second until stop(); `dir` must exist.
  void start();
  void stop();
  /// Counts bytes written; checks again once kCheckBytes have been, so a
  /// fast producer cannot write far past the limit between two ticks.
  void wrote(uint64_t bytes);

  bool low() const noexcept { return low_; }
  /// At the last check (0 before the first).
  uint64_t free_bytes() const noexcept { return free_; }
  uint64_t limit() const noexcept { return limit_; }
  /// "only N bytes free in DIR, below disk_free_limit M".
  std::string why() const;

  static constexpr uint64_t kCheckBytes = 4u << 20;

 private:
  void check();
  void arm();

  boost::asio::steady_timer timer_;
  std::string dir_;
  uint64_t limit_;
  uint64_t free_ = 0;
  uint64_t written_ = 0;  // since the last check
  bool low_ = false;
  bool running_ = false;
  bool statvfs_failed_ = false;  // logged once until it works again; not low meanwhile
};

}  // namespace postbox::broker::journal
