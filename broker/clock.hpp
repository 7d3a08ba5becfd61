// Wall-clock timestamps as carried on the wire and in stats, and the monotonic clock of deadlines.
#pragma once

#include <time.h>

#include <cstdint>

namespace postbox::broker {

/// CLOCK_REALTIME in nanoseconds since the epoch.
inline uint64_t realtime_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

/// CLOCK_MONOTONIC in nanoseconds: what due times, TTLs and leases count in
/// (the same clock as std::chrono::steady_clock on Linux).
inline uint64_t steady_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace postbox::broker
