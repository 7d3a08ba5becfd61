// Tests for the overflow policies of broker/queue.cpp with leased and delayed messages
// present: leased ones are with consumers and never dropped, so sends wait when only
// leased messages fill the queue.
#include <gtest/gtest.h>

#include <vector>

#include "job_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;
using Ids = std::vector<uint64_t>;
using config::Overflow;

config::QueueLimits policy(Overflow o, uint64_t max_messages) {
  config::QueueLimits l = job_limits(max_messages);
  l.overflow = o;
  return l;
}

ReceiveSpec lease_type(TestHolder& h, int64_t type) {
  ReceiveSpec s = ack_mode(h);
  s.selector = {type, false};
  return s;
}

TEST(HeldOverflow, DropOldestSkipsLeasedMessages) {
  JobFixture f(policy(Overflow::drop_oldest, 3));
  ASSERT_EQ(f.send({{}, {}, {}}), Errc::ok);
  auto [code, got] = f.lease(1);  // id 1, the oldest
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().dropped_total, 2u);
  EXPECT_EQ(f.queue.stats().leased, 1u);
  EXPECT_EQ(f.drain(), (Ids{4, 5})) << "2 and 3 made room, not the leased 1";
  f.queue.ack(f.leased(got.at(0).tag));
  EXPECT_EQ(f.queue.stats().acked_total, 1u);
}

TEST(HeldOverflow, DropOldestDropsReadyBeforeDelayed) {
  JobFixture f(policy(Overflow::drop_oldest, 3));
  ASSERT_EQ(f.send({{.delay_ms = 100}, {}, {}}), Errc::ok);
  ASSERT_EQ(f.send({{}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().delayed, 1u)
      << "the delayed 1 is older but not yet in the queue's order";
  f.clock.advance_ms(100);
  EXPECT_EQ(f.drain(), (Ids{1, 3, 4}));
}

TEST(HeldOverflow, DropOldestWithOnlyDelayedDropsTheOneDueLast) {
  JobFixture f(policy(Overflow::drop_oldest, 3));
  ASSERT_EQ(f.send({{.delay_ms = 100}, {.delay_ms = 300}, {.delay_ms = 200}}), Errc::ok);
  ASSERT_EQ(f.send({{}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().dropped_total, 1u);
  EXPECT_EQ(f.queue.stats().delayed, 2u);
  EXPECT_EQ(f.clock.scheduled(), kStartNs + 100 * kMs);
  f.clock.advance_ms(300);
  EXPECT_EQ(f.drain(), (Ids{1, 3, 4})) << "2, due last, made room";
}

TEST(HeldOverflow, DropOldestWaitsWhenLeasedMessagesFillTheQueue) {
  JobFixture f(policy(Overflow::drop_oldest, 2));
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  auto [code, got] = f.lease(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(f.send({{}}), Errc::queue_full) << "nothing it may drop";
  TestSender blocked(make_jobs({{}}, f.clock.now));
  f.queue.wait_send(blocked);
  f.queue.ack(f.leased(got[0].tag));
  EXPECT_EQ(blocked.result, Errc::ok);
  EXPECT_EQ(f.queue.stats().dropped_total, 0u);
}

TEST(HeldOverflow, DropOldestWaitsWhenLeasedLeaveTooLittleRoomForTheBatch) {
  JobFixture f(policy(Overflow::drop_oldest, 3));
  ASSERT_EQ(f.send({{}, {}, {}}), Errc::ok);
  auto [code, got] = f.lease(2);
  EXPECT_EQ(f.send({{}, {}}), Errc::queue_full) << "dropping the ready one leaves room for 1";
  EXPECT_EQ(f.queue.stats().dropped_total, 0u) << "nothing dropped for a batch that waits";
  ASSERT_EQ(f.send({{}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().dropped_total, 1u);
}

TEST(HeldOverflow, DropLowestSkipsLeasedMessages) {
  JobFixture f(policy(Overflow::drop_lowest_priority, 2));
  ASSERT_EQ(f.send({{.type = 1, .priority = 0}, {.type = 2, .priority = 5}}), Errc::ok);
  auto [code, got] = f.receive(lease_type(f.holder, 1));  // the lowest one is leased
  ASSERT_EQ(ids_of(got), Ids{1});
  ASSERT_EQ(f.send({{.priority = 9}}), Errc::ok);  // id 3 drops the ready 5
  EXPECT_EQ(f.queue.stats().dropped_total, 1u);
  ASSERT_EQ(f.send({{.priority = 9}}), Errc::ok);  // id 4: nothing ready ranks below it
  EXPECT_EQ(f.queue.stats().dropped_total, 2u);
  EXPECT_EQ(f.queue.stats().leased, 1u);
  EXPECT_EQ(f.drain(), Ids{3});
  f.queue.nack(f.leased(got[0].tag), 0, std::nullopt);
  EXPECT_EQ(f.drain(), Ids{1}) << "the leased one survived every drop";
}

TEST(HeldOverflow, DropLowestDropsReadyLowerOnesAndLeavesDelayedAlone) {
  JobFixture f(policy(Overflow::drop_lowest_priority, 3));
  ASSERT_EQ(f.send({{.priority = 0, .delay_ms = 100}, {.priority = 1}, {.priority = 0}}), Errc::ok);
  ASSERT_EQ(f.send({{.priority = 9}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().dropped_total, 1u);
  EXPECT_EQ(f.queue.stats().delayed, 1u);
  f.clock.advance_ms(100);
  EXPECT_EQ(f.drain(), (Ids{4, 2, 1})) << "the ready 0 (id 3) made room";
}

TEST(HeldOverflow, DropLowestWaitsWhenLeasedMessagesFillTheQueue) {
  JobFixture f(policy(Overflow::drop_lowest_priority, 2));
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  auto [code, got] = f.lease(2);
  EXPECT_EQ(f.send({{.priority = 9}}), Errc::queue_full);
  TestSender blocked(make_jobs({{.priority = 9}}, f.clock.now));
  f.queue.wait_send(blocked);
  EXPECT_EQ(f.queue.stats().dropped_total, 0u);
  // Back in the queue, the nacked 0 is an ordinary ready message: it may go.
  f.queue.nack(f.leased(got[0].tag), 0, std::nullopt);
  EXPECT_EQ(blocked.result, Errc::ok);
  EXPECT_EQ(f.queue.stats().dropped_total, 1u);
  f.queue.ack(f.leased(got[1].tag));
  EXPECT_EQ(f.drain(), Ids{3});
}

TEST(HeldOverflow, RejectPolicyCountsDelayedMessages) {
  JobFixture f(job_limits(2));
  ASSERT_EQ(f.send({{.delay_ms = 10}, {.delay_ms = 10}}), Errc::ok);
  EXPECT_EQ(f.queue.depth(), 0u);
  EXPECT_EQ(f.send({{}}), Errc::queue_full) << "delayed messages take room";
}

TEST(HeldOverflow, ExpiryFreesRoomForABlockedSender) {
  JobFixture f(job_limits(1));
  ASSERT_EQ(f.send({{.ttl_ms = 10}}), Errc::ok);
  TestSender blocked(make_jobs({{}}, f.clock.now));
  f.queue.wait_send(blocked);
  f.clock.advance_ms(10);
  f.queue.advance();
  EXPECT_EQ(blocked.result, Errc::ok);
}

TEST(HeldOverflow, ExpiredMessagesTakeNoRoomBeforeTheTimerFires) {
  JobFixture f(job_limits(1));
  ASSERT_EQ(f.send({{.ttl_ms = 10}}), Errc::ok);
  f.clock.advance_ms(10);  // no advance()
  EXPECT_EQ(f.send({{}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
  EXPECT_EQ(f.drain(), Ids{2});
}

}  // namespace
}  // namespace postbox::broker
