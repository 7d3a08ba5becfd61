// Tests for dedup keys in broker/queue.cpp's admission: a send whose key the queue holds
// (ready, delayed or leased) adds nothing, is reported, and may only raise priority or
// bring the due time forward.
#include <gtest/gtest.h>

#include <vector>

#include "job_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;
using Ids = std::vector<uint64_t>;

// Duplicate has no operator==; compare as (index, existing id) pairs.
std::vector<std::pair<uint32_t, uint64_t>> dups(const Batch& b) {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  for (const Duplicate& d : b.duplicates) out.emplace_back(d.index, d.existing_id);
  return out;
}
using Dups = std::vector<std::pair<uint32_t, uint64_t>>;

TEST(QueueDedup, SecondSendWithTheSameKeyAddsNothing) {
  JobFixture f;
  ASSERT_EQ(f.send({{.payload = "first", .key = "job-1"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty());
  ASSERT_EQ(f.send({{.payload = "second", .key = "job-1"}}), Errc::ok);
  EXPECT_EQ(f.first_id, 2u) << "the duplicate still has its id slot";
  EXPECT_EQ(dups(f.last), (Dups{{0, 1}}));
  const QueueStats st = f.queue.stats();
  EXPECT_EQ(st.depth, 1u);
  EXPECT_EQ(st.deduplicated_total, 1u);
  auto [code, got] = f.receive(take_all());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "first") << "the held message is unchanged";
  ASSERT_EQ(f.send({{}}), Errc::ok);
  EXPECT_EQ(f.first_id, 3u);
}

TEST(QueueDedup, DuplicatesAreListedByBatchIndexWithTheHoldersId) {
  JobFixture f;
  ASSERT_EQ(f.send({{.key = "a"}, {.key = "b"}, {}}), Errc::ok);                // ids 1..3
  ASSERT_EQ(f.send({{.key = "b"}, {}, {.key = "a"}, {.key = "c"}}), Errc::ok);  // ids 4..7
  EXPECT_EQ(f.first_id, 4u);
  EXPECT_EQ(dups(f.last), (Dups{{0, 2}, {2, 1}}));
  EXPECT_EQ(f.drain(), (Ids{1, 2, 3, 5, 7}));
}

TEST(QueueDedup, DuplicatesWithinOneBatch) {
  JobFixture f;
  ASSERT_EQ(f.send({{.key = "x"}, {.key = "x"}, {.key = "y"}, {.key = "x"}}), Errc::ok);
  EXPECT_EQ(dups(f.last), (Dups{{1, 1}, {3, 1}}));
  EXPECT_EQ(f.drain(), (Ids{1, 3}));
  EXPECT_EQ(f.queue.stats().deduplicated_total, 2u);
}

TEST(QueueDedup, KeysAreComparedWhole) {
  JobFixture f;
  ASSERT_EQ(f.send({{.key = "ab"}, {.key = "abc"}, {.key = "a"}, {.key = "AB"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty());
  EXPECT_EQ(f.queue.depth(), 4u);
}

TEST(QueueDedup, DuplicateMayRaisePriorityAndReorder) {
  JobFixture f;
  ASSERT_EQ(f.send({{.priority = 1, .key = "a"}, {.priority = 5}}), Errc::ok);
  ASSERT_EQ(f.send({{.priority = 9, .key = "a"}}), Errc::ok);
  EXPECT_EQ(dups(f.last), (Dups{{0, 1}}));
  ASSERT_EQ(f.send({{.priority = 0, .key = "a"}}), Errc::ok);  // never lowers it
  auto [code, got] = f.receive(take_all());
  EXPECT_EQ(ids_of(got), (Ids{1, 2}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].priority, 9);
  EXPECT_EQ(f.queue.stats().deduplicated_total, 2u);
}

TEST(QueueDedup, DuplicateMayBringTheDueTimeForward) {
  JobFixture f;
  const uint64_t t0 = f.clock.now;
  ASSERT_EQ(f.send({{.key = "a", .delay_ms = 500}}), Errc::ok);
  EXPECT_EQ(f.clock.scheduled(), t0 + 500 * kMs);
  ASSERT_EQ(f.send({{.key = "a", .delay_ms = 900}}), Errc::ok);  // later: no change
  EXPECT_EQ(f.clock.scheduled(), t0 + 500 * kMs);
  ASSERT_EQ(f.send({{.key = "a", .delay_ms = 100}}), Errc::ok);
  EXPECT_EQ(dups(f.last), (Dups{{0, 1}}));
  EXPECT_EQ(f.clock.scheduled(), t0 + 100 * kMs);
  EXPECT_EQ(f.queue.stats().delayed, 1u);
  f.clock.now = t0 + 100 * kMs - 1;
  EXPECT_EQ(f.receive(take_all()).first, Errc::no_message);
  f.clock.now = t0 + 100 * kMs;
  EXPECT_EQ(f.drain(), Ids{1});
}

TEST(QueueDedup, UndelayedDuplicateMakesADelayedMessageReady) {
  JobFixture f;
  ASSERT_EQ(f.send({{.key = "a", .delay_ms = 500}, {}}), Errc::ok);
  ASSERT_EQ(f.send({{.key = "a"}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().delayed, 0u);
  EXPECT_EQ(f.drain(), (Ids{1, 2})) << "ready, in its id's place";
}

TEST(QueueDedup, DuplicateNeverDelaysAReadyMessage) {
  JobFixture f;
  ASSERT_EQ(f.send({{.key = "a"}}), Errc::ok);
  ASSERT_EQ(f.send({{.key = "a", .delay_ms = 500}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().delayed, 0u);
  EXPECT_EQ(f.drain(), Ids{1});
}

TEST(QueueDedup, RaisingADelayedMessageKeepsItDelayed) {
  JobFixture f;
  ASSERT_EQ(f.send({{.priority = 1, .key = "a", .delay_ms = 50}}), Errc::ok);
  ASSERT_EQ(f.send({{.priority = 8, .key = "a", .delay_ms = 80}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().delayed, 1u);
  EXPECT_EQ(f.clock.scheduled(), kStartNs + 50 * kMs);
  f.clock.advance_ms(50);
  auto [code, got] = f.receive(take_all());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].priority, 8);
}

TEST(QueueDedup, DuplicateDoesNotExtendTheTtl) {
  JobFixture f;
  ASSERT_EQ(f.send({{.key = "a", .ttl_ms = 100}}), Errc::ok);
  f.clock.advance_ms(50);
  ASSERT_EQ(f.send({{.key = "a", .ttl_ms = 1000}}), Errc::ok);
  EXPECT_EQ(dups(f.last), (Dups{{0, 1}}));
  f.clock.advance_ms(50);
  EXPECT_EQ(f.receive(take_all()).first, Errc::no_message);
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
}

// The broker's timer may not have fired yet when the send arrives: an expired
// message is gone, not a holder of its key.
TEST(QueueDedup, ExpiredHolderDoesNotSwallowANewSend) {
  JobFixture f;
  ASSERT_EQ(f.send({{.payload = "old", .key = "a", .ttl_ms = 100}}), Errc::ok);
  f.clock.advance_ms(100);
  ASSERT_EQ(f.send({{.priority = 5, .payload = "new", .key = "a"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty());
  auto [code, got] = f.receive(take_all());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "new");
  EXPECT_EQ(f.queue.stats().expired_total, 1u);
}

TEST(QueueDedup, ExpiredHolderDoesNotSwallowABlockedSender) {
  JobFixture f(job_limits(2));
  ASSERT_EQ(f.send({{.key = "a", .ttl_ms = 100}, {.type = 2}}), Errc::ok);
  TestSender blocked(make_jobs({{.payload = "new", .key = "a"}, {}}, f.clock.now));
  f.queue.wait_send(blocked);
  f.clock.advance_ms(100);
  EXPECT_EQ(ids_of(f.receive(select_type(2)).second), Ids{2});
  EXPECT_EQ(blocked.result, Errc::ok);
  EXPECT_TRUE(blocked.batch.duplicates.empty());
  auto [code, got] = f.receive(take_all());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "new");
}

TEST(QueueDedup, KeyIsFreeAgainOnceTheMessageLeaves) {
  JobFixture f;
  ASSERT_EQ(f.send({{.key = "a"}}), Errc::ok);
  EXPECT_EQ(f.drain(), Ids{1});  // auto-ack receive
  ASSERT_EQ(f.send({{.key = "a"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty());

  auto [code, got] = f.lease(1);  // id 2, then ack
  f.queue.ack(f.leased(got.at(0).tag));
  ASSERT_EQ(f.send({{.key = "a"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty()) << "free after ack";

  EXPECT_EQ(f.queue.purge(), 1u);
  ASSERT_EQ(f.send({{.key = "a"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty()) << "free after purge";
  EXPECT_EQ(f.queue.depth(), 1u);
}

TEST(QueueDedup, KeyIsFreeAgainOnceADelayedMessageIsPurged) {
  JobFixture f;
  ASSERT_EQ(f.send({{.key = "a", .delay_ms = 100}}), Errc::ok);
  EXPECT_EQ(f.queue.purge(), 1u);
  ASSERT_EQ(f.send({{.key = "a"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty());
}

TEST(QueueDedup, KeyIsHeldWhileLeased) {
  JobFixture f;
  ASSERT_EQ(f.send({{.priority = 1, .key = "a"}, {.priority = 5}}), Errc::ok);
  auto [code, got] = f.receive([&] {
    ReceiveSpec s = ack_mode(f.holder);
    s.selector = {1, false};
    s.max_count = 2;
    return s;
  }());
  ASSERT_EQ(ids_of(got), (Ids{2, 1}));
  ASSERT_EQ(f.send({{.priority = 9, .key = "a"}}), Errc::ok);
  EXPECT_EQ(dups(f.last), (Dups{{0, 1}})) << "the leased message holds its key";
  EXPECT_EQ(f.queue.stats().leased, 2u);
  EXPECT_EQ(f.queue.depth(), 0u);

  // Both return; the raised priority took effect on the leased one.
  f.queue.nack(f.leased(got[0].tag), 0, std::nullopt);
  f.queue.nack(f.leased(got[1].tag), 0, std::nullopt);
  ASSERT_EQ(f.send({{.key = "a"}}), Errc::ok);
  EXPECT_EQ(dups(f.last), (Dups{{0, 1}})) << "still held after the nack";
  auto [again, back] = f.lease(2);
  ASSERT_EQ(ids_of(back), (Ids{1, 2}));
  EXPECT_EQ(back[0].priority, 9);
  f.queue.ack(f.leased(back[0].tag));
  ASSERT_EQ(f.send({{.key = "a"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty()) << "free after the ack";
}

TEST(QueueDedup, NackWithAPriorityOverridesARaise) {
  JobFixture f;
  ASSERT_EQ(f.send({{.priority = 1, .key = "a"}}), Errc::ok);
  auto [code, got] = f.lease(1);
  ASSERT_EQ(f.send({{.priority = 9, .key = "a"}}), Errc::ok);
  f.queue.nack(f.leased(got.at(0).tag), 0, uint8_t{3});
  auto [again, back] = f.receive(take_all());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].priority, 3) << "the nack's priority is the consumer's last word";
}

TEST(QueueDedup, BlockedSendersDuplicatesAreReportedOnAdmission) {
  JobFixture f(job_limits(2));
  ASSERT_EQ(f.send({{.key = "a"}, {.type = 2}}), Errc::ok);
  TestSender blocked(make_jobs({{.priority = 4, .key = "a"}}, f.clock.now));
  f.queue.wait_send(blocked);
  EXPECT_EQ(ids_of(f.receive(select_type(2)).second), Ids{2});
  EXPECT_EQ(blocked.result, Errc::ok);
  EXPECT_EQ(blocked.first_id, 3u);
  EXPECT_EQ(dups(blocked.batch), (Dups{{0, 1}})) << "for the SEND_OK sent on admission";
  auto [code, got] = f.receive(take_all());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].priority, 4);
}

TEST(QueueDedup, DuplicatesNeedNoRoomInAFullQueue) {
  JobFixture f(job_limits(2));
  ASSERT_EQ(f.send({{.key = "a"}, {.key = "b"}}), Errc::ok);  // full
  ASSERT_EQ(f.send({{.priority = 7, .key = "b"}, {.key = "a"}}), Errc::ok)
      << "adds nothing, so it fits";
  EXPECT_EQ(dups(f.last), (Dups{{0, 2}, {1, 1}}));
  EXPECT_EQ(f.send({{.key = "a"}, {.key = "c"}}), Errc::queue_full) << "c needs room";
  EXPECT_EQ(f.drain(), (Ids{2, 1})) << "b was raised to priority 7";
}

TEST(QueueDedup, DropOldestDiscardingAKeysHolderStillAdmitsTheRepeat) {
  config::QueueLimits limits = job_limits(2);
  limits.overflow = config::Overflow::drop_oldest;
  JobFixture f(limits);
  ASSERT_EQ(f.send({{.payload = "old", .key = "a"}, {.payload = "b"}}), Errc::ok);
  // "c" needs room: drop-oldest discards "old", so the repeat of key a is new again.
  ASSERT_EQ(f.send({{.payload = "c"}, {.payload = "again", .key = "a"}}), Errc::ok);
  auto [code, got] = f.receive(take_all());
  std::vector<std::string> payloads;
  for (const auto& g : got) payloads.push_back(g.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"c", "again"})) << "b went too, making room";
  EXPECT_EQ(f.queue.stats().dropped_total, 2u);
}

}  // namespace
}  // namespace postbox::broker
