// The SysV workloads: the same throughput and ping-pong runs on kernel message queues, one message
// per syscall.
//
// The queues are IPC_PRIVATE, made by the parent before fork and removed at
// the end. A consumer blocks in msgrcv(); with several consumers, the one
// whose message completes the shared count sends one end marker (type
// kStopType) per other consumer: each msgrcv() takes exactly one message, so
// every consumer still blocked gets one.
#include <sys/ipc.h>
#include <sys/msg.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "client/cli/bench_workloads.hpp"

namespace postbox::cli::bench {

namespace {

// SysV's defaults in <linux/msg.h>, used when /proc cannot be read.
constexpr uint64_t kDefaultMsgmax = 8192;
// How many bytes we would like a queue to hold, the postbox default for comparison.
constexpr uint64_t kWantedQbytes = 256ull << 20;

std::string os_error(const char* call) {
  return std::string(call) + ": " + std::strerror(errno);
}

uint64_t read_sysctl(const char* path, uint64_t fallback) {
  std::ifstream in(path);
  uint64_t v = 0;
  return (in >> v) ? v : fallback;
}

/// A private message queue, removed when destroyed.
class SysvQueue {
 public:
  SysvQueue() : id_(::msgget(IPC_PRIVATE, IPC_CREAT | 0600)) {
    if (id_ < 0) throw BenchFailure(os_error("msgget"));
  }
  ~SysvQueue() { ::msgctl(id_, IPC_RMID, nullptr); }
  SysvQueue(const SysvQueue&) = delete;
  SysvQueue& operator=(const SysvQueue&) = delete;

  int id() const noexcept { return id_; }

  /// Raises msg_qbytes towards `wanted` as far as we are allowed (above
  /// msgmnb only with CAP_SYS_RESOURCE); returns the size in force.
  uint64_t raise_qbytes(uint64_t wanted) {
    msqid_ds ds{};
    if (::msgctl(id_, IPC_STAT, &ds) < 0) throw BenchFailure(os_error("msgctl(IPC_STAT)"));
    if (ds.msg_qbytes >= wanted) return ds.msg_qbytes;
    const auto current = ds.msg_qbytes;
    ds.msg_qbytes = static_cast<decltype(ds.msg_qbytes)>(wanted);
    // EPERM is the normal answer for an unprivileged user: keep the default.
    if (::msgctl(id_, IPC_SET, &ds) < 0) return current;
    return wanted;
  }

 private:
  int id_;
};

/// A msgbuf of `size` payload bytes.
class SysvMessage {
 public:
  explicit SysvMessage(uint32_t size) : size_(size), bytes_(sizeof(long) + size, 'p') {}
  void* buf() noexcept { return bytes_.data(); }
  char* payload() noexcept { return bytes_.data() + sizeof(long); }
  long type() const noexcept {
    long t;
    std::memcpy(&t, bytes_.data(), sizeof t);
    return t;
  }
  void set_type(long t) noexcept { std::memcpy(bytes_.data(), &t, sizeof t); }
  std::size_t size() const noexcept { return size_; }

 private:
  std::size_t size_;
  std::vector<char> bytes_;
};

void send(int q, SysvMessage& m, std::size_t size) {
  while (::msgsnd(q, m.buf(), size, 0) < 0) {
    if (errno != EINTR) throw BenchFailure(os_error("msgsnd"));
  }
}

/// Blocks for the next message; returns its payload size.
std::size_t receive(int q, SysvMessage& m) {
  for (;;) {
    ssize_t n = ::msgrcv(q, m.buf(), m.size(), 0, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw BenchFailure(os_error("msgrcv"));
  }
}

// =========================================================================
// Throughput
// =========================================================================

WorkerReport produce(const BenchOptions& o, int q, uint64_t messages, StartGate& gate) {
  SysvMessage m(o.size);
  m.set_type(1);
  gate.ready();
  for (uint64_t i = 0; i < messages; ++i) {
    write_stamp(m.payload(), monotonic_ns());
    send(q, m, o.size);
  }
  WorkerReport report;
  report.messages = messages;
  report.last_ns = monotonic_ns();
  return report;
}

WorkerReport consume(const BenchOptions& o, int q, SharedCounter& shared, StartGate& gate) {
  SysvMessage m(o.size);
  gate.ready();
  WorkerReport report;
  for (;;) {
    const std::size_t n = receive(q, m);
    const int64_t now = monotonic_ns();
    if (m.type() == kStopType) return report;
    if (n != o.size)
      throw BenchFailure("the queue returned a message of " + std::to_string(n) + " bytes");
    record_latency(report.latency, now, read_stamp(m.payload()));
    ++report.messages;
    report.last_ns = now;
    if (o.consumers == 1) {
      if (report.messages >= o.count) return report;
    } else if (shared.add(1) >= o.count) {
      SysvMessage stop(8);
      stop.set_type(kStopType);
      for (uint32_t i = 1; i < o.consumers; ++i) send(q, stop, 8);
      return report;
    }
  }
}

// =========================================================================
// Ping-pong
// =========================================================================

WorkerReport ping(const BenchOptions& o, int out, int back, StartGate& gate) {
  SysvMessage m(o.size);
  m.set_type(1);
  SysvMessage echo(o.size);
  gate.ready();
  WorkerReport report;
  for (uint64_t i = 0; i < o.count; ++i) {
    const int64_t sent = monotonic_ns();
    write_stamp(m.payload(), sent);
    send(out, m, o.size);
    const std::size_t n = receive(back, echo);
    const int64_t now = monotonic_ns();
    if (n != o.size || read_stamp(echo.payload()) != sent)
      throw BenchFailure("the pong queue returned a message that is not the echo");
    record_latency(report.latency, now, sent);
    ++report.messages;
    report.last_ns = now;
  }
  return report;
}

WorkerReport pong(const BenchOptions& o, int in, int out, StartGate& gate) {
  SysvMessage m(o.size);
  gate.ready();
  WorkerReport report;
  for (uint64_t i = 0; i < o.count; ++i) {
    const std::size_t n = receive(in, m);
    send(out, m, n);
    ++report.messages;
  }
  report.last_ns = monotonic_ns();
  return report;
}

void check_size(const BenchOptions& o) {
  const uint64_t msgmax = read_sysctl("/proc/sys/kernel/msgmax", kDefaultMsgmax);
  if (o.size > msgmax)
    throw BenchFailure("--size: SysV messages are at most " + std::to_string(msgmax) +
                       " bytes (kernel.msgmax), got " + std::to_string(o.size));
}

}  // namespace

Measurement run_sysv_throughput(const BenchOptions& o) {
  check_size(o);
  SysvQueue q;
  const uint64_t qbytes =
      q.raise_qbytes(o.count > kWantedQbytes / o.size ? kWantedQbytes : o.count * o.size);
  SharedCounter received;
  std::vector<Worker> workers;
  for (uint32_t i = 0; i < o.producers; ++i) {
    const uint64_t n = share_of(o.count, o.producers, i);
    workers.push_back({"producer " + std::to_string(i + 1),
                       [&o, &q, n](StartGate& g) { return produce(o, q.id(), n, g); }});
  }
  for (uint32_t i = 0; i < o.consumers; ++i) {
    workers.push_back({"consumer " + std::to_string(i + 1), [&o, &q, &received](StartGate& g) {
                         return consume(o, q.id(), received, g);
                       }});
  }
  Measurement m = throughput_of(run_workers(std::move(workers)), o.producers);
  m.sysv_qbytes = qbytes;
  return m;
}

Measurement run_sysv_pingpong(const BenchOptions& o) {
  check_size(o);
  SysvQueue ping_queue, pong_queue;
  std::vector<Worker> workers;
  workers.push_back(
      {"pinger", [&](StartGate& g) { return ping(o, ping_queue.id(), pong_queue.id(), g); }});
  workers.push_back(
      {"ponger", [&](StartGate& g) { return pong(o, ping_queue.id(), pong_queue.id(), g); }});
  return pingpong_of(run_workers(std::move(workers)), 0);
}

}  // namespace postbox::cli::bench
