// Test helpers for job dispatch in the queue core: a fake clock that records what the
// queue schedules and the dead letters it hands over, lease holders, jobs with
// properties (dedup keys, headers, due times, TTLs) and a recorder of leased deliveries.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "broker/lease.hpp"
#include "broker/queue.hpp"
#include "broker_test_support.hpp"
#include "proto/properties.hpp"

namespace postbox::broker::test {

inline constexpr uint64_t kMs = 1'000'000;
/// Where the fake clock starts: far from 0, which the queue reads as "none".
inline constexpr uint64_t kStartNs = 1'000'000 * kMs;

/// The queue's collaborators with time under the test's control. schedule()
/// records every announcement; dead letters are kept in `dead` (or, with
/// forward_to set, routed there, e.g. to a QueueStore holding the dead-letter queue).
class FakeServices : public QueueServices {
 public:
  struct DeadLetter {
    MessagePtr message;
    DeathReason why;
  };

  uint64_t now_ns() const override { return now; }
  void schedule(Queue&, uint64_t when_ns) override { announced.push_back(when_ns); }
  bool dead_letter(Queue& from, MessagePtr& m, DeathReason why) override {
    if (forward_to) return forward_to->dead_letter(from, m, why);
    if (!accept_dead_letters) return false;
    dead.push_back({std::move(m), why});
    return true;
  }

  void advance_ms(uint64_t ms) { now += ms * kMs; }
  /// What schedule() was last told; 0 when it was told nothing or "nothing due".
  uint64_t scheduled() const { return announced.empty() ? 0 : announced.back(); }

  uint64_t now = kStartNs;
  std::vector<uint64_t> announced;
  std::vector<DeadLetter> dead;
  bool accept_dead_letters = true;
  QueueServices* forward_to = nullptr;
};

/// A lease holder that returns what it still holds when destroyed, as a
/// connection does when it closes (so a test may declare it after the queue).
class TestHolder final : public LeaseHolder {
 public:
  TestHolder() = default;
  ~TestHolder() {
    while (Message* m = any()) m->leased_from->return_lease(*m);
  }
  void lease_ended() override { ++ended; }
  int ended = 0;
};

/// A job as a v2 SEND carries it; the scheduling fields are set on the
/// Message the way the send handler does (steady-clock ns, key as a range of
/// the properties section).
struct Job {
  int64_t type = 1;
  uint8_t priority = 0;
  std::string payload = "job";
  std::string key{};        // dedup key; empty: none
  uint64_t delay_ms = 0;    // due this long after `now`; 0: ready at once
  uint64_t ttl_ms = 0;      // expires this long after `now`; 0: no TTL of its own
  std::string header{};     // one header "h" with this value when non-empty
  uint32_t sender_pid = 0;  // kept only by keep_origin batches (move, dead letters)
};

inline MessagePtr make_job(const Job& j, uint64_t now) {
  proto::Properties p;
  if (!j.key.empty()) p.dedup_key = j.key;
  if (!j.header.empty()) p.headers.emplace_back("h", j.header);
  const std::vector<std::byte> tlv = proto::encode_properties(p);
  auto m = std::make_unique<Message>();
  m->type = j.type;
  m->priority = j.priority;
  m->props_size = static_cast<uint32_t>(tlv.size());
  m->data.assign(reinterpret_cast<const char*>(tlv.data()), tlv.size());
  m->data += j.payload;
  proto::Scheduling sc;
  EXPECT_EQ(proto::find_scheduling(m->properties(), sc), "");
  if (!sc.dedup_key.empty()) {
    m->key_offset = static_cast<uint32_t>(sc.dedup_key_offset);
    m->key_size = static_cast<uint32_t>(sc.dedup_key.size());
  }
  if (j.delay_ms) m->due_ns = now + j.delay_ms * kMs;
  if (j.ttl_ms) m->expires_ns = now + j.ttl_ms * kMs;
  m->sender_pid = j.sender_pid;
  return m;
}

inline Batch make_jobs(std::initializer_list<Job> jobs, uint64_t now) {
  Batch b;
  for (const Job& j : jobs) {
    b.messages.push_back(make_job(j, now));
    b.payload_bytes += j.payload.size();
  }
  return b;
}

/// What one deliver() of a (usually leased) message showed.
struct Seen {
  uint64_t id = 0;
  uint64_t tag = 0;
  int64_t type = 0;
  uint8_t priority = 0;
  uint32_t delivery_count = 0;
  uint32_t sender_pid = 0;
  uint64_t enqueue_time_ns = 0;
  bool holder_finds_it = false;  // the lease's holder found this message by its tag
  std::string payload;
  std::string properties;
};

inline Seen seen_of(const Message& m, LeaseHolder* holder) {
  Seen s;
  s.id = m.id;
  s.tag = m.lease_tag;
  s.type = m.type;
  s.priority = m.priority;
  s.delivery_count = m.delivery_count;
  s.sender_pid = m.sender_pid;
  s.enqueue_time_ns = m.enqueue_time_ns;
  s.holder_finds_it = holder && holder->find(m.lease_tag) == &m;
  s.payload.assign(reinterpret_cast<const char*>(m.payload().data()), m.payload_size());
  s.properties.assign(reinterpret_cast<const char*>(m.properties().data()), m.props_size);
  return s;
}

class SeenRecorder final : public Delivery {
 public:
  explicit SeenRecorder(LeaseHolder* holder = nullptr) : holder_(holder) {}
  void deliver(const Message& m, uint32_t) override { got.push_back(seen_of(m, holder_)); }
  std::vector<Seen> got;

 private:
  LeaseHolder* holder_;
};

inline std::vector<uint64_t> ids_of(const std::vector<Seen>& got) {
  std::vector<uint64_t> ids;
  for (const Seen& s : got) ids.push_back(s.id);
  return ids;
}

inline std::vector<uint32_t> counts_of(const std::vector<Seen>& got) {
  std::vector<uint32_t> counts;
  for (const Seen& s : got) counts.push_back(s.delivery_count);
  return counts;
}

/// Header `key` of a properties section; empty when absent.
inline std::string header_of(const std::string& properties, const std::string& key) {
  auto p = proto::decode_properties(
      {reinterpret_cast<const std::byte*>(properties.data()), properties.size()});
  EXPECT_TRUE(p.has_value()) << "malformed properties";
  if (!p) return {};
  for (auto& [k, v] : p->headers) {
    if (k == key) return v;
  }
  return {};
}

inline config::QueueLimits job_limits(uint64_t max_messages = 1000) {
  config::QueueLimits l = make_limits(max_messages);
  l.lease_ms = 1000;
  return l;
}

inline ReceiveSpec ack_mode(LeaseHolder& holder, uint32_t max_count = 1, uint32_t lease_ms = 0) {
  ReceiveSpec s;
  s.lease_to = &holder;
  s.max_count = max_count;
  s.lease_ms = lease_ms;
  return s;
}

inline ReceiveSpec take_all() {
  ReceiveSpec s;
  s.max_count = UINT32_MAX;
  return s;
}

/// A queue on the fake clock, with a default lease holder. The clock is
/// declared first (the queue uses it until it is gone); the holder before the
/// queue (the queue ends leases still held when it is destroyed).
struct JobFixture {
  explicit JobFixture(config::QueueLimits limits = job_limits(), std::string name = "q")
      : queue(std::move(name), QueueAttributes{limits, Ownership{1000, 1000, 0600}}, next_id, 0,
              &clock) {}

  /// Sends jobs stamped at the clock's now; duplicates land in `last`.
  Errc send(std::initializer_list<Job> jobs, Credentials who = kAlice) {
    last = make_jobs(jobs, clock.now);
    return queue.send(last, who, first_id);
  }
  /// Ack-mode receive into `holder` (the fixture's by default).
  std::pair<Errc, std::vector<Seen>> lease(uint32_t max_count = 1, uint32_t lease_ms = 0,
                                           TestHolder* to = nullptr) {
    return receive(ack_mode(to ? *to : holder, max_count, lease_ms));
  }
  std::pair<Errc, std::vector<Seen>> receive(const ReceiveSpec& spec, Credentials who = kBob) {
    SeenRecorder r(spec.lease_to);
    const Errc e = queue.receive(spec, who, r);
    return {e, r.got};
  }
  /// Auto-ack receive of everything ready, in queue order.
  std::vector<uint64_t> drain() { return ids_of(receive(take_all()).second); }
  /// The fixture holder's lease with `tag`; throws (failing the test) when there is none.
  Message& leased(uint64_t tag) {
    Message* m = holder.find(tag);
    if (!m) throw std::runtime_error("no lease with tag " + std::to_string(tag));
    return *m;
  }

  FakeServices clock;
  TestHolder holder;
  uint64_t next_id = 1;
  uint64_t first_id = 0;
  Batch last;
  Queue queue;
};

}  // namespace postbox::broker::test
