// Journal: appending, group commit, failing writes, compaction and recovery.
#include "broker/journal/journal.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include "broker/clock.hpp"
#include "broker/exit_status.hpp"
#include "broker/journal/queue_record.hpp"
#include "broker/journal/recovery.hpp"
#include "broker/journal/syncer.hpp"
#include "broker/store.hpp"

namespace postbox::broker::journal {

namespace asio = boost::asio;

namespace {

constexpr auto kRetryInterval = std::chrono::seconds(1);
// Segment files grow by fallocate in steps of this much (or segment_size if
// smaller) ahead of the writes (Segment::reserve).
constexpr uint64_t kReserveStep = 4u << 20;
// An ADD record's fixed fields: kind, queue, id, type, priority, pid, uid,
// enqueue time, delivery count, due, expiry, key offset, key size, props size.
constexpr std::size_t kAddFixed = 1 + 4 + 8 + 8 + 1 + 4 + 4 + 8 + 4 + 8 + 8 + 4 + 4 + 4;

std::size_t add_record_size(const Message& m) noexcept {
  return kRecordHeader + kAddFixed + m.data.size();
}

/// A CLOCK_MONOTONIC deadline as CLOCK_REALTIME (0 stays 0).
uint64_t to_wall(uint64_t mono, uint64_t now_mono, uint64_t now_real) noexcept {
  if (mono == 0) return 0;
  if (mono >= now_mono) return now_real + (mono - now_mono);
  const uint64_t ago = now_mono - mono;
  return ago < now_real ? now_real - ago : 1;
}

/// And back, after a restart: a time already past becomes "now".
uint64_t to_mono(uint64_t wall, uint64_t now_mono, uint64_t now_real) noexcept {
  if (wall == 0) return 0;
  if (wall <= now_real) return now_mono;
  return now_mono + (wall - now_real);
}

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace

Journal::Journal(asio::io_context& io, JournalOptions options)
    : io_(io),
      opts_(std::move(options)),
      dir_(opts_.data_dir + "/journal"),
      interval_timer_(io),
      group_timer_(io),
      retry_timer_(io),
      space_(io, dir_, opts_.disk_free_limit),
      sync_done_(io) {}

Journal::~Journal() {
  if (sync_done_.is_open()) sync_done_.release();  // the syncer closes its eventfd
  syncer_.reset();  // joins: no sync thread outlives the segments it holds
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

// =========================================================================
// Opening and recovery
// =========================================================================

std::string Journal::open_files() {
  if (open_) return {};
  try {
    make_dirs(opts_.data_dir);
    make_dirs(dir_);
    if (lock_fd_ < 0) {
      if (std::string why = open_lock_only(); !why.empty()) return why;
    }
    if (!syncer_) {
      syncer_ = std::make_unique<Syncer>([](const std::string& what) { fatal(what); });
      sync_done_.assign(syncer_->done_fd());
      watch_syncer();
    }
    open_ = true;
    start_segment();
  } catch (const std::system_error& e) {
    open_ = false;
    return e.what();
  }
  arm_interval();
  space_.start();
  return {};
}

void Journal::recover(QueueStore& store) {
  store_ = &store;
  store.set_log(this);
  if (::access(dir_.c_str(), F_OK) != 0) return;  // no journal yet: opened with the first queue
  const auto started = std::chrono::steady_clock::now();
  Replay r;
  try {
    if (list_segments(dir_).empty()) return;
    // Locked before anything is read or cut: another broker may be using it.
    if (std::string why = open_lock_only(); !why.empty()) {
      throw StartupError(ExitStatus::storage, "journal: " + why);
    }
    r = replay(dir_);
  } catch (const std::system_error& e) {
    throw StartupError(ExitStatus::storage, std::string("journal: ") + e.what());
  }
  if (!r.damage.empty()) {
    spdlog::warn("journal: {}; cut off {} bytes and set aside {} later segments (*.dropped)",
                 r.damage, r.dropped_bytes, r.dropped_segments);
  }
  for (const std::string& w : r.warnings) spdlog::warn("journal: {}", w);

  // The segments kept stay until compaction finds nothing alive in them.
  for (const auto& info : r.segments) {
    auto seg = std::make_shared<Segment>(info.number, segment_path(dir_, info.number), -1);
    seg->size = info.size;
    bytes_ += info.size;
    segments_.push_back(std::move(seg));
  }
  store.raise_next_id(r.next_id);
  for (auto& [id, img] : r.queues) {
    Queue* q = store.restore_queue(img.name, img.attrs, img.created_ns);
    if (!q) {
      spdlog::warn("journal: queue '{}' (journal id {}) skipped: the name is taken", img.name, id);
      continue;
    }
    q->log_state().id = id;
    queues_.emplace(id, q);
    next_queue_id_ = std::max(next_queue_id_, id + 1);
  }
  // A new segment for this run, starting with every queue, before anything
  // recovery itself changes (expiries, returned leases) is logged.
  if (std::string why = open_files(); !why.empty()) {
    throw StartupError(ExitStatus::storage, "journal: " + why);
  }

  std::vector<std::pair<uint64_t, RecoveredMessage*>> order;
  order.reserve(r.messages.size());
  for (auto& [id, rm] : r.messages) order.emplace_back(id, &rm);
  std::sort(order.begin(), order.end());
  const uint64_t now_mono = steady_ns();
  const uint64_t now_real = realtime_ns();
  uint64_t restored = 0;
  for (auto& [id, rm] : order) {
    auto qit = queues_.find(rm->queue);
    if (qit == queues_.end()) continue;
    Queue& q = *qit->second;
    MessagePtr m = std::move(rm->message);
    m->due_ns = to_mono(m->due_ns, now_mono, now_real);
    m->expires_ns = to_mono(m->expires_ns, now_mono, now_real);
    account(q, *m, rm->segment);
    q.recover(std::move(m), rm->leased);
    ++restored;
  }
  recovered_messages_ = restored;
  recovery_ms_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count());
  spdlog::info(
      "journal: recovered {} messages in {} durable queues from {} segments ({} bytes, {} "
      "records) in {} ms",
      restored, queues_.size(), r.segments.size(), bytes_, r.records, recovery_ms_);
  compact();
}

std::string Journal::open_lock_only() {
  const std::string lock = dir_ + "/lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno_text("cannot open " + lock, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return dir_ + " is in use by another postboxd";
    return errno_text("cannot lock " + lock, e);
  }
  lock_fd_ = fd;
  return {};
}

// =========================================================================
// Appending
// =========================================================================

void Journal::start_segment() {
  const uint64_t number = segments_.empty() ? 1 : segments_.back()->number + 1;
  SegmentPtr seg = create_segment(dir_, number);  // throws
  trim_pending_ = !segments_.empty();
  segments_.push_back(seg);
  dir_dirty_ = true;
  Chunk c;
  c.segment = seg;
  c.offset = 0;
  c.bytes.assign(kSegmentMagic.data(), kSegmentMagic.size());
  seg->size = c.bytes.size();
  bytes_ += c.bytes.size();
  unwritten_.push_back(std::move(c));
  append(BeginRecord{number, store_ ? store_->next_id() : 1});
  snapshot_queues();
}

void Journal::snapshot_queues() {
  std::vector<uint32_t> ids;
  ids.reserve(queues_.size());
  for (const auto& [id, q] : queues_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (uint32_t id : ids) {
    scratch_ = queue_json(*queues_[id]);
    append(QueueRecord{id, scratch_});
  }
}

void Journal::append(const Record& r) {
  if (!open_) return;
  Segment& active = *segments_.back();
  if (active.size >= opts_.segment_size && !closing_ && !rolling_) {
    rolling_ = true;
    try {
      start_segment();
    } catch (const std::system_error& e) {
      // Not fatal: the sealed segment still takes records. Tried again at
      // the next record past the size.
      spdlog::error("journal: cannot start a new segment ({}); {} grows past segment_size",
                    e.what(), active.path);
    }
    rolling_ = false;
  }
  const SegmentPtr& seg = segments_.back();
  if (unwritten_.empty() || unwritten_.back().segment != seg) {
    unwritten_.push_back(Chunk{seg, seg->size, {}, 0});
  }
  Chunk& c = unwritten_.back();
  const std::size_t n = journal::append(r, c.bytes);
  seg->size += n;
  bytes_ += n;
  c.last_seq = ++appended_seq_;
  ++records_total_;
  schedule_flush();
}

Segment* Journal::segment(uint64_t number) noexcept {
  if (segments_.empty() || number < segments_.front()->number) return nullptr;
  const uint64_t i = number - segments_.front()->number;
  return i < segments_.size() ? segments_[i].get() : nullptr;
}

void Journal::account(Queue& q, Message& m, uint64_t number) {
  const std::size_t size = add_record_size(m);
  m.log_segment = static_cast<uint32_t>(number);
  if (Segment* seg = segment(number)) {
    ++seg->live_count;
    seg->live_bytes += size;
  }
  q.log_state().bytes += size;
  live_bytes_ += size;
}

void Journal::forget(Queue& q, Message& m) {
  if (m.log_segment == 0) return;
  const std::size_t size = add_record_size(m);
  if (Segment* seg = segment(m.log_segment)) {
    --seg->live_count;
    seg->live_bytes -= size;
  }
  q.log_state().bytes -= size;
  live_bytes_ -= size;
  m.log_segment = 0;
}

AddRecord Journal::add_record(const Queue& q, const Message& m) const {
  const uint64_t now_mono = (m.due_ns | m.expires_ns) != 0 ? steady_ns() : 0;
  const uint64_t now_real = now_mono != 0 ? realtime_ns() : 0;
  AddRecord a;
  a.queue = q.log_state().id;
  a.id = m.id;
  a.type = m.type;
  a.priority = m.priority;
  a.sender_pid = m.sender_pid;
  a.sender_uid = m.sender_uid;
  a.enqueue_time_ns = m.enqueue_time_ns;
  a.delivery_count = m.delivery_count;
  a.due_wall_ns = to_wall(m.due_ns, now_mono, now_real);
  a.expires_wall_ns = to_wall(m.expires_ns, now_mono, now_real);
  a.key_offset = m.key_offset;
  a.key_size = m.key_size;
  a.props_size = m.props_size;
  a.data = m.data;
  return a;
}

// --- MessageLog

std::string Journal::writable() {
  if (std::string why = open_files(); !why.empty()) return why;
  if (failing_) return error_;
  return {};
}

void Journal::queue_declared(Queue& q) {
  if (!open_) return;
  if (q.log_state().id == 0) {
    q.log_state().id = next_queue_id_++;
    queues_.emplace(q.log_state().id, &q);
  }
  scratch_ = queue_json(q);
  append(QueueRecord{q.log_state().id, scratch_});
}

void Journal::queue_dropped(Queue& q) {
  if (!open_ || q.log_state().id == 0) return;
  q.for_each_message([this, &q](Message& m) { forget(q, m); });
  append(DropRecord{q.log_state().id});
  queues_.erase(q.log_state().id);
  q.log_state().id = 0;
}

void Journal::added(Queue& q, Message& m) {
  if (!open_) return;
  append(add_record(q, m));
  account(q, m, segments_.back()->number);
}

void Journal::updated(Queue&, Message& m) {
  if (m.log_segment == 0) return;
  const uint64_t now_mono = m.due_ns != 0 ? steady_ns() : 0;
  const uint64_t now_real = now_mono != 0 ? realtime_ns() : 0;
  append(UpdateRecord{m.id, m.priority, to_wall(m.due_ns, now_mono, now_real), m.delivery_count,
                      m.state == MessageState::leased});
}

void Journal::leased(Queue&, Message& m) {
  if (m.log_segment == 0) return;
  append(LeaseRecord{m.id, m.delivery_count});
}

void Journal::removed(Queue& q, Message& m) {
  if (m.log_segment == 0) return;
  append(RemoveRecord{m.id});
  forget(q, m);
}

void Journal::purged(Queue& q) {
  if (!open_ || q.log_state().id == 0) return;
  append(PurgeRecord{q.log_state().id});
}

void Journal::forgotten(Queue& q, Message& m) {
  forget(q, m);
}

// =========================================================================
// Writing and syncing
// =========================================================================

uint64_t Journal::durable_seq() const noexcept {
  return opts_.fsync == config::Fsync::always ? synced_seq_ : written_seq_;
}

uint64_t Journal::safe_seq() const noexcept {
  return opts_.fsync == config::Fsync::never ? written_seq_ : synced_seq_;
}

void Journal::when_durable(uint64_t seq, std::function<void()> f) {
  if (seq <= durable_seq()) {
    f();
    return;
  }
  waiters_.emplace_back(seq, std::move(f));
  // Every writer of the last group is back: no reason to wait any longer.
  if (group_waiting_ && waiters_.size() >= group_target_) group_timer_.cancel();
}

std::size_t Journal::release_waiters() {
  if (waiters_.empty()) return 0;
  const uint64_t d = durable_seq();
  std::vector<std::function<void()>> ready;
  std::erase_if(waiters_, [&](auto& w) {
    if (w.first > d) return false;
    ready.push_back(std::move(w.second));
    return true;
  });
  for (auto& f : ready) f();
  return ready.size();
}

void Journal::schedule_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  // After the handlers already queued: every request read in this turn adds
  // its records before one write takes them all.
  asio::post(io_, [this] { flush(); });
}

void Journal::flush() {
  flush_posted_ = false;
  if (failing_) return;  // the retry timer tries again
  while (!unwritten_.empty()) {
    Chunk& c = unwritten_.front();
    c.segment->reserve(c.offset + c.bytes.size(), std::min(kReserveStep, opts_.segment_size));
    if (!write_chunk(c)) return;
    c.segment->dirty = true;
    written_seq_ = c.last_seq;
    unwritten_.pop_front();
  }
  // Everything is written: sealed segments (and the active one at shutdown)
  // give back their reserve.
  if (trim_pending_ || closing_) {
    for (const SegmentPtr& s : segments_)
      if (s != segments_.back() || closing_) s->trim();
    trim_pending_ = false;
  }
  maybe_sync();
  release_waiters();
  compact();
}

bool Journal::write_chunk(Chunk& c) {
  // A short write is retried from the chunk's start at the same offset, never
  // continued: what a failed call really wrote is unknown, and records must
  // not be spliced. Rewriting identical bytes is harmless.
  std::string why;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ssize_t n;
    do {
      n = ::pwrite(c.segment->fd, c.bytes.data(), c.bytes.size(), static_cast<off_t>(c.offset));
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(c.bytes.size())) {
      ++writes_total_;
      space_.wrote(c.bytes.size());
      return true;
    }
    if (n < 0) {
      enter_failing(errno_text("cannot write " + c.segment->path, errno));
      return false;
    }
    why = "short write to " + c.segment->path + " (" + std::to_string(n) + " of " +
          std::to_string(c.bytes.size()) + " bytes)";
  }
  enter_failing(why);
  return false;
}

void Journal::enter_failing(std::string why) {
  if (!failing_) {
    spdlog::error(
        "journal: {}; durable queues refuse changes until a write succeeds (retrying every {} s)",
        why, std::chrono::duration_cast<std::chrono::seconds>(kRetryInterval).count());
  }
  failing_ = true;
  error_ = std::move(why);
  arm_retry();
}

void Journal::arm_retry() {
  if (closing_) return;
  retry_timer_.expires_after(kRetryInterval);
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    failing_ = false;
    flush();
    if (!failing_) {
      spdlog::info("journal: writing again");
      error_.clear();
      if (on_recovered_) on_recovered_();
    }
  });
}

void Journal::maybe_sync() {
  if (written_seq_ <= synced_seq_) return;
  if (closing_) {
    sync_inline();
    return;
  }
  if (opts_.fsync != config::Fsync::always || sync_in_flight_ || group_waiting_ || !syncer_) return;
  submit_sync();
}

void Journal::submit_sync() {
  SyncJob job;
  for (const SegmentPtr& s : segments_) {
    if (s->dirty) {
      job.segments.push_back(s);
      s->dirty = false;
    }
  }
  for (const auto& [seq, s] : doomed_) {
    if (s->dirty) {
      job.segments.push_back(s);
      s->dirty = false;
    }
  }
  if (dir_dirty_) {
    job.dir = dir_;
    dir_dirty_ = false;
  }
  job.upto = written_seq_;
  sync_in_flight_ = true;
  sync_started_ = std::chrono::steady_clock::now();
  syncer_->submit(std::move(job));
}

void Journal::sync_inline() {
  auto sync_one = [](Segment& s) {
    if (!s.dirty || s.fd < 0) return;
    while (::fdatasync(s.fd) != 0) {
      if (errno != EINTR) fatal(errno_text("fdatasync of " + s.path + " failed", errno));
    }
    s.dirty = false;
  };
  for (const SegmentPtr& s : segments_) sync_one(*s);
  for (auto& [seq, s] : doomed_) sync_one(*s);
  if (dir_dirty_) {
    try {
      sync_dir(dir_);
    } catch (const std::system_error& e) {
      fatal(e.what());
    }
    dir_dirty_ = false;
  }
  ++syncs_total_;
  synced_seq_ = written_seq_;
}

void Journal::watch_syncer() {
  sync_done_.async_wait(asio::posix::stream_descriptor::wait_read,
                        [this](boost::system::error_code ec) {
                          if (ec || closing_) return;
                          if (auto done = syncer_->take_done()) synced(done->first, done->second);
                          watch_syncer();
                        });
}

void Journal::synced(uint64_t upto, uint32_t syncs) {
  sync_in_flight_ = false;
  last_sync_ = std::chrono::steady_clock::now() - sync_started_;
  synced_seq_ = std::max(synced_seq_, upto);
  syncs_total_ += syncs;
  const std::size_t released = release_waiters();
  const bool concurrent = written_seq_ > synced_seq_ || released > 1;
  if (opts_.fsync == config::Fsync::always && concurrent && !closing_) {
    // Records arrived during the sync, or it released several writers: the
    // ones just released will send again within a round trip. Syncing at
    // once would split the writers into cohorts that alternate (with all
    // of them released at once, the first one back would have a sync to
    // itself and the rest the next); waiting (at most half a sync's time)
    // until the released ones are back lets one sync cover nearly all.
    using namespace std::chrono;
    const auto wait = std::clamp<nanoseconds>(last_sync_ / 2, microseconds(20), milliseconds(1));
    group_waiting_ = true;
    group_target_ = waiters_.size() + released;
    group_timer_.expires_after(wait);
    group_timer_.async_wait([this](boost::system::error_code) {
      group_waiting_ = false;
      if (closing_) return;
      // Cancelled early from when_durable(): the last record may still be
      // unwritten, and a sync must cover it.
      if (!unwritten_.empty() && !failing_) flush();
      if (!sync_in_flight_ && written_seq_ > synced_seq_ && !failing_) submit_sync();
    });
  }
  compact();
}

void Journal::arm_interval() {
  if (opts_.fsync != config::Fsync::interval || closing_) return;
  interval_timer_.expires_after(std::chrono::milliseconds(opts_.fsync_interval_ms));
  interval_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    if (written_seq_ > synced_seq_ && !sync_in_flight_ && syncer_) submit_sync();
    arm_interval();
  });
}

void Journal::close() {
  if (!open_) return;
  closing_ = true;
  interval_timer_.cancel();
  retry_timer_.cancel();
  space_.stop();
  group_timer_.cancel();
  // The loop must be able to run out of work; from now on syncs run inline.
  if (sync_done_.is_open()) sync_done_.cancel();
  failing_ = false;  // one last try
  flush();
  if (!unwritten_.empty()) {
    spdlog::error(
        "journal: {} records could not be written at shutdown ({}); replies waiting "
        "on them were not sent",
        appended_seq_ - written_seq_, error_);
  }
}

void Journal::fatal(const std::string& what) {
  spdlog::critical(
      "journal: {}; exiting: after a failed sync the kernel may have dropped the written data, "
      "so only recovery can tell what is on disk",
      what);
  spdlog::default_logger()->flush();
  std::_Exit(static_cast<int>(ExitStatus::storage));
}

// =========================================================================
// Compaction
// =========================================================================

void Journal::compact() {
  // Delete what was doomed once everything appended before is durable: the
  // REMOVE records (or copies) that made it garbage must not be lost with it.
  const uint64_t safe = safe_seq();
  std::erase_if(doomed_, [safe](const auto& d) {
    if (d.first > safe) return false;
    if (::unlink(d.second->path.c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("journal: cannot delete {}: {}", d.second->path, std::strerror(errno));
    }
    return true;
  });
  if (closing_ || failing_) return;
  for (;;) {
    while (segments_.size() > 1 && segments_.front()->live_count == 0) {
      bytes_ -= segments_.front()->size;
      doomed_.emplace_back(appended_seq_, std::move(segments_.front()));
      segments_.pop_front();
    }
    // Too much garbage: the oldest segment's live messages move forward so
    // that it can go. Disk use stays within about twice what is alive.
    if (segments_.size() <= 1 || bytes_ <= 2 * live_bytes_ + 2 * opts_.segment_size) break;
    copy_forward(*segments_.front());
    if (segments_.front()->live_count != 0) {
      // Every message counted there should have been found in a queue.
      spdlog::error("journal: {} still counts {} live messages after compaction; keeping it",
                    segments_.front()->path, segments_.front()->live_count);
      break;
    }
  }
}

void Journal::copy_forward(Segment& oldest) {
  const uint64_t number = oldest.number;
  for (auto& [id, q] : queues_) {
    Queue& queue = *q;
    queue.for_each_message([&](Message& m) {
      if (m.log_segment != number) return;
      forget(queue, m);
      append(add_record(queue, m));
      account(queue, m, segments_.back()->number);
      if (m.state == MessageState::leased) append(LeaseRecord{m.id, m.delivery_count});
    });
  }
}

// =========================================================================
// Status
// =========================================================================

JournalStatus Journal::status() const {
  JournalStatus s;
  s.open = open_;
  s.bytes = bytes_;
  s.segments = segments_.size();
  s.live_bytes = live_bytes_;
  s.records_total = records_total_;
  s.writes_total = writes_total_;
  s.syncs_total = syncs_total_;
  s.recovered_messages = recovered_messages_;
  s.recovery_ms = recovery_ms_;
  s.failing = failing_;
  s.error = error_;
  s.low_space = space_.low();
  s.free_bytes = space_.free_bytes();
  return s;
}

}  // namespace postbox::broker::journal
