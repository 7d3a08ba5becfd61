// Tests for time in broker/queue_jobs.cpp: delayed messages, TTLs, and the one deadline a
// queue announces through QueueServices::schedule(), on a fake clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "job_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;
using Ids = std::vector<uint64_t>;

// ---------------------------------------------------------------- delays

TEST(QueueDelay, DelayedMessageIsInvisibleUntilDue) {
  JobFixture f;
  ASSERT_EQ(f.send({{.delay_ms = 100}, {}}), Errc::ok);
  const uint64_t due = f.clock.now + 100 * kMs;
  QueueStats st = f.queue.stats();
  EXPECT_EQ(st.depth, 1u);
  EXPECT_EQ(st.delayed, 1u);
  EXPECT_EQ(f.drain(), Ids{2});
  ReceiveSpec peek = take_all();
  peek.peek = true;
  EXPECT_EQ(f.receive(peek).first, Errc::no_message) << "not even a peek sees it";
  f.clock.now = due - 1;
  EXPECT_EQ(f.receive(take_all()).first, Errc::no_message);
  f.clock.now = due;
  EXPECT_EQ(ids_of(f.receive(peek).second), Ids{1});
  EXPECT_EQ(f.drain(), Ids{1});
  EXPECT_EQ(f.queue.stats().delayed, 0u);
}

TEST(QueueDelay, DueMessagesAreOrderedByPriorityAndIdAmongReadyOnes) {
  JobFixture f;
  ASSERT_EQ(f.send({{.priority = 0, .delay_ms = 50},
                    {.priority = 5, .delay_ms = 100},
                    {.priority = 0},
                    {.priority = 5},
                    {.priority = 9, .delay_ms = 100}}),
            Errc::ok);
  f.clock.advance_ms(50);
  f.queue.advance();
  EXPECT_EQ(f.queue.stats().delayed, 2u);
  f.clock.advance_ms(50);
  f.queue.advance();
  EXPECT_EQ(f.queue.stats().delayed, 0u);
  EXPECT_EQ(f.drain(), (Ids{5, 2, 4, 1, 3})) << "id 2 precedes 4 although 4 was ready first";
}

TEST(QueueDelay, DueMessageServesAWaiterOnAdvance) {
  JobFixture f;
  TestReceiver waiter(select_type(4));
  f.queue.wait_receive(waiter);
  ASSERT_EQ(f.send({{.type = 4, .delay_ms = 30}}), Errc::ok);
  EXPECT_FALSE(waiter.result.has_value()) << "a delayed message serves nobody";
  f.clock.advance_ms(30);
  f.queue.advance();
  EXPECT_EQ(waiter.result, Errc::ok);
  EXPECT_EQ(ids_of(waiter.got), Ids{1});
}

TEST(QueueDelay, DueTimeInThePastIsReadyAtOnce) {
  JobFixture f;
  Batch b = make_jobs({{}}, f.clock.now);
  b.messages[0]->due_ns = f.clock.now;  // due exactly now
  ASSERT_EQ(f.queue.send(b, kAlice, f.first_id), Errc::ok);
  EXPECT_EQ(f.queue.stats().delayed, 0u);
  EXPECT_EQ(f.queue.next_deadline(), 0u);
  EXPECT_EQ(f.drain(), Ids{1});
}

TEST(QueueDeadline, ScheduleAnnouncesTheEarliestOfDueTtlAndLease) {
  JobFixture f;
  const uint64_t t0 = f.clock.now;
  EXPECT_EQ(f.queue.next_deadline(), 0u);
  ASSERT_EQ(f.send({{.delay_ms = 300}}), Errc::ok);  // id 1
  EXPECT_EQ(f.queue.next_deadline(), t0 + 300 * kMs);
  ASSERT_EQ(f.send({{.ttl_ms = 200}}), Errc::ok);  // id 2
  EXPECT_EQ(f.queue.next_deadline(), t0 + 200 * kMs);
  auto [code, got] = f.lease(1, 100);  // leases id 2: its TTL waits while it is leased
  ASSERT_EQ(ids_of(got), Ids{2});
  EXPECT_EQ(f.queue.next_deadline(), t0 + 100 * kMs);
  f.queue.ack(f.leased(got[0].tag));
  EXPECT_EQ(f.queue.next_deadline(), t0 + 300 * kMs);
  f.clock.now = t0 + 300 * kMs;
  f.queue.advance();
  EXPECT_EQ(f.queue.next_deadline(), 0u);
  EXPECT_EQ(f.clock.announced, (std::vector<uint64_t>{t0 + 300 * kMs, t0 + 200 * kMs,
                                                      t0 + 100 * kMs, t0 + 300 * kMs, 0}))
      << "announced on every change and only then";
}

TEST(QueueDeadline, AdvanceWithNothingDueChangesNothing) {
  JobFixture f;
  ASSERT_EQ(f.send({{.delay_ms = 10}, {.ttl_ms = 20}, {}}), Errc::ok);
  auto [code, got] = f.lease(1, 30);  // id 2
  const QueueStats before = f.queue.stats();
  const std::size_t announcements = f.clock.announced.size();
  f.clock.now += 10 * kMs - 1;
  f.queue.advance();
  const QueueStats after = f.queue.stats();
  EXPECT_EQ(after.depth, before.depth);
  EXPECT_EQ(after.delayed, before.delayed);
  EXPECT_EQ(after.leased, before.leased);
  EXPECT_EQ(f.clock.announced.size(), announcements) << "no change, no announcement";
}

// Payload-only messages with their due time set directly: the queue core sees
// what the send handler builds, without a properties section to encode.
MessagePtr delayed_message(uint8_t priority, uint64_t due_ns) {
  MessagePtr m = make_message({1, priority, 8});
  m->due_ns = due_ns;
  return m;
}

// Checks that receives come in queue order without keeping them.
class OrderCheck final : public Delivery {
 public:
  void deliver(const Message& m, uint32_t) override {
    if (count > 0 && !(priority > m.priority || (priority == m.priority && id < m.id))) {
      ++out_of_order;
    }
    priority = m.priority;
    id = m.id;
    ++count;
  }
  uint64_t count = 0;
  uint64_t out_of_order = 0;

 private:
  uint8_t priority = 0;
  uint64_t id = 0;
};

TEST(QueueDelay, MillionDelayedMessagesBecomeReadyExactlyWhenDueInOrder) {
  constexpr uint32_t kN = 1'000'000;
  constexpr uint32_t kSlots = 4;  // due 1, 2, 3 or 4 ms from now
  config::QueueLimits l = job_limits(kN);
  l.max_bytes = uint64_t{kN} * 8;
  JobFixture f(l);
  const uint64_t t0 = f.clock.now;
  Batch b;
  b.messages.reserve(kN);
  for (uint32_t i = 0; i < kN; ++i) {
    b.messages.push_back(delayed_message(static_cast<uint8_t>(i % 3), t0 + (1 + i % kSlots) * kMs));
  }
  b.payload_bytes = uint64_t{kN} * 8;
  ASSERT_EQ(f.queue.send(b, kAlice, f.first_id), Errc::ok);
  ASSERT_EQ(f.queue.stats().delayed, kN);
  EXPECT_EQ(f.clock.scheduled(), t0 + 1 * kMs);

  // Nothing due: each advance() looks at the earliest deadline only. Were it
  // to walk the delayed messages, these calls would not finish.
  f.clock.now = t0 + 1 * kMs - 1;
  const std::size_t announcements = f.clock.announced.size();
  for (int i = 0; i < 100'000; ++i) f.queue.advance();
  EXPECT_EQ(f.queue.stats().delayed, kN);
  EXPECT_EQ(f.queue.depth(), 0u);
  EXPECT_EQ(f.clock.announced.size(), announcements);

  for (uint32_t slot = 1; slot <= kSlots; ++slot) {
    f.clock.now = t0 + slot * kMs;
    f.queue.advance();
    EXPECT_EQ(f.queue.depth(), uint64_t{kN} / kSlots * slot) << "slot " << slot;
    EXPECT_EQ(f.queue.stats().delayed, uint64_t{kN} / kSlots * (kSlots - slot));
    EXPECT_EQ(f.clock.scheduled(), slot < kSlots ? t0 + (slot + 1) * kMs : 0);
  }

  ReceiveSpec all = take_all();
  OrderCheck check;
  ASSERT_EQ(f.queue.receive(all, kBob, check), Errc::ok);
  EXPECT_EQ(check.count, kN);
  EXPECT_EQ(check.out_of_order, 0u) << "priority desc, then id, whatever the due times";
}

// ---------------------------------------------------------------- TTL

TEST(QueueTtl, ExpiredMessageIsNeverDeliveredEvenBeforeAdvance) {
  JobFixture f;
  ASSERT_EQ(f.send({{.priority = 9, .ttl_ms = 100}, {}}), Errc::ok);
  f.clock.advance_ms(100);  // the timer has not fired: no advance()
  ReceiveSpec peek = take_all();
  peek.peek = true;
  EXPECT_EQ(ids_of(f.receive(peek).second), Ids{2});
  EXPECT_EQ(f.drain(), Ids{2});
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
  EXPECT_EQ(f.queue.stats().discarded_total, 1u) << "no dead-letter queue";
}

TEST(QueueTtl, UnexpiredMessageIsDeliveredUpToItsLastNanosecond) {
  JobFixture f;
  ASSERT_EQ(f.send({{.ttl_ms = 100}}), Errc::ok);
  f.clock.now += 100 * kMs - 1;
  EXPECT_EQ(f.drain(), Ids{1});
  EXPECT_EQ(f.queue.stats().expired_total, 0u);
}

TEST(QueueTtl, AdvanceExpiresAndServesNothing) {
  JobFixture f;
  ASSERT_EQ(f.send({{.ttl_ms = 40}, {.ttl_ms = 20}}), Errc::ok);
  EXPECT_EQ(f.clock.scheduled(), f.clock.now + 20 * kMs);
  f.clock.advance_ms(20);
  f.queue.advance();
  EXPECT_EQ(f.queue.depth(), 1u);
  EXPECT_EQ(f.clock.scheduled(), f.clock.now + 20 * kMs);
  f.clock.advance_ms(20);
  f.queue.advance();
  EXPECT_EQ(f.queue.depth(), 0u);
  EXPECT_EQ(f.queue.stats().expired_total, 2u);
  EXPECT_EQ(f.clock.scheduled(), 0u);
}

TEST(QueueTtl, QueueDefaultTtlApplies) {
  config::QueueLimits l = job_limits();
  l.ttl_ms = 500;
  JobFixture f(l);
  const uint64_t t0 = f.clock.now;
  ASSERT_EQ(f.send({{}, {.ttl_ms = 100}, {.ttl_ms = 1000}}), Errc::ok);
  EXPECT_EQ(f.queue.next_deadline(), t0 + 100 * kMs);
  f.clock.now = t0 + 100 * kMs;
  f.queue.advance();
  EXPECT_EQ(f.queue.depth(), 2u) << "its own shorter TTL";
  EXPECT_EQ(f.queue.next_deadline(), t0 + 500 * kMs)
      << "the queue's TTL for the one without, and as the bound of a longer one";
  f.clock.now = t0 + 500 * kMs;
  f.queue.advance();
  EXPECT_EQ(f.queue.depth(), 0u);
  EXPECT_EQ(f.queue.stats().expired_total, 3u);
}

TEST(QueueTtl, ExpiresWhileDelayed) {
  JobFixture f;
  ASSERT_EQ(f.send({{.delay_ms = 100, .ttl_ms = 50}}), Errc::ok);
  EXPECT_EQ(f.clock.scheduled(), f.clock.now + 50 * kMs);
  f.clock.advance_ms(50);
  f.queue.advance();
  QueueStats st = f.queue.stats();
  EXPECT_EQ(st.delayed, 0u);
  EXPECT_EQ(st.expired_total, 1u);
  EXPECT_EQ(f.clock.scheduled(), 0u) << "its due time went with it";
  f.clock.advance_ms(50);
  EXPECT_EQ(f.receive(take_all()).first, Errc::no_message);
}

TEST(QueueTtl, TtlCountsFromTheSendNotFromTheDueTime) {
  JobFixture f;
  ASSERT_EQ(f.send({{.delay_ms = 50, .ttl_ms = 80}}), Errc::ok);
  f.clock.advance_ms(50);
  f.queue.advance();
  EXPECT_EQ(f.queue.depth(), 1u);
  EXPECT_EQ(f.clock.scheduled(), kStartNs + 80 * kMs);
  f.clock.advance_ms(30);
  EXPECT_EQ(f.receive(take_all()).first, Errc::no_message);
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
}

TEST(QueueTtl, LeasedMessageDoesNotExpireWhileLeased) {
  JobFixture f;
  ASSERT_EQ(f.send({{.ttl_ms = 100}}), Errc::ok);
  auto [code, got] = f.lease(1, 1000);
  f.clock.advance_ms(200);
  f.queue.advance();
  EXPECT_EQ(f.queue.stats().expired_total, 0u);
  EXPECT_EQ(f.queue.stats().leased, 1u);
  f.queue.ack(f.leased(got.at(0).tag));  // the consumer finishes it after all
  EXPECT_EQ(f.queue.stats().acked_total, 1u);
  EXPECT_EQ(f.queue.stats().expired_total, 0u);
}

TEST(QueueTtl, LeasedMessageExpiresOnNackOnceItsTtlPassed) {
  JobFixture f;
  ASSERT_EQ(f.send({{.ttl_ms = 100}, {.ttl_ms = 300}}), Errc::ok);
  auto [code, got] = f.lease(2, 1000);
  ASSERT_EQ(got.size(), 2u);
  f.clock.advance_ms(200);
  f.queue.nack(f.leased(got[0].tag), 0, std::nullopt);
  f.queue.nack(f.leased(got[1].tag), 0, std::nullopt);
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
  EXPECT_EQ(f.drain(), Ids{2}) << "the other's TTL has not passed";
}

TEST(QueueTtl, LeasedMessageExpiresWhenItsLeaseRunsOutAfterItsTtl) {
  JobFixture f;
  ASSERT_EQ(f.send({{.ttl_ms = 100}}), Errc::ok);
  auto [code, got] = f.lease(1, 150);
  EXPECT_EQ(f.clock.scheduled(), f.clock.now + 150 * kMs) << "the lease, not the TTL";
  f.clock.advance_ms(150);
  f.queue.advance();
  const QueueStats st = f.queue.stats();
  EXPECT_EQ(st.lease_expired_total, 1u);
  EXPECT_EQ(st.expired_total, 1u);
  EXPECT_EQ(st.depth + st.leased, 0u);
  EXPECT_EQ(f.clock.scheduled(), 0u);
}

TEST(QueueTtl, ExpiredOnArrivalIsNeverQueued) {
  JobFixture f;
  Batch b = make_jobs({{.key = "k"}}, f.clock.now);
  b.messages[0]->expires_ns = f.clock.now;  // already due to expire
  ASSERT_EQ(f.queue.send(b, kAlice, f.first_id), Errc::ok);
  EXPECT_EQ(f.queue.depth(), 0u);
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
  ASSERT_EQ(f.send({{.key = "k"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty()) << "the expired message does not hold its key";
}

// The broker's timer may fire after other events of the same loop turn: a
// waiter served then must not get a message whose TTL already ran out.
TEST(QueueTtl, ExpiredMessageIsNotDeliveredToAResumedWaiter) {
  JobFixture f;
  TestReceiver waiter;
  waiter.held_back = true;
  f.queue.wait_receive(waiter);
  ASSERT_EQ(f.send({{.ttl_ms = 100}}), Errc::ok);
  f.clock.advance_ms(100);
  waiter.held_back = false;
  f.queue.resume();
  EXPECT_FALSE(waiter.result.has_value()) << "finished with " << to_string(*waiter.result);
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
}

TEST(QueueTtl, ExpiredMessageIsNotDeliveredToAWaiterServedByAnAck) {
  JobFixture f;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1);
  TestReceiver waiter;
  waiter.held_back = true;
  f.queue.wait_receive(waiter);
  ASSERT_EQ(f.send({{.ttl_ms = 100}}), Errc::ok);
  f.clock.advance_ms(100);
  waiter.held_back = false;
  f.queue.ack(f.leased(got.at(0).tag));  // serves the waiters
  EXPECT_FALSE(waiter.result.has_value()) << "finished with " << to_string(*waiter.result);
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
}

TEST(QueueTtl, ExpiredMessageIsNotDeliveredToAWaiterServedBySend) {
  JobFixture f;
  TestReceiver waiter(select_type(0, false, 10));
  waiter.held_back = true;
  f.queue.wait_receive(waiter);
  ASSERT_EQ(f.send({{.priority = 9, .ttl_ms = 100}}), Errc::ok);
  f.clock.advance_ms(100);
  waiter.held_back = false;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  EXPECT_EQ(ids_of(waiter.got), Ids{2});
}

}  // namespace
}  // namespace postbox::broker
