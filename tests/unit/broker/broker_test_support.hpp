// Test helpers for the broker core: message and batch builders, recording deliveries and waiters.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/queue.hpp"

namespace postbox::proto {
// Readable failures: "queue_full" rather than a byte dump.
inline void PrintTo(Errc e, std::ostream* os) {
  *os << to_string(e);
}
}  // namespace postbox::proto

namespace postbox::broker::test {

inline constexpr Credentials kAlice{100, 1000, 1000};
inline constexpr Credentials kBob{200, 1001, 1001};

struct Msg {
  int64_t type = 1;
  uint8_t priority = 0;
  std::size_t size = 8;  // payload bytes
};

inline MessagePtr make_message(const Msg& spec, std::string properties = {}) {
  auto m = std::make_unique<Message>();
  m->type = spec.type;
  m->priority = spec.priority;
  m->props_size = static_cast<uint32_t>(properties.size());
  m->data = std::move(properties) + std::string(spec.size, 'x');
  return m;
}

inline Batch make_batch(std::initializer_list<Msg> specs) {
  Batch b;
  for (const Msg& s : specs) {
    b.messages.push_back(make_message(s));
    b.payload_bytes += s.size;
  }
  return b;
}

inline config::QueueLimits make_limits(uint64_t max_messages, uint64_t max_bytes = 1u << 20,
                                       uint32_t max_message_size = 1u << 16,
                                       config::Overflow overflow = config::Overflow::reject) {
  config::QueueLimits l;
  l.max_messages = max_messages;
  l.max_bytes = max_bytes;
  l.max_message_size = max_message_size;
  l.overflow = overflow;
  return l;
}

/// What one deliver() call saw.
struct Delivered {
  uint64_t id = 0;
  int64_t type = 0;
  uint8_t priority = 0;
  uint32_t payload_size = 0;
  uint32_t delivery_count = 0;
  uint64_t depth_during = 0;  // the queue's depth while deliver() ran
};

inline std::vector<uint64_t> ids_of(const std::vector<Delivered>& got) {
  std::vector<uint64_t> ids;
  for (const Delivered& d : got) ids.push_back(d.id);
  return ids;
}

inline Delivered record(const Message& m, uint32_t payload_size, const Queue* q) {
  return {m.id, m.type, m.priority, payload_size, m.delivery_count, q ? q->depth() : 0};
}

class Recorder : public Delivery {
 public:
  explicit Recorder(const Queue* q = nullptr) : queue_(q) {}
  void deliver(const Message& m, uint32_t payload_size) override {
    got.push_back(record(m, payload_size, queue_));
  }
  std::vector<Delivered> got;

 private:
  const Queue* queue_;
};

class TestReceiver final : public ReceiveWaiter {
 public:
  explicit TestReceiver(ReceiveSpec s = {}, Credentials c = kBob, const Queue* q = nullptr)
      : queue_(q) {
    spec = s;
    who = c;
  }
  void deliver(const Message& m, uint32_t payload_size) override {
    got.push_back(record(m, payload_size, queue_));
  }
  void finished(Errc r) override {
    EXPECT_FALSE(is_linked()) << "finished() called while still linked";
    result = r;
    if (on_finished) on_finished();
  }
  bool may_deliver() const override { return !held_back; }
  std::vector<Delivered> got;
  std::optional<Errc> result;
  std::function<void()> on_finished;
  bool held_back = false;  // as a connection over its output limit

 private:
  const Queue* queue_;
};

class TestSender final : public SendWaiter {
 public:
  explicit TestSender(Batch b, Credentials c = kAlice) {
    batch = std::move(b);
    who = c;
  }
  void finished(Errc r, uint64_t first, uint32_t n) override {
    EXPECT_FALSE(is_linked()) << "finished() called while still linked";
    result = r;
    first_id = first;
    count = n;
    if (on_finished) on_finished();
  }
  std::optional<Errc> result;
  uint64_t first_id = 0;
  uint32_t count = 0;
  std::function<void()> on_finished;
};

/// A queue with its own id counter, for tests.
struct QueueFixture {
  explicit QueueFixture(config::QueueLimits limits = make_limits(1000))
      : queue("q", QueueAttributes{limits, Ownership{1000, 1000, 0600}}, next_id, 0) {}

  Errc send(std::initializer_list<Msg> specs, Credentials who = kAlice) {
    Batch b = make_batch(specs);
    return queue.send(b, who, last_first_id);
  }
  std::pair<Errc, std::vector<Delivered>> receive(ReceiveSpec spec, Credentials who = kBob) {
    Recorder r(&queue);
    const Errc e = queue.receive(spec, who, r);
    return {e, r.got};
  }
  std::pair<Errc, std::vector<uint64_t>> receive_ids(ReceiveSpec spec) {
    auto [e, got] = receive(spec);
    return {e, ids_of(got)};
  }

  uint64_t next_id = 1;
  uint64_t last_first_id = 0;
  Queue queue;
};

inline ReceiveSpec select_type(int64_t type, bool except = false, uint32_t max_count = 1) {
  ReceiveSpec s;
  s.selector = {type, except};
  s.max_count = max_count;
  return s;
}

}  // namespace postbox::broker::test
