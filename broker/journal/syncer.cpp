// Syncer: fdatasync off the loop thread, one group commit at a time.
#include "broker/journal/syncer.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace postbox::broker::journal {

Syncer::Syncer(Failure on_failure)
    : failure_(std::move(on_failure)), event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (event_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  thread_ = std::thread([this] { run(); });
}

Syncer::~Syncer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  ::close(event_fd_);
}

std::optional<std::pair<uint64_t, uint32_t>> Syncer::take_done() {
  uint64_t ignored;
  while (::read(event_fd_, &ignored, sizeof ignored) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mutex_);
  auto d = done_;
  done_.reset();
  return d;
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
    {
      std::lock_guard lock(mutex_);
      done_ = std::make_pair(job.upto, syncs);
    }
    const uint64_t one = 1;
    while (::write(event_fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace postbox::broker::journal
