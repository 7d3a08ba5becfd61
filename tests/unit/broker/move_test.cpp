// Tests for QueueStore::move (broker/store.cpp) with Queue::extract/restore: which ready
// messages move, what they keep, and where they stay when the destination is full.
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

constexpr uint64_t kAll = UINT64_MAX;

struct MoveFixture {
  MoveFixture() : store(defaults(), 1u << 24) {
    src = declare("src", 1000);
    dst = declare("dst", 1000);
  }
  static config::QueueLimits defaults() {
    config::QueueLimits l = make_limits(1000);
    l.lease_ms = 600'000;  // real clock: never expires during a test
    return l;
  }
  Queue* declare(std::string name, uint64_t max_messages) {
    DeclareSpec spec;
    spec.name = std::move(name);
    spec.max_messages = max_messages;
    const DeclareResult r = store.declare(spec, kAlice, 0);
    EXPECT_EQ(r.code, Errc::ok) << r.error;
    return r.queue;
  }
  Errc send(Queue& q, std::initializer_list<Job> jobs, Credentials who = kAlice) {
    Batch b = make_jobs(jobs, steady_ns());
    uint64_t first = 0;
    const Errc e = q.send(b, who, first);
    last = std::move(b);
    return e;
  }
  std::vector<Seen> take(Queue& q) {
    SeenRecorder r;
    q.receive(take_all(), kBob, r);
    return r.got;
  }

  QueueStore store;
  Queue* src = nullptr;
  Queue* dst = nullptr;
  Batch last;
  TestHolder holder;
};

TEST(QueueMove, KeepsTheMessageAndRestartsItsDeliveryCount) {
  MoveFixture f;
  ASSERT_EQ(f.send(*f.src, {{.type = 7, .priority = 4, .payload = "body", .header = "v"}}),
            Errc::ok);
  // Delivered once and returned, as a dead letter being replayed would have been.
  SeenRecorder leased(&f.holder);
  ASSERT_EQ(f.src->receive(ack_mode(f.holder), kBob, leased), Errc::ok);
  const Seen original = leased.got.at(0);
  f.src->nack(*f.holder.find(original.tag), 0, std::nullopt);

  const MoveResult r = f.store.move(*f.src, *f.dst, Selector{}, kAll);
  EXPECT_EQ(r.moved, 1u);
  EXPECT_EQ(r.stopped, Errc::ok);
  EXPECT_EQ(f.src->depth(), 0u);
  EXPECT_EQ(f.src->stats().moved_out_total, 1u);
  EXPECT_EQ(f.dst->stats().moved_in_total, 1u);

  const std::vector<Seen> got = f.take(*f.dst);
  ASSERT_EQ(got.size(), 1u);
  const Seen& m = got[0];
  EXPECT_EQ(m.type, 7);
  EXPECT_EQ(m.priority, 4);
  EXPECT_EQ(m.payload, "body");
  EXPECT_EQ(m.properties, original.properties);
  EXPECT_EQ(m.sender_pid, kAlice.pid);
  EXPECT_EQ(m.enqueue_time_ns, original.enqueue_time_ns);
  EXPECT_EQ(m.delivery_count, 1u) << "restarted at 0, this is its first delivery from dst";
  EXPECT_GT(m.id, original.id) << "a new id in the destination";
}

TEST(QueueMove, MovesInQueueOrderUpToCount) {
  MoveFixture f;
  ASSERT_EQ(f.send(*f.src, {{.priority = 0}, {.priority = 5}, {.priority = 0}, {.priority = 9}}),
            Errc::ok);                                     // ids 1..4; queue order 4, 2, 1, 3
  ASSERT_EQ(f.send(*f.dst, {{.priority = 5}}), Errc::ok);  // id 5
  const MoveResult r = f.store.move(*f.src, *f.dst, Selector{}, 2);
  EXPECT_EQ(r.moved, 2u);
  EXPECT_EQ(ids_of(f.take(*f.src)), (Ids{1, 3}));
  const std::vector<Seen> moved = f.take(*f.dst);
  ASSERT_EQ(moved.size(), 3u);
  EXPECT_EQ(moved[0].priority, 9);
  EXPECT_EQ(moved[1].id, 5u) << "ranked by priority and arrival in the destination";
  EXPECT_EQ(moved[2].priority, 5);
}

TEST(QueueMove, TypeSelectorPicksWhichMove) {
  MoveFixture f;
  ASSERT_EQ(f.send(*f.src, {{.type = 1}, {.type = 2}, {.type = 1}, {.type = 2}, {.type = 3}}),
            Errc::ok);
  EXPECT_EQ(f.store.move(*f.src, *f.dst, Selector{2, false}, kAll).moved, 2u);
  EXPECT_EQ(ids_of(f.take(*f.src)), (Ids{1, 3, 5}));
  std::vector<int64_t> types;
  for (const Seen& s : f.take(*f.dst)) types.push_back(s.type);
  EXPECT_EQ(types, (std::vector<int64_t>{2, 2}));
}

TEST(QueueMove, ExceptAndAtMostSelectorsFollowReceiveRules) {
  MoveFixture f;
  ASSERT_EQ(f.send(*f.src, {{.type = 1}, {.type = 2}, {.type = 3}}), Errc::ok);
  EXPECT_EQ(f.store.move(*f.src, *f.dst, Selector{2, true}, kAll).moved, 2u);
  EXPECT_EQ(ids_of(f.take(*f.src)), Ids{2});  // and empties it
  ASSERT_EQ(f.send(*f.src, {{.type = 1}, {.type = 2}, {.type = 3}}), Errc::ok);
  EXPECT_EQ(f.store.move(*f.src, *f.dst, Selector{-2, false}, kAll).moved, 2u);
  std::vector<int64_t> left;
  for (const Seen& s : f.take(*f.src)) left.push_back(s.type);
  EXPECT_EQ(left, std::vector<int64_t>{3});
}

TEST(QueueMove, StopsWhenTheDestinationIsFullLeavingTheRestInPlace) {
  MoveFixture f;
  Queue* small = f.declare("small", 2);
  ASSERT_EQ(f.send(*small, {{}}), Errc::ok);
  ASSERT_EQ(f.send(*f.src, {{.priority = 1}, {.priority = 3}, {.priority = 1}, {.priority = 2}}),
            Errc::ok);  // ids 2..5; queue order 3, 5, 2, 4
  const MoveResult r = f.store.move(*f.src, *small, Selector{}, kAll);
  EXPECT_EQ(r.moved, 1u);
  EXPECT_EQ(r.stopped, Errc::queue_full);
  EXPECT_EQ(f.src->stats().moved_out_total, 1u) << "the one put back is not counted";
  EXPECT_EQ(small->stats().moved_in_total, 1u);
  EXPECT_EQ(ids_of(f.take(*f.src)), (Ids{5, 2, 4})) << "the refused one is back in its place";
}

TEST(QueueMove, RefusedMessageKeepsItsKeyInTheSource) {
  MoveFixture f;
  Queue* small = f.declare("small", 1);
  ASSERT_EQ(f.send(*small, {{}}), Errc::ok);
  ASSERT_EQ(f.send(*f.src, {{.key = "k"}}), Errc::ok);
  EXPECT_EQ(f.store.move(*f.src, *small, Selector{}, kAll).moved, 0u);
  ASSERT_EQ(f.send(*f.src, {{.key = "k"}}), Errc::ok);
  EXPECT_EQ(f.last.duplicates.size(), 1u);
  EXPECT_EQ(f.src->depth(), 1u);
}

TEST(QueueMove, MovesOnlyReadyMessages) {
  MoveFixture f;
  ASSERT_EQ(f.send(*f.src, {{}, {.delay_ms = 60'000}, {}}), Errc::ok);
  SeenRecorder leased(&f.holder);
  ASSERT_EQ(f.src->receive(ack_mode(f.holder), kBob, leased), Errc::ok);  // id 1
  EXPECT_EQ(f.store.move(*f.src, *f.dst, Selector{}, kAll).moved, 1u);
  EXPECT_EQ(ids_of(f.take(*f.dst)).size(), 1u);
  const QueueStats st = f.src->stats();
  EXPECT_EQ(st.leased, 1u);
  EXPECT_EQ(st.delayed, 1u);
}

TEST(QueueMove, DueMessagesAreMovableBeforeTheTimerFires) {
  // A source on the fake clock: its delayed message is due, advance() not yet called.
  MoveFixture f;
  JobFixture src(job_limits(), "fake");
  ASSERT_EQ(src.send({{.delay_ms = 10}, {.ttl_ms = 10}}), Errc::ok);
  src.clock.advance_ms(10);
  EXPECT_EQ(f.store.move(src.queue, *f.dst, Selector{}, kAll).moved, 1u)
      << "the due one moves, the expired one does not";
  EXPECT_EQ(src.queue.stats().expired_total, 1u);
}

TEST(QueueMove, MovingFreesRoomForTheSourcesBlockedSenders) {
  MoveFixture f;
  Queue* tight = f.declare("tight", 1);
  ASSERT_EQ(f.send(*tight, {{}}), Errc::ok);
  TestSender blocked(make_jobs({{.payload = "waiting"}}, steady_ns()));
  tight->wait_send(blocked);
  EXPECT_EQ(f.store.move(*tight, *f.dst, Selector{}, kAll).moved, 1u);
  EXPECT_EQ(blocked.result, Errc::ok);
  EXPECT_EQ(tight->depth(), 1u);
}

TEST(QueueMove, TheKeyMovesWithTheMessage) {
  MoveFixture f;
  ASSERT_EQ(f.send(*f.src, {{.key = "k"}}), Errc::ok);
  EXPECT_EQ(f.store.move(*f.src, *f.dst, Selector{}, kAll).moved, 1u);
  ASSERT_EQ(f.send(*f.src, {{.key = "k"}}), Errc::ok);
  EXPECT_TRUE(f.last.duplicates.empty()) << "free in the source";
  ASSERT_EQ(f.send(*f.dst, {{.key = "k"}}), Errc::ok);
  EXPECT_EQ(f.last.duplicates.size(), 1u) << "held in the destination";
}

TEST(QueueMove, ToItselfMovesNothing) {
  MoveFixture f;
  ASSERT_EQ(f.send(*f.src, {{}}), Errc::ok);
  EXPECT_EQ(f.store.move(*f.src, *f.src, Selector{}, kAll).moved, 0u);
  EXPECT_EQ(f.src->depth(), 1u);
}

TEST(QueueMove, WakesAWaiterOnTheDestination) {
  MoveFixture f;
  TestReceiver waiter;
  f.dst->wait_receive(waiter);
  ASSERT_EQ(f.send(*f.src, {{}}), Errc::ok);
  EXPECT_EQ(f.store.move(*f.src, *f.dst, Selector{}, kAll).moved, 1u);
  EXPECT_EQ(waiter.result, Errc::ok);
}

}  // namespace
}  // namespace postbox::broker
