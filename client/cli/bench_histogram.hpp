// LatencyHistogram: fixed-size log-linear buckets of nanoseconds, mergeable across processes.
#pragma once

#include <array>
#include <cstdint>

namespace postbox::cli::bench {

/// Counts durations in nanoseconds with a relative error below 1/64 (1.6%):
/// values below 128 ns are exact, larger ones fall into 64 buckets per power
/// of two (the HdrHistogram layout with 6 sub-bucket bits). It is trivially
/// copyable and of fixed size, so a child process can write it down a pipe
/// as bytes and the parent can merge() what all children measured.
class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 6;
  static constexpr unsigned kSubBuckets = 1u << kSubBits;  // 64 per power of two
  // Exact up to 2 * kSubBuckets; then one group of 64 per exponent 7..63.
  static constexpr std::size_t kBuckets = (64 - kSubBits - 1) * kSubBuckets + 2 * kSubBuckets;

  /// Records one duration.
  void add(uint64_t ns) noexcept;
  /// Adds every count of `other`.
  void merge(const LatencyHistogram& other) noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t max() const noexcept { return max_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  /// The mean in ns, 0 when empty.
  double mean() const noexcept;
  /// The smallest recorded value v such that at least `fraction` (0..1] of the
  /// values are <= v, as the middle of v's bucket (exact below 128 ns and for
  /// the maximum); 0 when empty.
  uint64_t percentile(double fraction) const noexcept;

  /// The bucket of `ns` and the range of values it holds; public for tests.
  static std::size_t bucket_of(uint64_t ns) noexcept;
  static uint64_t bucket_low(std::size_t bucket) noexcept;
  static uint64_t bucket_high(std::size_t bucket) noexcept;

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace postbox::cli::bench
