// The bench's process harness: forks the workers, releases them together, collects their reports.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "client/cli/bench_histogram.hpp"

namespace postbox::cli::bench {

/// CLOCK_MONOTONIC in ns: one clock for every process of a run, so a time
/// stamped by a producer can be subtracted from one read by a consumer.
int64_t monotonic_ns() noexcept;

/// What one worker process measured, sent to the parent as raw bytes (both
/// ends are the same binary, so the layout agrees).
struct WorkerReport {
  uint64_t messages = 0;     ///< data messages sent (producers) or received (consumers)
  int64_t last_ns = 0;       ///< monotonic time of the last message handled
  LatencyHistogram latency;  ///< consumers: one-way latency; pingpong: round trips
  char error[480] = {};      ///< non-empty: the worker failed, and why (one line)
};

/// Handed to a worker's body: call ready() once connected and set up; it
/// returns when every worker is ready, at the parent's start time.
class StartGate {
 public:
  StartGate(int report_fd, int barrier_fd) : report_fd_(report_fd), barrier_fd_(barrier_fd) {}
  /// Tells the parent this worker is ready, then blocks until all are.
  /// Throws std::runtime_error if the parent is gone.
  void ready();

 private:
  int report_fd_;
  int barrier_fd_;
};

/// One worker process: `name` is how failures are reported ("consumer 2"),
/// `body` runs in the child and returns its report; an exception it throws
/// becomes the report's error.
struct Worker {
  std::string name;
  std::function<WorkerReport(StartGate&)> body;
};

/// The outcome of run_workers(): on success the parent's start time and one
/// report per worker, in the order given; else `failure` says which worker
/// failed and how, one line.
struct RunResult {
  std::string failure;
  bool interrupted = false;  ///< SIGINT or SIGTERM stopped the run
  int64_t start_ns = 0;
  std::vector<WorkerReport> reports;
  bool ok() const noexcept { return failure.empty(); }
};

/// Forks one process per worker, waits until all have called ready(), notes
/// the start time and releases them at once (the start barrier is a pipe the
/// parent closes), then reads every report. If a worker fails or dies, the
/// others are killed; every child is reaped before this returns. SIGINT and
/// SIGTERM end the run the same way, with failure "interrupted".
RunResult run_workers(std::vector<Worker> workers);

/// A counter in memory shared by the processes forked after its creation.
class SharedCounter {
 public:
  SharedCounter();
  ~SharedCounter();
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;
  /// Adds `n` and returns the new total.
  uint64_t add(uint64_t n) noexcept;
  uint64_t load() const noexcept;

 private:
  std::atomic<uint64_t>* value_;
};

}  // namespace postbox::cli::bench
