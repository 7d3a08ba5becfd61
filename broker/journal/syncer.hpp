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
///
/// A finished job is announced on an eventfd (done_fd()) that the loop
/// watches: the loop's io_context runs without locks (concurrency hint 1),
/// so no other thread may post to it.
class Syncer {
 public:
  using Failure = std::function<void(const std::string& what)>;
  explicit Syncer(Failure on_failure);
  ~Syncer();  // finishes the job in hand, then joins
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  /// Precondition: the previous job finished (take_done() returned it).
  void submit(SyncJob job);
  /// Readable once a job finished.
  int done_fd() const noexcept { return event_fd_; }
  /// After done_fd() was readable: the finished job's `upto` and how many
  /// files it synced; nullopt if none finished since the last call.
  std::optional<std::pair<uint64_t, uint32_t>> take_done();

 private:
  void run();

  Failure failure_;
  int event_fd_ = -1;
  std::optional<std::pair<uint64_t, uint32_t>> done_;  // guarded by mutex_
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<SyncJob> job_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace postbox::broker::journal
