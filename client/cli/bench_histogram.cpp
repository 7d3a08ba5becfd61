// LatencyHistogram: bucket arithmetic, merging and percentiles.
#include "client/cli/bench_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace postbox::cli::bench {

// Value v >= 128 has exponent e = floor(log2 v) >= 7; its top 7 bits (64..127)
// pick the sub-bucket, so the bucket is (e - 6) * 64 + (v >> (e - 6)), which
// continues the exact buckets 0..127 without a gap.
std::size_t LatencyHistogram::bucket_of(uint64_t ns) noexcept {
  if (ns < 2 * kSubBuckets) return static_cast<std::size_t>(ns);
  const unsigned e = static_cast<unsigned>(std::bit_width(ns)) - 1;
  const unsigned shift = e - kSubBits;
  return static_cast<std::size_t>(shift) * kSubBuckets + static_cast<std::size_t>(ns >> shift);
}

uint64_t LatencyHistogram::bucket_low(std::size_t bucket) noexcept {
  assert(bucket < kBuckets && "bucket_low() of a bucket out of range");
  if (bucket < 2 * kSubBuckets) return bucket;
  const unsigned shift = static_cast<unsigned>(bucket / kSubBuckets) - 1;
  const uint64_t sub = bucket % kSubBuckets + kSubBuckets;
  return sub << shift;
}

uint64_t LatencyHistogram::bucket_high(std::size_t bucket) noexcept {
  if (bucket < 2 * kSubBuckets) return bucket;
  const unsigned shift = static_cast<unsigned>(bucket / kSubBuckets) - 1;
  return bucket_low(bucket) + ((uint64_t{1} << shift) - 1);
}

void LatencyHistogram::add(uint64_t ns) noexcept {
  ++counts_[bucket_of(ns)];
  ++count_;
  sum_ += ns;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

double LatencyHistogram::mean() const noexcept {
  return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
}

uint64_t LatencyHistogram::percentile(double fraction) const noexcept {
  if (count_ == 0) return 0;
  // The rank (1-based) of the wanted value; never 0 and never past the end.
  const double wanted = std::ceil(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(count_));
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(wanted), 1, count_);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    const uint64_t low = bucket_low(i), high = bucket_high(i);
    // The true value lies in [low, high] and within [min, max]: clamp the middle.
    return std::clamp(low + (high - low) / 2, std::max(low, min_), std::min(high, max_));
  }
  return max_;
}

}  // namespace postbox::cli::bench
