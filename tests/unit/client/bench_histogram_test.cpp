// Tests client/cli/bench_histogram.cpp: bucket layout, percentiles and merging.
#include "client/cli/bench_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace postbox::cli::bench {
namespace {

TEST(LatencyHistogram, ValuesBelow128NsHaveTheirOwnBucket) {
  for (uint64_t v = 0; v < 128; ++v) {
    EXPECT_EQ(LatencyHistogram::bucket_of(v), v);
    EXPECT_EQ(LatencyHistogram::bucket_low(v), v);
    EXPECT_EQ(LatencyHistogram::bucket_high(v), v);
  }
}

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGapsOrOverlaps) {
  for (std::size_t b = 1; b < LatencyHistogram::kBuckets; ++b)
    ASSERT_EQ(LatencyHistogram::bucket_low(b), LatencyHistogram::bucket_high(b - 1) + 1) << b;
  EXPECT_EQ(LatencyHistogram::bucket_high(LatencyHistogram::kBuckets - 1), UINT64_MAX);
}

TEST(LatencyHistogram, EveryValueFallsInsideItsBucketWithinOneSixtyFourth) {
  struct Case {
    uint64_t value;
  };
  const Case cases[] = {{128},       {129},     {255},        {256},
                        {1000},      {812'345}, {1ull << 40}, {(1ull << 40) - 1},
                        {UINT64_MAX}};
  for (const Case& c : cases) {
    const std::size_t b = LatencyHistogram::bucket_of(c.value);
    ASSERT_LT(b, LatencyHistogram::kBuckets) << c.value;
    EXPECT_LE(LatencyHistogram::bucket_low(b), c.value);
    EXPECT_GE(LatencyHistogram::bucket_high(b), c.value);
    const uint64_t width = LatencyHistogram::bucket_high(b) - LatencyHistogram::bucket_low(b) + 1;
    EXPECT_LE(width, LatencyHistogram::bucket_low(b) / 64 + 1) << c.value;
  }
}

TEST(LatencyHistogram, EmptyHistogramReportsZeros) {
  const LatencyHistogram sut;
  EXPECT_EQ(sut.count(), 0u);
  EXPECT_EQ(sut.percentile(0.5), 0u);
  EXPECT_EQ(sut.min(), 0u);
  EXPECT_EQ(sut.max(), 0u);
  EXPECT_EQ(sut.mean(), 0.0);
}

TEST(LatencyHistogram, PercentilesOfSmallExactValuesAreExact) {
  LatencyHistogram sut;
  for (uint64_t v = 1; v <= 100; ++v) sut.add(v);
  EXPECT_EQ(sut.percentile(0.5), 50u);
  EXPECT_EQ(sut.percentile(0.99), 99u);
  EXPECT_EQ(sut.percentile(0.999), 100u);
  EXPECT_EQ(sut.percentile(1.0), 100u);
  EXPECT_EQ(sut.percentile(0.0), 1u);
  EXPECT_DOUBLE_EQ(sut.mean(), 50.5);
}

TEST(LatencyHistogram, PercentilesOfRandomValuesAreWithinTheBucketError) {
  constexpr unsigned kSeed = 20240601;
  std::printf("seed %u\n", kSeed);
  std::mt19937_64 rng(kSeed);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // around 60 µs, long tail
  LatencyHistogram sut;
  std::vector<uint64_t> values;
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    values.push_back(v);
    sut.add(v);
  }
  std::sort(values.begin(), values.end());
  for (double f : {0.5, 0.9, 0.99, 0.999}) {
    const uint64_t exact = values[static_cast<std::size_t>(std::ceil(f * values.size())) - 1];
    const double error = std::abs(double(sut.percentile(f)) - double(exact)) / double(exact);
    EXPECT_LT(error, 1.0 / 64) << "fraction " << f;
  }
  EXPECT_EQ(sut.max(), values.back());
  EXPECT_EQ(sut.percentile(1.0), values.back());
}

TEST(LatencyHistogram, MergeEqualsAddingEverythingToOne) {
  LatencyHistogram a, b, both;
  for (uint64_t v : {5ull, 900ull, 70'000ull}) {
    a.add(v);
    both.add(v);
  }
  for (uint64_t v : {3ull, 1'000'000ull}) {
    b.add(v);
    both.add(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.min(), 3u);
  EXPECT_EQ(a.max(), 1'000'000u);
  for (double f : {0.2, 0.5, 0.8, 1.0}) EXPECT_EQ(a.percentile(f), both.percentile(f)) << f;
}

}  // namespace
}  // namespace postbox::cli::bench
