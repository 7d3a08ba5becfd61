// Selection cost with a deep queue: each msgrcv form must stay O(log n) beside 1,000,000 messages.
//
// Each iteration sends one message and receives it again, so the depth stays
// constant; the time includes building the Message, as a real SEND does.
// Run with --benchmark_repetitions=5 and read the medians.
#include <benchmark/benchmark.h>

#include <sys/ipc.h>
#include <sys/msg.h>

#include <cstring>
#include <memory>
#include <random>

#include "broker/queue.hpp"

namespace postbox::broker {
namespace {

constexpr uint64_t kDeep = 1'000'000;
constexpr std::size_t kBackgroundPayload = 16;
constexpr std::size_t kSmallPayload = 64;

class Sink final : public Delivery {
 public:
  void deliver(const Message& m, uint32_t payload_size) override {
    benchmark::DoNotOptimize(m.id);
    benchmark::DoNotOptimize(payload_size);
  }
};

constexpr Credentials kWho{1, 1000, 1000};

MessagePtr make(int64_t type, uint8_t priority, std::size_t payload) {
  auto m = std::make_unique<Message>();
  m->type = type;
  m->priority = priority;
  m->data.assign(payload, 'x');
  return m;
}

struct Bench {
  Bench() : queue("bench", attrs(), next_id, 0) {}

  static QueueAttributes attrs() {
    QueueAttributes a;
    a.limits.max_messages = 2 * kDeep;
    a.limits.max_bytes = 1ull << 40;
    return a;
  }

  void send(int64_t type, uint8_t priority, std::size_t payload) {
    batch.messages.push_back(make(type, priority, payload));
    batch.payload_bytes = payload;
    uint64_t first = 0;
    if (queue.send(batch, kWho, first) != Errc::ok) std::abort();
  }

  void receive(int64_t type, bool except = false) {
    ReceiveSpec spec;
    spec.selector = {type, except};
    if (queue.receive(spec, kWho, sink) != Errc::ok) std::abort();
  }

  uint64_t next_id = 1;
  Queue queue;
  Batch batch;
  Sink sink;
};

// 1,000,000 messages of types 1000..1999, priorities 0..9: none of the types the benchmarks take.
Bench& many_types() {
  static Bench* b = [] {
    auto* fresh = new Bench;
    std::mt19937 rng(42);
    for (uint64_t i = 0; i < kDeep; ++i) {
      fresh->send(1000 + static_cast<int64_t>(rng() % 1000), static_cast<uint8_t>(rng() % 10),
                  kBackgroundPayload);
    }
    return fresh;
  }();
  return *b;
}

// 1,000,000 messages of type 1 at priority 9, ahead of anything the benchmark sends.
Bench& one_type() {
  static Bench* b = [] {
    auto* fresh = new Bench;
    for (uint64_t i = 0; i < kDeep; ++i) fresh->send(1, 9, kBackgroundPayload);
    return fresh;
  }();
  return *b;
}

void BM_ReceiveRareType(benchmark::State& state) {
  Bench& b = many_types();
  for (auto _ : state) {
    b.send(7, 0, kSmallPayload);
    b.receive(7);
  }
}
BENCHMARK(BM_ReceiveRareType);

void BM_ReceiveNegativeType(benchmark::State& state) {
  Bench& b = many_types();
  for (auto _ : state) {
    b.send(5, 0, kSmallPayload);
    b.receive(-10);
  }
}
BENCHMARK(BM_ReceiveNegativeType);

void BM_ReceiveExcept(benchmark::State& state) {
  // The one other-typed message ranks last: a scan of queue order would pass 1,000,000.
  Bench& b = one_type();
  for (auto _ : state) {
    b.send(2, 0, kSmallPayload);
    b.receive(1, true);
  }
}
BENCHMARK(BM_ReceiveExcept);

void BM_TypeZeroPushPopDeep(benchmark::State& state) {
  Bench& b = many_types();
  for (auto _ : state) {
    b.send(1500, 5, kSmallPayload);
    b.receive(0);
  }
}
BENCHMARK(BM_TypeZeroPushPopDeep);

void BM_PushPop64Bytes(benchmark::State& state) {
  Bench b;
  for (auto _ : state) {
    b.send(1, 0, kSmallPayload);
    b.receive(0);
  }
}
BENCHMARK(BM_PushPop64Bytes);

// The reference, measured in the same run: a Linux SysV queue's typed
// msgrcv scans linearly past every message of another type. Empty messages
// let the most fit: the kernel caps a queue at msg_qbytes messages (16384 by
// default, kernel.msgmnb) and only CAP_SYS_RESOURCE may raise it, to 100,000 here.
void BM_SysvReceiveRareType(benchmark::State& state) {
  const int q = ::msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  msqid_ds ds{};
  if (q < 0 || ::msgctl(q, IPC_STAT, &ds) != 0) {
    state.SkipWithError("msgget failed");
    return;
  }
  const msglen_t granted = ds.msg_qbytes;
  ds.msg_qbytes = 100'001;
  if (::msgctl(q, IPC_SET, &ds) != 0) ds.msg_qbytes = granted;
  const long depth = static_cast<long>(ds.msg_qbytes) - 1;
  struct {
    long mtype;
    char mtext[1];
  } msg{1, {}};
  for (long i = 0; i < depth; ++i) ::msgsnd(q, &msg, 0, IPC_NOWAIT);
  for (auto _ : state) {
    msg.mtype = 7;
    ::msgsnd(q, &msg, 0, IPC_NOWAIT);
    benchmark::DoNotOptimize(::msgrcv(q, &msg, 0, 7, IPC_NOWAIT));
  }
  state.SetLabel("kernel queue depth " + std::to_string(depth));
  ::msgctl(q, IPC_RMID, nullptr);
}
BENCHMARK(BM_SysvReceiveRareType)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace postbox::broker

BENCHMARK_MAIN();
