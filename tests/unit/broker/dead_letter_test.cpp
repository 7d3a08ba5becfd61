// Tests for dead letters (broker/queue_jobs.cpp, QueueStore::dead_letter): max_deliveries,
// reject and TTL expiry send a message to the dead-letter queue with its history, or discard it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/clock.hpp"
#include "broker/store.hpp"
#include "job_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;
using Ids = std::vector<uint64_t>;

constexpr uint32_t kCeiling = 1u << 24;

// The store's queues run on the real clock: leases long enough never to expire in a test.
config::QueueLimits store_defaults() {
  config::QueueLimits l = make_limits(1000);
  l.lease_ms = 600'000;
  return l;
}

struct StoreFixture {
  StoreFixture() : store(store_defaults(), kCeiling) {}

  Queue& declare(std::string name, uint32_t max_deliveries, std::string dead_letter,
                 uint64_t max_messages = 1000) {
    DeclareSpec spec;
    spec.name = std::move(name);
    spec.max_deliveries = max_deliveries;
    spec.dead_letter = std::move(dead_letter);
    spec.max_messages = max_messages;
    const DeclareResult r = store.declare(spec, kAlice, 0);
    EXPECT_EQ(r.code, Errc::ok) << r.error;
    return *r.queue;
  }
  Errc send(Queue& q, std::initializer_list<Job> jobs) {
    Batch b = make_jobs(jobs, steady_ns());
    uint64_t first = 0;
    return q.send(b, kAlice, first);
  }
  std::vector<Seen> lease(Queue& q, uint32_t max_count = 1) {
    SeenRecorder r(&holder);
    EXPECT_EQ(q.receive(ack_mode(holder, max_count), kBob, r), Errc::ok);
    return r.got;
  }
  std::vector<Seen> take(Queue& q) {
    SeenRecorder r;
    q.receive(take_all(), kBob, r);
    return r.got;
  }
  Message& leased(uint64_t tag) {
    Message* m = holder.find(tag);
    if (!m) throw std::runtime_error("no lease with tag " + std::to_string(tag));
    return *m;
  }

  QueueStore store;
  TestHolder holder;  // after the store: returns its leases while the queues exist
};

uint64_t decimal(const std::string& s) {
  EXPECT_FALSE(s.empty());
  return s.empty() ? 0 : std::stoull(s);
}

TEST(DeadLetter, MaxDeliveriesSendsTheMessageOnWithItsHistory) {
  StoreFixture f;
  Queue& jobs = f.declare("jobs", 2, "dlq");
  Queue& dlq = f.declare("dlq", 0, "");
  ASSERT_EQ(f.send(jobs, {{.type = 7, .priority = 3, .payload = "work", .header = "kept"}}),
            Errc::ok);

  const std::vector<Seen> first = f.lease(jobs);
  ASSERT_EQ(first.size(), 1u);
  jobs.nack(f.leased(first[0].tag), 0, std::nullopt);
  EXPECT_EQ(dlq.depth(), 0u) << "one delivery is below the limit";
  const std::vector<Seen> second = f.lease(jobs);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].delivery_count, 2u);
  const uint64_t before = realtime_ns();
  jobs.nack(f.leased(second[0].tag), 0, std::nullopt);
  const uint64_t after = realtime_ns();

  QueueStats st = jobs.stats();
  EXPECT_EQ(st.dead_lettered_total, 1u);
  EXPECT_EQ(st.discarded_total, 0u);
  EXPECT_EQ(st.depth + st.leased + st.delayed, 0u);
  EXPECT_EQ(f.holder.count(), 0u);

  const std::vector<Seen> dead = f.take(dlq);
  ASSERT_EQ(dead.size(), 1u);
  const Seen& d = dead[0];
  EXPECT_EQ(d.type, 7);
  EXPECT_EQ(d.priority, 3);
  EXPECT_EQ(d.payload, "work");
  EXPECT_EQ(d.sender_pid, kAlice.pid) << "the dead-letter queue keeps the original sender";
  EXPECT_EQ(d.enqueue_time_ns, first[0].enqueue_time_ns) << "and the original enqueue time";
  EXPECT_EQ(d.delivery_count, 1u) << "delivery count restarts in the dead-letter queue";
  EXPECT_NE(d.id, first[0].id);
  EXPECT_EQ(header_of(d.properties, "h"), "kept") << "the original properties come first";
  EXPECT_EQ(header_of(d.properties, "x-death-queue"), "jobs");
  EXPECT_EQ(header_of(d.properties, "x-death-reason"), "max_deliveries");
  EXPECT_EQ(header_of(d.properties, "x-death-count"), "2");
  const uint64_t when = decimal(header_of(d.properties, "x-death-time-ns"));
  EXPECT_GE(when, before);
  EXPECT_LE(when, after);
  EXPECT_EQ(decimal(header_of(d.properties, "x-first-enqueue-ns")), first[0].enqueue_time_ns);
  EXPECT_EQ(dlq.stats().sent_total, 1u);
}

TEST(DeadLetter, HistoryIsAppendedAfterTheOriginalEntries) {
  StoreFixture f;
  Queue& jobs = f.declare("jobs", 0, "dlq");
  Queue& dlq = f.declare("dlq", 0, "");
  ASSERT_EQ(f.send(jobs, {{.key = "k1", .header = "kept"}}), Errc::ok);
  const std::vector<Seen> got = f.lease(jobs);
  jobs.reject(f.leased(got.at(0).tag));
  const std::vector<Seen> dead = f.take(dlq);
  ASSERT_EQ(dead.size(), 1u);
  auto p = proto::decode_properties(
      {reinterpret_cast<const std::byte*>(dead[0].properties.data()), dead[0].properties.size()});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->dedup_key, "k1");
  std::vector<std::string> keys;
  for (auto& [k, v] : p->headers) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"h", "x-death-queue", "x-death-reason", "x-death-count",
                                            "x-death-time-ns", "x-first-enqueue-ns"}));
  EXPECT_TRUE(dead[0].properties.starts_with(got[0].properties)) << "original bytes unchanged";
}

TEST(DeadLetter, RejectGoesStraightToTheDeadLetterQueue) {
  StoreFixture f;
  Queue& jobs = f.declare("jobs", 0, "dlq");
  Queue& dlq = f.declare("dlq", 0, "");
  ASSERT_EQ(f.send(jobs, {{.payload = "bad"}}), Errc::ok);
  const std::vector<Seen> got = f.lease(jobs);
  jobs.reject(f.leased(got.at(0).tag));
  EXPECT_EQ(jobs.stats().dead_lettered_total, 1u);
  EXPECT_EQ(jobs.stats().leased, 0u);
  EXPECT_EQ(f.holder.ended, 1);
  const std::vector<Seen> dead = f.take(dlq);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].payload, "bad");
  EXPECT_EQ(header_of(dead[0].properties, "x-death-reason"), "rejected");
  EXPECT_EQ(header_of(dead[0].properties, "x-death-count"), "1");
}

TEST(DeadLetter, ReturnAtTheLimitDeadLettersToo) {
  StoreFixture f;
  Queue& jobs = f.declare("jobs", 1, "dlq");
  Queue& dlq = f.declare("dlq", 0, "");
  ASSERT_EQ(f.send(jobs, {{}}), Errc::ok);
  const std::vector<Seen> got = f.lease(jobs);
  jobs.return_lease(f.leased(got.at(0).tag));  // its connection closed
  EXPECT_EQ(jobs.depth(), 0u);
  const std::vector<Seen> dead = f.take(dlq);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(header_of(dead[0].properties, "x-death-reason"), "max_deliveries");
}

TEST(DeadLetter, LeaseExpiryAtTheLimitDeadLetters) {
  config::QueueLimits l = job_limits();
  l.max_deliveries = 2;
  l.dead_letter = "dlq";
  JobFixture f(l);
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [first, one] = f.lease(1, 100);
  f.clock.advance_ms(100);
  f.queue.advance();
  EXPECT_TRUE(f.clock.dead.empty()) << "one delivery of two";
  auto [second, two] = f.lease(1, 100);
  ASSERT_EQ(two.size(), 1u);
  f.clock.advance_ms(100);
  f.queue.advance();
  ASSERT_EQ(f.clock.dead.size(), 1u);
  EXPECT_EQ(f.clock.dead[0].why, DeathReason::max_deliveries);
  EXPECT_EQ(f.clock.dead[0].message->delivery_count, 2u);
  const QueueStats st = f.queue.stats();
  EXPECT_EQ(st.lease_expired_total, 2u);
  EXPECT_EQ(st.dead_lettered_total, 1u);
  EXPECT_EQ(st.depth + st.leased, 0u);
}

TEST(DeadLetter, DeadLetterWakesAWaiterOnTheDeadLetterQueue) {
  StoreFixture f;
  Queue& jobs = f.declare("jobs", 0, "dlq");
  Queue& dlq = f.declare("dlq", 0, "");
  TestReceiver watcher;
  dlq.wait_receive(watcher);
  ASSERT_EQ(f.send(jobs, {{}}), Errc::ok);
  const std::vector<Seen> got = f.lease(jobs);
  jobs.reject(f.leased(got.at(0).tag));
  EXPECT_EQ(watcher.result, Errc::ok);
  EXPECT_EQ(watcher.got.size(), 1u);
}

TEST(DeadLetter, RejectFreesRoomForABlockedSender) {
  StoreFixture f;
  Queue& jobs = f.declare("jobs", 0, "dlq", 1);
  f.declare("dlq", 0, "");
  ASSERT_EQ(f.send(jobs, {{}}), Errc::ok);
  const std::vector<Seen> got = f.lease(jobs);
  TestSender blocked(make_jobs({{}}, steady_ns()));
  jobs.wait_send(blocked);
  jobs.reject(f.leased(got.at(0).tag));
  EXPECT_EQ(blocked.result, Errc::ok);
}

TEST(DeadLetter, WithoutADeadLetterQueueTheMessageIsDiscarded) {
  JobFixture f;  // dead_letter ""
  f.clock.accept_dead_letters = true;
  ASSERT_EQ(f.send({{}, {}, {.ttl_ms = 10}}), Errc::ok);
  auto [code, got] = f.lease(1);
  f.queue.reject(f.leased(got.at(0).tag));
  EXPECT_TRUE(f.clock.dead.empty()) << "services are not asked when the queue names none";
  EXPECT_EQ(f.queue.stats().discarded_total, 1u);
  EXPECT_EQ(f.queue.stats().dead_lettered_total, 0u);
  f.clock.advance_ms(10);
  f.queue.advance();
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
  EXPECT_EQ(f.queue.stats().discarded_total, 2u);
  EXPECT_TRUE(f.clock.dead.empty());
  EXPECT_EQ(f.drain(), Ids{2});
}

TEST(DeadLetter, MaxDeliveriesWithoutADeadLetterQueueDiscards) {
  config::QueueLimits l = job_limits();
  l.max_deliveries = 1;
  JobFixture f(l);
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1);
  f.queue.nack(f.leased(got.at(0).tag), 0, std::nullopt);
  EXPECT_EQ(f.queue.stats().discarded_total, 1u);
  EXPECT_EQ(f.queue.stats().nacked_total, 1u);
  EXPECT_EQ(f.queue.depth(), 0u);
}

TEST(DeadLetter, MissingDeadLetterQueueDiscards) {
  StoreFixture f;
  Queue& jobs = f.declare("jobs", 0, "nowhere");
  ASSERT_EQ(f.send(jobs, {{}}), Errc::ok);
  const std::vector<Seen> got = f.lease(jobs);
  jobs.reject(f.leased(got.at(0).tag));
  EXPECT_EQ(jobs.stats().discarded_total, 1u);
  EXPECT_EQ(jobs.stats().dead_lettered_total, 0u);
  EXPECT_EQ(jobs.stats().leased, 0u);
}

TEST(DeadLetter, FullDeadLetterQueueDiscards) {
  StoreFixture f;
  Queue& jobs = f.declare("jobs", 0, "dlq");
  Queue& dlq = f.declare("dlq", 0, "", 1);
  ASSERT_EQ(f.send(dlq, {{.payload = "old"}}), Errc::ok);
  ASSERT_EQ(f.send(jobs, {{}}), Errc::ok);
  const std::vector<Seen> got = f.lease(jobs);
  jobs.reject(f.leased(got.at(0).tag));
  EXPECT_EQ(jobs.stats().discarded_total, 1u);
  EXPECT_EQ(jobs.stats().dead_lettered_total, 0u);
  const std::vector<Seen> left = f.take(dlq);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].payload, "old");
}

TEST(DeadLetter, ServicesRefusingMeansDiscarded) {
  config::QueueLimits l = job_limits();
  l.dead_letter = "dlq";
  JobFixture f(l);
  f.clock.accept_dead_letters = false;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1);
  f.queue.reject(f.leased(got.at(0).tag));
  EXPECT_EQ(f.queue.stats().discarded_total, 1u);
  EXPECT_EQ(f.queue.stats().dead_lettered_total, 0u);
}

TEST(DeadLetter, ExpiredTtlIsDeadLetteredAsExpired) {
  StoreFixture f;
  Queue& dlq = f.declare("dlq", 0, "");
  // The source runs on the fake clock and hands its dead letters to the store.
  config::QueueLimits l = job_limits();
  l.dead_letter = "dlq";
  JobFixture src(l, "src");
  src.clock.forward_to = &f.store;
  ASSERT_EQ(src.send({{.payload = "stale", .ttl_ms = 100}, {.payload = "fresh"}}), Errc::ok);
  EXPECT_EQ(src.clock.scheduled(), src.clock.now + 100 * kMs) << "the TTL is a deadline";
  src.clock.advance_ms(100);
  src.queue.advance();
  const QueueStats st = src.queue.stats();
  EXPECT_EQ(st.expired_total, 1u);
  EXPECT_EQ(st.dead_lettered_total, 1u);
  EXPECT_EQ(st.depth, 1u);
  EXPECT_EQ(src.clock.scheduled(), 0u);

  const std::vector<Seen> dead = f.take(dlq);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].payload, "stale");
  EXPECT_EQ(header_of(dead[0].properties, "x-death-queue"), "src");
  EXPECT_EQ(header_of(dead[0].properties, "x-death-reason"), "expired");
  EXPECT_EQ(header_of(dead[0].properties, "x-death-count"), "0") << "never delivered";
}

TEST(DeadLetter, DeadLetterIsStampedBeforeServicesTakeIt) {
  config::QueueLimits l = job_limits();
  l.dead_letter = "dlq";
  JobFixture f(l);
  ASSERT_EQ(f.send({{.payload = "p", .delay_ms = 50, .ttl_ms = 20}}), Errc::ok);
  f.clock.advance_ms(20);
  f.queue.advance();
  ASSERT_EQ(f.clock.dead.size(), 1u);
  const FakeServices::DeadLetter& d = f.clock.dead[0];
  EXPECT_EQ(d.why, DeathReason::expired);
  EXPECT_EQ(d.message->expires_ns, 0u) << "no TTL follows it into the dead-letter queue";
  EXPECT_EQ(d.message->due_ns, 0u) << "nor a delay";
  EXPECT_EQ(d.message->lease_tag, 0u);
  const std::string props(reinterpret_cast<const char*>(d.message->properties().data()),
                          d.message->props_size);
  EXPECT_EQ(header_of(props, "x-death-reason"), "expired");
  EXPECT_EQ(f.queue.stats().delayed, 0u) << "it expired while delayed";
  EXPECT_EQ(f.queue.stats().dead_lettered_total, 1u);
}

TEST(DeadLetter, DeadLetteringFreesTheDedupKey) {
  config::QueueLimits l = job_limits();
  l.dead_letter = "dlq";
  JobFixture f(l);
  ASSERT_EQ(f.send({{.key = "once"}}), Errc::ok);
  auto [code, got] = f.lease(1);
  f.queue.reject(f.leased(got.at(0).tag));
  ASSERT_EQ(f.send({{.key = "once"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty()) << "the key left with the dead letter";
  EXPECT_EQ(f.queue.depth(), 1u);
}

// A message may expire on arrival (a blocked sender admitted late): its dead
// letter takes an id from the shared counter, but not from the batch's range.
TEST(DeadLetter, ExpiredOnArrivalKeepsTheBatchsIdsConsecutive) {
  StoreFixture f;
  Queue& jobs = f.declare("jobs", 0, "dlq");
  Queue& dlq = f.declare("dlq", 0, "");
  Batch b = make_jobs({{.payload = "stale"}, {.payload = "a"}, {.payload = "b"}}, steady_ns());
  b.messages[0]->expires_ns = 1;  // long past
  uint64_t first = 0;
  ASSERT_EQ(jobs.send(b, kAlice, first), Errc::ok);
  EXPECT_EQ(ids_of(f.take(jobs)), (Ids{first + 1, first + 2})) << "SEND_OK says first..first+2";
  const std::vector<Seen> dead = f.take(dlq);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].payload, "stale");
  EXPECT_GT(dead[0].id, first + 2);
}

TEST(DeadLetter, ToString) {
  EXPECT_EQ(to_string(DeathReason::rejected), "rejected");
  EXPECT_EQ(to_string(DeathReason::max_deliveries), "max_deliveries");
  EXPECT_EQ(to_string(DeathReason::expired), "expired");
}

}  // namespace
}  // namespace postbox::broker
