// Tests for broker/queue.cpp without waiters: order, selection, limits, overflow, receive options.
#include "broker/queue.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "broker_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;
using Ids = std::vector<uint64_t>;
using config::Overflow;

constexpr uint32_t kMany = 100;

// Ids 1..6; queue order 3, 4 (priority 1) then 1, 2, 5, 6 (priority 0).
void fill_mixed(QueueFixture& f) {
  ASSERT_EQ(f.send({{3, 0}, {1, 0}, {2, 1}, {3, 1}, {1, 0}, {7, 0}}), Errc::ok);
}

ReceiveSpec peeking(ReceiveSpec s) {
  s.peek = true;
  return s;
}

TEST(QueueOrder, HigherPriorityFirstThenArrival) {
  QueueFixture f;
  ASSERT_EQ(f.send({{1, 0}, {1, 5}, {1, 0}, {1, 5}, {1, 9}}), Errc::ok);
  EXPECT_EQ(f.receive_ids(select_type(0, false, kMany)), (std::pair{Errc::ok, Ids{5, 2, 4, 1, 3}}));
}

TEST(QueueOrder, AdmissionAssignsSharedIdsTimeAndSender) {
  uint64_t next_id = 40;
  const QueueAttributes attrs{make_limits(10), Ownership{}};
  Queue a("a", attrs, next_id, 0);
  Queue b("b", attrs, next_id, 0);
  Batch two = make_batch({{1}, {2}});
  Batch one = make_batch({{1}});
  uint64_t first_a = 0;
  uint64_t first_b = 0;
  ASSERT_EQ(a.send(two, kAlice, first_a), Errc::ok);
  ASSERT_EQ(b.send(one, kBob, first_b), Errc::ok);
  EXPECT_EQ(first_a, 40u);
  EXPECT_EQ(first_b, 42u);
  EXPECT_EQ(next_id, 43u);
  EXPECT_TRUE(two.messages.empty()) << "the queue takes the batch's messages";

  struct Check : Delivery {
    void deliver(const Message& m, uint32_t) override { seen = m; }
    Message seen;
  } check;
  ASSERT_EQ(b.receive(select_type(0), kAlice, check), Errc::ok);
  EXPECT_EQ(check.seen.id, 42u);
  EXPECT_EQ(check.seen.sender_pid, kBob.pid);
  EXPECT_EQ(check.seen.sender_uid, kBob.uid);
  EXPECT_GT(check.seen.enqueue_time_ns, 0u);
  EXPECT_EQ(check.seen.delivery_count, 1u);
}

TEST(QueueSelect, FirstMatchPerSelectorForm) {
  struct Case {
    int64_t type;
    bool except;
    uint64_t first;  // 0: no match
  };
  const Case cases[] = {
      {0, false, 3},     // any: head of queue order
      {1, false, 2},     // exact: first of its type
      {3, false, 4},     // exact: priority beats arrival within a type
      {7, false, 6},     //
      {9, false, 0},     // exact: absent type
      {2, true, 4},      // except the first head's type: the second head
      {3, true, 3},      // except another type: the first head
      {1, true, 3},      //
      {-1, false, 2},    // at most 1
      {-2, false, 2},    // lowest type <= 2 is 1, though type 2 ranks higher
      {-3, false, 2},    //
      {-100, false, 2},  //
      {-2, true, 2},     // except is ignored for negative types
  };
  for (const Case& c : cases) {
    for (bool peek : {false, true}) {
      QueueFixture f;
      fill_mixed(f);
      ReceiveSpec spec = select_type(c.type, c.except);
      spec.peek = peek;
      const auto [e, ids] = f.receive_ids(spec);
      SCOPED_TRACE(testing::Message()
                   << "type " << c.type << (c.except ? " except" : "") << (peek ? " peek" : ""));
      if (c.first == 0) {
        EXPECT_EQ(e, Errc::no_message);
        EXPECT_TRUE(ids.empty());
      } else {
        EXPECT_EQ(e, Errc::ok);
        EXPECT_EQ(ids, Ids{c.first});
      }
      EXPECT_EQ(f.queue.depth(), peek || c.first == 0 ? 6u : 5u);
    }
  }
}

TEST(QueueSelect, RepeatedSelectionOrderPerSelectorForm) {
  struct Case {
    int64_t type;
    bool except;
    Ids order;
  };
  const Case cases[] = {
      {0, false, {3, 4, 1, 2, 5, 6}},
      {1, false, {2, 5}},
      {3, false, {4, 1}},
      {3, true, {3, 2, 5, 6}},
      {2, true, {4, 1, 2, 5, 6}},
      {-3, false, {2, 5, 3, 4, 1}},  // type by type upwards, each in queue order
      {-2, false, {2, 5, 3}},
      {-6, false, {2, 5, 3, 4, 1}},
      {-7, false, {2, 5, 3, 4, 1, 6}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "type " << c.type << (c.except ? " except" : ""));
    QueueFixture f;
    fill_mixed(f);
    // Peek with max_count walks the index; receive with max_count removes one by one;
    // single receives repeat the selection. All three must agree.
    EXPECT_EQ(f.receive_ids(peeking(select_type(c.type, c.except, kMany))),
              (std::pair{Errc::ok, c.order}));
    Ids singles;
    QueueFixture g;
    fill_mixed(g);
    for (auto r = g.receive_ids(select_type(c.type, c.except)); r.first == Errc::ok;
         r = g.receive_ids(select_type(c.type, c.except))) {
      singles.insert(singles.end(), r.second.begin(), r.second.end());
    }
    EXPECT_EQ(singles, c.order);
    EXPECT_EQ(f.receive_ids(select_type(c.type, c.except, kMany)), (std::pair{Errc::ok, c.order}));
    EXPECT_EQ(f.queue.depth(), 6u - c.order.size());
  }
}

TEST(QueueSelect, NegativeTypeBelowEveryTypeFindsNothing) {
  QueueFixture f;
  ASSERT_EQ(f.send({{5}, {6}}), Errc::ok);
  EXPECT_EQ(f.receive_ids(select_type(-4)).first, Errc::no_message);
  EXPECT_EQ(f.receive_ids(peeking(select_type(-4))).first, Errc::no_message);
  EXPECT_EQ(f.receive_ids(select_type(-5)), (std::pair{Errc::ok, Ids{1}}));
}

TEST(QueueSelect, ExceptTheOnlyTypeFindsNothing) {
  QueueFixture f;
  ASSERT_EQ(f.send({{2}, {2, 3}}), Errc::ok);
  EXPECT_EQ(f.receive_ids(select_type(2, true)).first, Errc::no_message);
  EXPECT_EQ(f.receive_ids(peeking(select_type(2, true, kMany))).first, Errc::no_message);
}

TEST(QueueSelect, EmptyTypeEntriesAreRemoved) {
  // A type drained completely must not shadow the next type for negative selection.
  QueueFixture f;
  ASSERT_EQ(f.send({{1}, {2}}), Errc::ok);
  ASSERT_EQ(f.receive_ids(select_type(1)).first, Errc::ok);
  EXPECT_EQ(f.receive_ids(select_type(-5)), (std::pair{Errc::ok, Ids{2}}));
  EXPECT_EQ(f.receive_ids(select_type(2, true)).first, Errc::no_message);
}

TEST(QueueLimits, MessageLargerThanMaxMessageSizeIsTooBig) {
  QueueFixture f(make_limits(10, 1000, 16));
  EXPECT_EQ(f.send({{1, 0, 17}}), Errc::too_big);
  EXPECT_EQ(f.send({{1, 0, 16}}), Errc::ok);
  EXPECT_EQ(f.queue.depth(), 1u);
}

TEST(QueueLimits, BatchBeyondTheLimitsOutrightIsTooBig) {
  QueueFixture by_count(make_limits(2));
  EXPECT_EQ(by_count.send({{1}, {1}, {1}}), Errc::too_big);
  QueueFixture by_bytes(make_limits(10, 20));
  EXPECT_EQ(by_bytes.send({{1, 0, 8}, {1, 0, 8}, {1, 0, 8}}), Errc::too_big);
  QueueFixture dropping(make_limits(2, 1000, 100, Overflow::drop_oldest));
  EXPECT_EQ(dropping.send({{1}, {1}, {1}}), Errc::too_big) << "no policy can fit it";
  EXPECT_EQ(by_count.queue.depth() + by_bytes.queue.depth() + dropping.queue.depth(), 0u);
}

TEST(QueueLimits, FullQueueRejectsByCountAndByBytes) {
  QueueFixture by_count(make_limits(2));
  ASSERT_EQ(by_count.send({{1}, {1}}), Errc::ok);
  EXPECT_EQ(by_count.send({{1}}), Errc::queue_full);
  EXPECT_EQ(by_count.queue.depth(), 2u);

  QueueFixture by_bytes(make_limits(10, 20));
  ASSERT_EQ(by_bytes.send({{1, 0, 15}}), Errc::ok);
  EXPECT_EQ(by_bytes.send({{1, 0, 6}}), Errc::queue_full);
  EXPECT_EQ(by_bytes.send({{1, 0, 5}}), Errc::ok);
  EXPECT_EQ(by_bytes.queue.bytes(), 20u);
}

TEST(QueueLimits, MaxBytesCountsPayloadNotProperties) {
  QueueFixture f(make_limits(10, 10));
  Batch b;
  b.messages.push_back(make_message({1, 0, 10}, std::string(100, 'p')));
  b.payload_bytes = 10;
  uint64_t first = 0;
  EXPECT_EQ(f.queue.send(b, kAlice, first), Errc::ok);
  EXPECT_EQ(f.queue.bytes(), 10u);
}

TEST(QueueLimits, BatchIsAllOrNothing) {
  QueueFixture f(make_limits(3, 1000, 50));
  ASSERT_EQ(f.send({{1}, {1}}), Errc::ok);
  EXPECT_EQ(f.send({{1}, {1}}), Errc::queue_full);
  EXPECT_EQ(f.send({{1, 0, 1}, {1, 0, 51}}), Errc::too_big);
  EXPECT_EQ(f.queue.depth(), 2u);
  EXPECT_EQ(f.queue.stats().sent_total, 2u);
  EXPECT_EQ(f.next_id, 3u) << "refused batches consume no ids";
}

TEST(QueueLimits, NonPositiveTypeIsInvalid) {
  QueueFixture f;
  EXPECT_EQ(f.send({{1}, {0}}), Errc::invalid_argument);
  EXPECT_EQ(f.send({{-3}}), Errc::invalid_argument);
  EXPECT_EQ(f.queue.depth(), 0u);
}

TEST(QueueOverflow, DropOldestDiscardsOldestArrivalsUntilBatchFits) {
  QueueFixture f(make_limits(3, 1000, 100, Overflow::drop_oldest));
  ASSERT_EQ(f.send({{1, 9}, {1, 0}, {1, 5}}), Errc::ok);
  ASSERT_EQ(f.send({{1, 1}, {1, 1}}), Errc::ok);
  EXPECT_EQ(f.last_first_id, 4u);
  EXPECT_EQ(f.queue.stats().dropped_total, 2u);
  EXPECT_EQ(f.receive_ids(select_type(0, false, kMany)), (std::pair{Errc::ok, Ids{3, 4, 5}}));
}

TEST(QueueOverflow, DropOldestMakesRoomByBytes) {
  QueueFixture f(make_limits(100, 30, 30, Overflow::drop_oldest));
  ASSERT_EQ(f.send({{1, 0, 10}, {1, 0, 10}, {1, 0, 10}}), Errc::ok);
  ASSERT_EQ(f.send({{1, 0, 15}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().dropped_total, 2u);
  EXPECT_EQ(f.receive_ids(select_type(0, false, kMany)), (std::pair{Errc::ok, Ids{3, 4}}));
}

TEST(QueueOverflow, DropLowestPriorityDiscardsLastInQueueOrder) {
  QueueFixture f(make_limits(3, 1000, 100, Overflow::drop_lowest_priority));
  ASSERT_EQ(f.send({{1, 5}, {1, 1}, {1, 1}}), Errc::ok);  // order 1, 2, 3
  ASSERT_EQ(f.send({{1, 4}}), Errc::ok);                  // drops 3: lowest, newest
  EXPECT_EQ(f.queue.stats().dropped_total, 1u);
  EXPECT_EQ(f.receive_ids(peeking(select_type(0, false, kMany))),
            (std::pair{Errc::ok, Ids{1, 4, 2}}));
}

TEST(QueueOverflow, DropLowestPriorityDiscardsIncomingThatRanksBelowAll) {
  QueueFixture f(make_limits(2, 1000, 100, Overflow::drop_lowest_priority));
  ASSERT_EQ(f.send({{1, 5}, {1, 3}}), Errc::ok);
  EXPECT_EQ(f.send({{1, 3}}), Errc::ok) << "equal priority ranks below: it is newer";
  EXPECT_EQ(f.last_first_id, 3u) << "a discarded message still gets its id";
  EXPECT_EQ(f.send({{1, 0}}), Errc::ok);
  const QueueStats s = f.queue.stats();
  EXPECT_EQ(s.dropped_total, 2u);
  EXPECT_EQ(s.sent_total, 4u);
  EXPECT_EQ(f.receive_ids(select_type(0, false, kMany)), (std::pair{Errc::ok, Ids{1, 2}}));
}

TEST(QueueOverflow, DropLowestPriorityKeepsLowerMessagesWhenDroppingThemCannotHelp) {
  QueueFixture f(make_limits(10, 30, 30, Overflow::drop_lowest_priority));
  ASSERT_EQ(f.send({{1, 9, 20}, {1, 1, 5}, {1, 1, 5}}), Errc::ok);
  // Needs 25 bytes; only 10 are held by lower priorities.
  ASSERT_EQ(f.send({{1, 5, 25}}), Errc::ok);
  EXPECT_EQ(f.queue.stats().dropped_total, 1u);
  EXPECT_EQ(f.receive_ids(select_type(0, false, kMany)), (std::pair{Errc::ok, Ids{1, 2, 3}}));
}

TEST(QueueOverflow, DropLowestPriorityTakesBatchMessagesOneByOne) {
  QueueFixture f(make_limits(2, 1000, 100, Overflow::drop_lowest_priority));
  ASSERT_EQ(f.send({{1, 5}, {1, 5}}), Errc::ok);
  ASSERT_EQ(f.send({{1, 0}, {1, 9}}), Errc::ok);  // 3 is discarded, 4 displaces 2
  EXPECT_EQ(f.queue.stats().dropped_total, 2u);
  EXPECT_EQ(f.receive_ids(select_type(0, false, kMany)), (std::pair{Errc::ok, Ids{4, 1}}));
}

TEST(QueueReceive, TruncateCutsPayloadAndRemoves) {
  QueueFixture f;
  ASSERT_EQ(f.send({{1, 0, 10}}), Errc::ok);
  ReceiveSpec spec = select_type(0);
  spec.max_size = 4;
  spec.truncate = true;
  const auto [e, got] = f.receive(spec);
  ASSERT_EQ(e, Errc::ok);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload_size, 4u);
  EXPECT_EQ(f.queue.depth(), 0u);
}

TEST(QueueReceive, TooBigWithoutTruncateLeavesMessageQueued) {
  QueueFixture f;
  ASSERT_EQ(f.send({{1, 0, 10}, {2, 0, 1}}), Errc::ok);
  ReceiveSpec spec = select_type(0);
  spec.max_size = 9;
  EXPECT_EQ(f.receive_ids(spec).first, Errc::too_big);
  spec.peek = true;
  EXPECT_EQ(f.receive_ids(spec).first, Errc::too_big);
  EXPECT_EQ(f.queue.depth(), 2u);
  spec = select_type(2);
  spec.max_size = 9;
  EXPECT_EQ(f.receive_ids(spec), (std::pair{Errc::ok, Ids{2}})) << "only the selected one counts";
}

TEST(QueueReceive, LaterTooBigMatchEndsBatchEarly) {
  QueueFixture f;
  ASSERT_EQ(f.send({{1, 0, 2}, {1, 0, 2}, {1, 0, 10}, {1, 0, 2}}), Errc::ok);
  ReceiveSpec spec = select_type(1, false, 4);
  spec.max_size = 5;
  EXPECT_EQ(f.receive_ids(peeking(spec)), (std::pair{Errc::ok, Ids{1, 2}}));
  EXPECT_EQ(f.receive_ids(spec), (std::pair{Errc::ok, Ids{1, 2}}));
  EXPECT_EQ(f.receive_ids(spec).first, Errc::too_big);
  EXPECT_EQ(f.queue.depth(), 2u);
}

TEST(QueueReceive, MaxCountTakesBestMatchesInOrder) {
  QueueFixture f;
  ASSERT_EQ(f.send({{1, 0}, {1, 7}, {2, 9}, {1, 3}}), Errc::ok);
  EXPECT_EQ(f.receive_ids(select_type(1, false, 2)), (std::pair{Errc::ok, Ids{2, 4}}));
  EXPECT_EQ(f.receive_ids(select_type(1, false, 5)), (std::pair{Errc::ok, Ids{1}}));
  EXPECT_EQ(f.receive_ids(select_type(0, false, 0)), (std::pair{Errc::ok, Ids{3}}))
      << "max_count 0 is taken as 1";
}

TEST(QueueReceive, PeekIsNotADelivery) {
  QueueFixture f;
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  auto [e1, peeked] = f.receive(peeking(select_type(0)));
  auto [e2, taken] = f.receive(select_type(0));
  ASSERT_EQ(e1, Errc::ok);
  ASSERT_EQ(e2, Errc::ok);
  EXPECT_EQ(peeked.at(0).delivery_count, 0u);
  EXPECT_EQ(taken.at(0).delivery_count, 1u);
  EXPECT_EQ(f.queue.stats().received_total, 1u) << "a peek is not a receive";
}

TEST(QueueReceive, ByteBudgetEndsBatchButFirstAlwaysGoes) {
  QueueFixture f;
  ASSERT_EQ(f.send({{1, 0, 10}, {1, 0, 10}, {1, 0, 10}, {1, 0, 10}}), Errc::ok);
  ReceiveSpec spec = select_type(0, false, 4);
  spec.per_message_bytes = 5;
  spec.max_batch_bytes = 30;  // two messages of 10 + 5
  EXPECT_EQ(f.receive_ids(peeking(spec)), (std::pair{Errc::ok, Ids{1, 2}}));
  EXPECT_EQ(f.receive_ids(spec), (std::pair{Errc::ok, Ids{1, 2}}));
  spec.max_batch_bytes = 1;  // smaller than any message: still one per receive
  EXPECT_EQ(f.receive_ids(spec), (std::pair{Errc::ok, Ids{3}}));
}

TEST(QueueReceive, DeliverSeesTheMessageStillQueued) {
  QueueFixture f;
  ASSERT_EQ(f.send({{1}, {1}}), Errc::ok);
  const auto [e, got] = f.receive(select_type(0, false, 2));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].depth_during, 2u);
  EXPECT_EQ(got[1].depth_during, 1u);
}

TEST(QueueStats, CountsActivityAndDepthPerPriority) {
  QueueFixture f;
  ASSERT_EQ(f.send({{1, 0, 3}, {1, 2, 4}, {1, 2, 5}}, kAlice), Errc::ok);
  ASSERT_EQ(f.receive(select_type(0), kBob).first, Errc::ok);
  QueueStats s = f.queue.stats();
  EXPECT_EQ(s.depth, 2u);
  EXPECT_EQ(s.bytes, 8u);
  EXPECT_EQ(s.sent_total, 3u);
  EXPECT_EQ(s.received_total, 1u);
  EXPECT_EQ(s.last_send_pid, kAlice.pid);
  EXPECT_EQ(s.last_receive_pid, kBob.pid);
  EXPECT_GT(s.last_send_ns, 0u);
  EXPECT_GT(s.last_receive_ns, 0u);
  EXPECT_EQ(s.depth_per_priority, (std::map<uint8_t, uint64_t>{{0, 1}, {2, 1}}));
  EXPECT_EQ(f.queue.purge(), 2u);
  s = f.queue.stats();
  EXPECT_EQ(s.purged_total, 2u);
  EXPECT_EQ(s.depth, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_TRUE(s.depth_per_priority.empty());
}

}  // namespace
}  // namespace postbox::broker
