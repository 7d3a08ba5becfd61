// Tests for leases in broker/queue_jobs.cpp: ack-mode receive, ack, nack, touch, expiry,
// return on disconnect, purge and close, all on a fake clock.
#include <gtest/gtest.h>

#include <vector>

#include "job_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;
using Ids = std::vector<uint64_t>;
using Counts = std::vector<uint32_t>;

TEST(QueueLease, AckModeReceiveLeasesInsteadOfRemoving) {
  JobFixture f;
  ASSERT_EQ(f.send({{}, {}, {}}), Errc::ok);
  auto [code, got] = f.lease(2);
  ASSERT_EQ(code, Errc::ok);
  ASSERT_EQ(ids_of(got), (Ids{1, 2}));
  for (const Seen& s : got) {
    EXPECT_NE(s.tag, 0u) << "the tag is assigned before deliver()";
    EXPECT_TRUE(s.holder_finds_it) << "the holder knows the lease during deliver()";
    EXPECT_EQ(s.delivery_count, 1u);
  }
  EXPECT_NE(got[0].tag, got[1].tag);

  const QueueStats st = f.queue.stats();
  EXPECT_EQ(st.depth, 1u) << "leased messages are not ready";
  EXPECT_EQ(st.leased, 2u);
  EXPECT_EQ(st.received_total, 2u);
  EXPECT_EQ(f.holder.count(), 2u);
  Message& m = f.leased(got[1].tag);
  EXPECT_EQ(m.id, 2u);
  EXPECT_EQ(m.state, MessageState::leased);
  EXPECT_EQ(m.leased_from, &f.queue);
  EXPECT_EQ(m.lease_deadline_ns, f.clock.now + 1000 * kMs) << "the queue's default lease";
  EXPECT_EQ(f.drain(), Ids{3}) << "only the unleased message is left to receive";
}

TEST(QueueLease, TagsAreUniqueAcrossQueuesSharingServices) {
  FakeServices services;
  uint64_t next_id = 1;
  const QueueAttributes attrs{job_limits(), Ownership{}};
  Queue a("a", attrs, next_id, 0, &services);
  Queue b("b", attrs, next_id, 0, &services);
  TestHolder holder;
  for (Queue* q : {&a, &b}) {
    Batch batch = make_jobs({{}}, services.now);
    uint64_t first = 0;
    ASSERT_EQ(q->send(batch, kAlice, first), Errc::ok);
  }
  SeenRecorder from_a(&holder);
  SeenRecorder from_b(&holder);
  ASSERT_EQ(a.receive(ack_mode(holder), kBob, from_a), Errc::ok);
  ASSERT_EQ(b.receive(ack_mode(holder), kBob, from_b), Errc::ok);
  EXPECT_NE(from_a.got.at(0).tag, from_b.got.at(0).tag);
  EXPECT_EQ(holder.count(), 2u) << "one holder may hold leases of several queues";
  EXPECT_EQ(holder.find(from_b.got[0].tag)->leased_from, &b);
}

TEST(QueueLease, ExplicitLeaseLengthOverridesTheQueueDefault) {
  JobFixture f;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1, 250);
  ASSERT_EQ(code, Errc::ok);
  EXPECT_EQ(f.leased(got.at(0).tag).lease_deadline_ns, f.clock.now + 250 * kMs);
  EXPECT_EQ(f.queue.next_deadline(), f.clock.now + 250 * kMs);
  EXPECT_EQ(f.clock.scheduled(), f.clock.now + 250 * kMs);
}

TEST(QueueLease, AckRemovesTheMessageAndEndsTheLease) {
  JobFixture f;
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  auto [code, got] = f.lease(2);
  ASSERT_EQ(got.size(), 2u);
  f.queue.ack(f.leased(got[0].tag));
  EXPECT_EQ(f.holder.find(got[0].tag), nullptr);
  EXPECT_EQ(f.holder.ended, 1) << "the holder hears that a lease ended (consumer credit)";
  QueueStats st = f.queue.stats();
  EXPECT_EQ(st.leased, 1u);
  EXPECT_EQ(st.acked_total, 1u);
  EXPECT_EQ(st.depth, 0u);
  f.queue.ack(f.leased(got[1].tag));
  st = f.queue.stats();
  EXPECT_EQ(st.leased, 0u);
  EXPECT_EQ(st.acked_total, 2u);
  EXPECT_EQ(f.queue.next_deadline(), 0u);
  EXPECT_EQ(f.clock.scheduled(), 0u) << "no lease left to expire";
  EXPECT_TRUE(f.drain().empty());
}

TEST(QueueLease, LimitsCountLeasedMessages) {
  JobFixture f(job_limits(2));
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  auto [code, got] = f.lease(2);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_EQ(f.queue.depth(), 0u);
  EXPECT_EQ(f.send({{}}), Errc::queue_full) << "leased messages still take room";

  TestSender blocked(make_jobs({{.payload = "late"}}, f.clock.now));
  f.queue.wait_send(blocked);
  f.queue.nack(f.leased(got[0].tag), 0, std::nullopt);
  EXPECT_FALSE(blocked.result.has_value()) << "a nack frees no room";
  f.queue.ack(f.leased(got[1].tag));
  EXPECT_EQ(blocked.result, Errc::ok) << "an ack admits the blocked sender";
  EXPECT_EQ(f.queue.depth(), 2u);
}

TEST(QueueLease, ByteLimitCountsLeasedPayloads) {
  config::QueueLimits l = job_limits();
  l.max_bytes = 10;
  JobFixture f(l);
  ASSERT_EQ(f.send({{.payload = "12345"}, {.payload = "12345"}}), Errc::ok);
  auto [code, got] = f.lease(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(f.send({{.payload = "1"}}), Errc::queue_full);
  f.queue.ack(f.leased(got[0].tag));
  EXPECT_EQ(f.send({{.payload = "12345"}}), Errc::ok);
}

// Ids 1..6; queue order 5 (9), 2, 4 (5), 1, 3, 6 (0).
void send_mixed(JobFixture& f) {
  ASSERT_EQ(f.send({{.priority = 0},
                    {.priority = 5},
                    {.priority = 0},
                    {.priority = 5},
                    {.priority = 9},
                    {.priority = 0}}),
            Errc::ok);
}

TEST(QueueLease, NackedMessagesReturnToTheirOriginalPlaces) {
  JobFixture f;
  send_mixed(f);
  auto [code, got] = f.lease(6);
  ASSERT_EQ(ids_of(got), (Ids{5, 2, 4, 1, 3, 6}));
  // A newcomer of priority 5 queues behind the returning ones of its priority.
  ASSERT_EQ(f.send({{.priority = 5}}), Errc::ok);
  for (int i : {3, 0, 5, 1, 4, 2}) f.queue.nack(f.leased(got[i].tag), 0, std::nullopt);

  auto [again, redelivered] = f.receive(take_all());
  ASSERT_EQ(again, Errc::ok);
  EXPECT_EQ(ids_of(redelivered), (Ids{5, 2, 4, 7, 1, 3, 6}));
  EXPECT_EQ(counts_of(redelivered), (Counts{2, 2, 2, 1, 2, 2, 2}));
  const QueueStats st = f.queue.stats();
  EXPECT_EQ(st.nacked_total, 6u);
  EXPECT_EQ(st.redelivered_total, 6u);
  EXPECT_EQ(st.leased, 0u);
}

TEST(QueueLease, ReturnedMessageGoesBeforeLaterOnesOfItsPriority) {
  JobFixture f;
  send_mixed(f);
  auto [code, got] = f.lease(2);
  ASSERT_EQ(ids_of(got), (Ids{5, 2}));
  f.queue.nack(f.leased(got[1].tag), 0, std::nullopt);
  auto [again, next] = f.lease(1);
  ASSERT_EQ(ids_of(next), Ids{2}) << "not 4, which came later";
  EXPECT_EQ(next[0].delivery_count, 2u);
  EXPECT_NE(next[0].tag, got[1].tag) << "a new lease, a new tag";
}

TEST(QueueLease, NackMayGiveANewPriority) {
  JobFixture f;
  ASSERT_EQ(f.send({{}, {}, {.priority = 3}}), Errc::ok);
  auto [code, got] = f.lease(3);
  ASSERT_EQ(ids_of(got), (Ids{3, 1, 2}));
  f.queue.nack(f.leased(got[2].tag), 0, uint8_t{7});  // id 2 up
  f.queue.nack(f.leased(got[0].tag), 0, uint8_t{0});  // id 3 down
  f.queue.nack(f.leased(got[1].tag), 0, std::nullopt);
  auto [again, next] = f.receive(take_all());
  EXPECT_EQ(ids_of(next), (Ids{2, 1, 3}));
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(next[0].priority, 7);
  EXPECT_EQ(next[1].priority, 0);
  EXPECT_EQ(next[2].priority, 0);
  EXPECT_EQ(f.queue.stats().depth_per_priority.count(3), 0u);
}

TEST(QueueLease, NackWithDelayHidesTheMessageUntilDue) {
  JobFixture f;
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  auto [code, got] = f.lease(1);
  ASSERT_EQ(ids_of(got), Ids{1});
  const uint64_t due = f.clock.now + 500 * kMs;
  f.queue.nack(f.leased(got[0].tag), 500, std::nullopt);
  QueueStats st = f.queue.stats();
  EXPECT_EQ(st.delayed, 1u);
  EXPECT_EQ(st.leased, 0u);
  EXPECT_EQ(st.depth, 1u);
  EXPECT_EQ(f.queue.next_deadline(), due);
  EXPECT_EQ(f.clock.scheduled(), due) << "schedule() hears the due time";

  EXPECT_EQ(f.drain(), Ids{2});
  f.clock.now = due - 1;
  EXPECT_EQ(f.receive(take_all()).first, Errc::no_message);
  f.clock.now = due;
  auto [late, back] = f.receive(take_all());
  ASSERT_EQ(late, Errc::ok) << "receive() makes due messages ready itself";
  EXPECT_EQ(ids_of(back), Ids{1});
  EXPECT_EQ(back[0].delivery_count, 2u);
  EXPECT_EQ(f.clock.scheduled(), 0u);
}

TEST(QueueLease, DelayedNackBecomesReadyOnAdvance) {
  JobFixture f;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1);
  f.queue.nack(f.leased(got.at(0).tag), 20, std::nullopt);
  TestReceiver waiter;
  f.queue.wait_receive(waiter);
  f.clock.advance_ms(19);
  f.queue.advance();
  EXPECT_FALSE(waiter.result.has_value());
  EXPECT_EQ(f.queue.stats().delayed, 1u);
  f.clock.advance_ms(1);
  f.queue.advance();
  EXPECT_EQ(waiter.result, Errc::ok) << "advance() serves the waiters";
  EXPECT_EQ(ids_of(waiter.got), Ids{1});
  EXPECT_EQ(f.queue.stats().delayed, 0u);
  EXPECT_EQ(f.clock.scheduled(), 0u);
}

TEST(QueueLease, NackServesAWaitingReceiverAtOnce) {
  JobFixture f;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1);
  TestReceiver waiter;
  f.queue.wait_receive(waiter);
  f.queue.nack(f.leased(got.at(0).tag), 0, std::nullopt);
  EXPECT_EQ(waiter.result, Errc::ok);
  ASSERT_EQ(ids_of(waiter.got), Ids{1});
  EXPECT_EQ(waiter.got[0].delivery_count, 2u);
}

TEST(QueueLease, TouchExtendsTheLease) {
  JobFixture f;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1);  // 1000 ms
  const uint64_t tag = got.at(0).tag;
  const uint64_t old_deadline = f.clock.now + 1000 * kMs;
  f.clock.advance_ms(900);
  f.queue.touch(f.leased(tag), 0);  // its own length again, from now
  const uint64_t new_deadline = f.clock.now + 1000 * kMs;
  EXPECT_EQ(f.queue.next_deadline(), new_deadline);
  EXPECT_EQ(f.clock.scheduled(), new_deadline);

  f.clock.now = old_deadline;
  f.queue.advance();
  EXPECT_NE(f.holder.find(tag), nullptr) << "not expired at the old deadline";
  EXPECT_EQ(f.queue.stats().lease_expired_total, 0u);

  f.clock.now = new_deadline;
  f.queue.advance();
  EXPECT_EQ(f.holder.find(tag), nullptr) << "expired at the new one";
  EXPECT_EQ(f.queue.stats().lease_expired_total, 1u);
  EXPECT_EQ(f.queue.depth(), 1u);
}

TEST(QueueLease, TouchWithALengthSetsItFromNow) {
  JobFixture f;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1);
  Message& m = f.leased(got.at(0).tag);
  f.clock.advance_ms(10);
  f.queue.touch(m, 5000);
  EXPECT_EQ(m.lease_deadline_ns, f.clock.now + 5000 * kMs);
  EXPECT_EQ(f.clock.scheduled(), f.clock.now + 5000 * kMs);
  f.queue.touch(m, 100);  // shorter is allowed too
  EXPECT_EQ(f.clock.scheduled(), f.clock.now + 100 * kMs);
}

TEST(QueueLease, TouchWithoutLengthUsesTheOriginalLeaseLength) {
  JobFixture f;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1, 300);
  Message& m = f.leased(got.at(0).tag);
  f.queue.touch(m, 5000);
  f.queue.touch(m, 0);
  EXPECT_EQ(m.lease_deadline_ns, f.clock.now + 300 * kMs)
      << "0 is the lease's original length (the receive's), not the last touch's";
}

TEST(QueueLease, ExpiredLeaseReturnsOnAdvance) {
  JobFixture f;
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  auto [code, got] = f.lease(1, 200);
  ASSERT_EQ(ids_of(got), Ids{1});
  EXPECT_EQ(f.clock.scheduled(), f.clock.now + 200 * kMs);
  f.clock.advance_ms(199);
  f.queue.advance();
  EXPECT_EQ(f.queue.stats().leased, 1u);
  f.clock.advance_ms(1);
  f.queue.advance();
  const QueueStats st = f.queue.stats();
  EXPECT_EQ(st.leased, 0u);
  EXPECT_EQ(st.depth, 2u);
  EXPECT_EQ(st.lease_expired_total, 1u);
  EXPECT_EQ(f.holder.find(got[0].tag), nullptr);
  EXPECT_EQ(f.holder.ended, 1);
  EXPECT_EQ(f.clock.scheduled(), 0u);
  auto [again, next] = f.receive(take_all());
  EXPECT_EQ(ids_of(next), (Ids{1, 2})) << "back in its original place";
  EXPECT_EQ(counts_of(next), (Counts{2, 1}));
}

TEST(QueueLease, ReceiveReturnsExpiredLeasesFirst) {
  JobFixture f;
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  auto [code, got] = f.lease(1, 200);
  f.clock.advance_ms(200);  // no advance(): the broker's timer has not fired yet
  auto [again, next] = f.lease(1);
  ASSERT_EQ(ids_of(next), Ids{1}) << "the expired lease is back before the receive selects";
  EXPECT_EQ(next[0].delivery_count, 2u);
  EXPECT_EQ(f.queue.stats().lease_expired_total, 1u);
}

TEST(QueueLease, ExpiredLeasesReturnInDeadlineOrderToTheirPlaces) {
  JobFixture f;
  ASSERT_EQ(f.send({{}, {}, {}}), Errc::ok);
  auto [code, got] = f.lease(3);
  ASSERT_EQ(got.size(), 3u);
  f.queue.touch(f.leased(got[0].tag), 3000);
  f.queue.touch(f.leased(got[2].tag), 2000);
  f.clock.advance_ms(1000);
  f.queue.advance();
  EXPECT_EQ(f.queue.stats().leased, 2u);
  EXPECT_EQ(f.clock.scheduled(), kStartNs + 2000 * kMs);
  f.clock.advance_ms(2000);
  f.queue.advance();
  EXPECT_EQ(f.queue.stats().lease_expired_total, 3u);
  EXPECT_EQ(f.drain(), (Ids{1, 2, 3}));
}

TEST(QueueLease, ReturnLeaseRequeuesWithoutServingWaiters) {
  JobFixture f;
  ASSERT_EQ(f.send({{}}), Errc::ok);
  auto [code, got] = f.lease(1);
  TestReceiver waiter;
  f.queue.wait_receive(waiter);
  f.queue.return_lease(f.leased(got.at(0).tag));  // connection closed
  EXPECT_EQ(f.holder.count(), 0u);
  EXPECT_FALSE(waiter.result.has_value()) << "the caller resumes after returning a batch";
  QueueStats st = f.queue.stats();
  EXPECT_EQ(st.depth, 1u);
  EXPECT_EQ(st.leased, 0u);
  EXPECT_EQ(st.lease_expired_total, 0u);
  EXPECT_EQ(f.clock.scheduled(), 0u);
  f.queue.resume();
  EXPECT_EQ(waiter.result, Errc::ok);
  ASSERT_EQ(ids_of(waiter.got), Ids{1});
  EXPECT_EQ(waiter.got[0].delivery_count, 2u);
}

TEST(QueueLease, HolderDestroyedReturnsItsLeasesInPlace) {
  JobFixture f;
  send_mixed(f);
  {
    TestHolder connection;
    auto [code, got] = f.lease(3, 0, &connection);
    ASSERT_EQ(ids_of(got), (Ids{5, 2, 4}));
  }
  EXPECT_EQ(f.queue.stats().leased, 0u);
  EXPECT_EQ(f.drain(), (Ids{5, 2, 4, 1, 3, 6}));
}

TEST(QueueLease, PurgeLeavesLeasedMessages) {
  JobFixture f;
  ASSERT_EQ(f.send({{}, {}, {}, {.delay_ms = 100}}), Errc::ok);
  auto [code, got] = f.lease(1);
  ASSERT_EQ(ids_of(got), Ids{1});
  EXPECT_EQ(f.queue.purge(), 3u) << "two ready and one delayed";
  QueueStats st = f.queue.stats();
  EXPECT_EQ(st.depth, 0u);
  EXPECT_EQ(st.delayed, 0u);
  EXPECT_EQ(st.leased, 1u);
  EXPECT_EQ(st.purged_total, 3u);
  EXPECT_EQ(f.clock.scheduled(), f.clock.now + 1000 * kMs) << "only the lease is left to time";
  f.queue.nack(f.leased(got[0].tag), 0, std::nullopt);
  EXPECT_EQ(f.drain(), Ids{1});
}

TEST(QueueLease, CloseEndsEveryLease) {
  JobFixture f;
  ASSERT_EQ(f.send({{}, {}, {.delay_ms = 50}}), Errc::ok);
  auto [code, got] = f.lease(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(f.clock.scheduled(), 0u);
  f.queue.close();
  EXPECT_EQ(f.holder.count(), 0u);
  EXPECT_EQ(f.holder.find(got[0].tag), nullptr);
  EXPECT_EQ(f.holder.find(got[1].tag), nullptr);
  EXPECT_EQ(f.holder.ended, 2);
  EXPECT_EQ(f.clock.scheduled(), 0u) << "a closed queue needs no timer";
}

}  // namespace
}  // namespace postbox::broker
