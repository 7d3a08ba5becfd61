// Helpers shared by the postbox and SysV workloads: time stamps, shares, turning reports into a
// Measurement.
#include "client/cli/bench_workloads.hpp"

#include <algorithm>
#include <cstring>

namespace postbox::cli::bench {

void write_stamp(char* payload, int64_t ns) noexcept {
  std::memcpy(payload, &ns, sizeof ns);
}

int64_t read_stamp(const char* payload) noexcept {
  int64_t ns;
  std::memcpy(&ns, payload, sizeof ns);
  return ns;
}

void record_latency(LatencyHistogram& h, int64_t now, int64_t stamp) noexcept {
  h.add(now > stamp ? static_cast<uint64_t>(now - stamp) : 0);
}

uint64_t share_of(uint64_t count, uint32_t parts, uint32_t i) noexcept {
  return count / parts + (i < count % parts ? 1 : 0);
}

void require_ok(const RunResult& r) {
  if (!r.ok()) throw BenchFailure(r.failure, r.interrupted);
}

Measurement throughput_of(const RunResult& r, std::size_t first_consumer) {
  require_ok(r);
  Measurement m;
  int64_t last = r.start_ns;
  for (std::size_t i = first_consumer; i < r.reports.size(); ++i) {
    const WorkerReport& w = r.reports[i];
    m.messages += w.messages;
    m.latency.merge(w.latency);
    last = std::max(last, w.last_ns);
  }
  m.seconds = static_cast<double>(last - r.start_ns) / 1e9;
  return m;
}

Measurement pingpong_of(const RunResult& r, std::size_t pinger) {
  require_ok(r);
  Measurement m;
  const WorkerReport& w = r.reports.at(pinger);
  m.messages = w.messages;
  m.latency = w.latency;
  m.seconds = static_cast<double>(w.last_ns - r.start_ns) / 1e9;
  return m;
}

}  // namespace postbox::cli::bench
