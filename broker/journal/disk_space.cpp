// DiskSpace: statvfs of the journal's directory, once a second and after
// every few MiB written.
#include "broker/journal/disk_space.hpp"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace postbox::broker::journal {

DiskSpace::DiskSpace(boost::asio::io_context& io, std::string dir, uint64_t limit)
    : timer_(io), dir_(std::move(dir)), limit_(limit) {}

void DiskSpace::start() {
  if (running_) return;
  running_ = true;
  check();
  arm();
}

void DiskSpace::stop() {
  running_ = false;
  timer_.cancel();
}

void DiskSpace::wrote(uint64_t bytes) {
  written_ += bytes;
  if (running_ && written_ >= kCheckBytes) check();
}

std::string DiskSpace::why() const {
  return "only " + std::to_string(free_) + " bytes free in " + dir_ + ", below disk_free_limit " +
         std::to_string(limit_);
}

void DiskSpace::check() {
  written_ = 0;
  struct statvfs st {};
  if (::statvfs(dir_.c_str(), &st) != 0) {
    // Not a reason to refuse sends: the writes themselves will tell.
    if (!statvfs_failed_) spdlog::warn("journal: statvfs {}: {}", dir_, std::strerror(errno));
    statvfs_failed_ = true;
    low_ = false;
    return;
  }
  statvfs_failed_ = false;
  // f_bavail: what an unprivileged writer may still use (root may use the
  // reserved blocks too, but they are the system's, not the broker's).
  free_ = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  const bool low = limit_ > 0 && free_ < limit_;
  if (low && !low_) {
    spdlog::warn("journal: {}; durable sends are refused until space returns", why());
  } else if (!low && low_) {
    spdlog::info("journal: {} bytes free in {} again; durable sends accepted", free_, dir_);
  }
  low_ = low;
}

void DiskSpace::arm() {
  if (!running_) return;
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    check();
    arm();
  });
}

}  // namespace postbox::broker::journal
