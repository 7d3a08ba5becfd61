// Syncer: the thread that runs fdatasync, so the event loop never waits for the disk.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/journal/segment.hpp"

namespace postbox::broker::journal {

/// One group commit: every segment written since its last sync (and the
/// directory, after a segment was created).
struct SyncJob {
  std::vector<SegmentPtr> segments;
  std::string dir;    // empty: no directory sync
  uint64_t upto = 0;  // the last record sequence number the job covers
};

/// Runs one job at a time. A failed sync does not return: after fdatasync
/// fails, Linux may have dropped the dirty pages and cleared the error, so
/// nothing the process believes about the file can be trusted; `on_failure`
/// runs on the sync thread and must end the process (the broker exits and
/// recovery reads what reached the disk).
class Syncer {
 public:
  using Done = std::function<void(uint64_t upto, uint32_t syncs)>;
  using Failure = std::function<void(const std::string& what)>;
  /// `done` runs on the sync thread after each job; it must hand over to the
  /// loop (asio::post) itself.
  Syncer(Done done, Failure on_failure);
  ~Syncer();  // finishes the job in hand, then joins
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  /// Precondition: the previous job finished (done() ran).
  void submit(SyncJob job);

 private:
  void run();

  Done done_;
  Failure failure_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<SyncJob> job_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace postbox::broker::journal
