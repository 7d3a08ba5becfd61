// Journal: the write-ahead log of the durable queues.
//
// Every change to a durable queue's messages appends a record (MessageLog)
// to an in-memory buffer on the loop thread. Once per loop turn the buffer
// is written (pwrite) to the active segment, and under fsync "always" the
// sync thread runs one fdatasync for everything written since the last one:
// group commit. Replies that report a durable change wait for durable_seq()
// to pass the change's record (Session holds them), so nothing is
// acknowledged that a crash could take back.
//
// Segments are sealed at segment_size and deleted once no message they hold
// is alive; when the log grows past twice what is alive, the oldest
// segment's live messages are copied forward so that it can go.
#pragma once

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/journal/disk_space.hpp"
#include "broker/journal/record.hpp"
#include "broker/journal/segment.hpp"
#include "broker/message_log.hpp"
#include "config/config.hpp"

namespace postbox::broker {
class QueueStore;
}

namespace postbox::broker::journal {

class Syncer;

struct JournalOptions {
  std::string data_dir;  // the journal lives in data_dir/journal
  config::Fsync fsync = config::Fsync::always;
  uint32_t fsync_interval_ms = 1000;
  uint64_t segment_size = 64ull << 20;
  uint64_t disk_free_limit = 64ull << 20;  // 0: never refuse sends for space
};

/// What STATUS and LIST report.
struct JournalStatus {
  bool open = false;
  uint64_t bytes = 0;  // every segment's size
  uint64_t segments = 0;
  uint64_t live_bytes = 0;  // ADD records of messages alive now
  uint64_t records_total = 0;
  uint64_t writes_total = 0;
  uint64_t syncs_total = 0;
  uint64_t recovered_messages = 0;
  uint64_t recovery_ms = 0;
  bool failing = false;
  std::string error;        // the last write error while failing
  bool low_space = false;   // free space below disk_free_limit: durable sends refused
  uint64_t free_bytes = 0;  // in the journal's file system at the last check
};

class Journal final : public MessageLog {
 public:
  Journal(boost::asio::io_context& io, JournalOptions options);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  /// Start-up: replays data_dir/journal into `store` if it has segments
  /// (creating the durable queues with their messages), cuts off damage, and
  /// opens a new segment. Without segments it does nothing: the files are
  /// created with the first durable queue. Throws StartupError(storage).
  void recover(QueueStore& store);
  /// Shutdown: writes and syncs what is buffered (blocking), so the replies
  /// waiting on it can go; stops the timers.
  void close();

  /// Sequence number of the last record appended; replies about it may go
  /// once durable_seq() reaches it.
  uint64_t appended_seq() const noexcept { return appended_seq_; }
  /// Written (fsync interval, never) or synced (always) up to here.
  uint64_t durable_seq() const noexcept;
  /// Runs `f` on the loop once durable_seq() >= seq (at once if it is).
  void when_durable(uint64_t seq, std::function<void()> f);
  /// Called on the loop when writing works again after failing (so queues
  /// held back can be served).
  void set_on_recovered(std::function<void()> f) { on_recovered_ = std::move(f); }

  JournalStatus status() const;
  /// True while writes fail: durable queues refuse changes (storage_error).
  bool failing() const noexcept { return failing_; }
  const std::string& error() const noexcept { return error_; }
  /// Below disk_free_limit (DiskSpace): durable sends are refused, the rest
  /// goes on.
  const DiskSpace& space() const noexcept { return space_; }
  const JournalOptions& options() const noexcept { return opts_; }

  // MessageLog
  std::string writable() override;
  void queue_declared(Queue& q) override;
  void queue_dropped(Queue& q) override;
  void added(Queue& q, Message& m) override;
  void updated(Queue& q, Message& m) override;
  void leased(Queue& q, Message& m) override;
  void removed(Queue& q, Message& m) override;
  void purged(Queue& q) override;
  void forgotten(Queue& q, Message& m) override;

 private:
  struct Chunk {
    SegmentPtr segment;
    uint64_t offset = 0;
    std::string bytes;
    uint64_t last_seq = 0;
  };

  std::string open_files();  // "" or why not
  std::string open_lock_only();
  void start_segment();  // throws std::system_error
  void snapshot_queues();
  void append(const Record& r);
  AddRecord add_record(const Queue& q, const Message& m) const;
  /// m's latest ADD record is in segment `number` (the active one, or one recovered).
  void account(Queue& q, Message& m, uint64_t number);
  /// m's ADD record no longer holds a live message.
  void forget(Queue& q, Message& m);
  Segment* segment(uint64_t number) noexcept;
  /// What segment deletion waits for: synced, or written under "never".
  uint64_t safe_seq() const noexcept;
  void schedule_flush();
  void flush();
  bool write_chunk(Chunk& c);
  void enter_failing(std::string why);
  void maybe_sync();
  void submit_sync();
  void sync_inline();
  void synced(uint64_t upto, uint32_t syncs);
  void watch_syncer();
  std::size_t release_waiters();  // how many it released
  void compact();
  void copy_forward(Segment& oldest);
  void arm_interval();
  void arm_retry();
  [[noreturn]] static void fatal(const std::string& what);

  boost::asio::io_context& io_;
  JournalOptions opts_;
  std::string dir_;  // data_dir/journal
  QueueStore* store_ = nullptr;
  int lock_fd_ = -1;
  bool open_ = false;
  std::deque<SegmentPtr> segments_;  // oldest first; back() is active
  std::deque<Chunk> unwritten_;
  std::unordered_map<uint32_t, Queue*> queues_;  // by journal id
  uint32_t next_queue_id_ = 1;
  uint64_t appended_seq_ = 0;
  uint64_t written_seq_ = 0;
  uint64_t synced_seq_ = 0;
  uint64_t live_bytes_ = 0;
  uint64_t bytes_ = 0;  // sum of segment sizes
  uint64_t records_total_ = 0;
  uint64_t writes_total_ = 0;
  uint64_t syncs_total_ = 0;
  uint64_t recovered_messages_ = 0;
  uint64_t recovery_ms_ = 0;
  bool flush_posted_ = false;
  bool sync_in_flight_ = false;
  bool dir_dirty_ = false;  // a segment was created since the last directory sync
  bool failing_ = false;
  bool closing_ = false;
  bool rolling_ = false;
  bool trim_pending_ = false;  // a segment was sealed: trim it once written
  std::string error_;
  /// Segments to delete once everything appended up to the seq is durable.
  std::vector<std::pair<uint64_t, SegmentPtr>> doomed_;
  std::vector<std::pair<uint64_t, std::function<void()>>> waiters_;
  std::function<void()> on_recovered_;
  boost::asio::steady_timer interval_timer_;
  /// Group commit's short wait before the next sync (see synced()).
  boost::asio::steady_timer group_timer_;
  bool group_waiting_ = false;
  std::size_t group_target_ = 0;  // sessions waiting once the last group is back
  std::chrono::steady_clock::time_point sync_started_;
  std::chrono::nanoseconds last_sync_{0};
  boost::asio::steady_timer retry_timer_;
  DiskSpace space_;
  std::unique_ptr<Syncer> syncer_;
  boost::asio::posix::stream_descriptor sync_done_;  // the syncer's eventfd (not owned)
  std::string scratch_;                              // queue JSON being encoded
};

}  // namespace postbox::broker::journal
