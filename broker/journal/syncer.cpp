// Syncer: fdatasync off the loop thread, one group commit at a time.
#include "broker/journal/syncer.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postbox::broker::journal {

Syncer::Syncer(Done done, Failure on_failure)
    : done_(std::move(done)), failure_(std::move(on_failure)), thread_([this] { run(); }) {}

Syncer::~Syncer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Syncer::submit(SyncJob job) {
  {
    std::lock_guard lock(mutex_);
    job_ = std::move(job);
  }
  wake_.notify_one();
}

void Syncer::run() {
  for (;;) {
    SyncJob job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || job_.has_value(); });
      if (!job_) return;  // stopping with nothing in hand
      job = std::move(*job_);
      job_.reset();
    }
    uint32_t syncs = 0;
    for (const SegmentPtr& s : job.segments) {
      while (::fdatasync(s->fd) != 0) {
        if (errno == EINTR) continue;
        failure_("fdatasync of " + s->path + " failed: " + std::strerror(errno));
        return;
      }
      ++syncs;
    }
    if (!job.dir.empty()) {
      try {
        sync_dir(job.dir);
        ++syncs;
      } catch (const std::exception& e) {
        failure_(e.what());
        return;
      }
    }
    done_(job.upto, syncs);
  }
}

}  // namespace postbox::broker::journal
