// Tests for push-consumer-like waiters on broker/queue.cpp: a ReceiveWaiter that waits
// again from finished(ok), one message per turn. Turn-taking across consumers, selectors,
// prefetch credit, and priority at dispatch time.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "job_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;
using Ids = std::vector<uint64_t>;

/// Like broker/consumer.hpp's Consumer: waits again after each delivery, holds
/// its ack-mode leases and has credit while they are fewer than `prefetch`.
class TestConsumer final : public ReceiveWaiter, public LeaseHolder {
 public:
  TestConsumer(Queue& q, Selector s = {}, bool ack = false, uint32_t prefetch = 1) : queue_(q) {
    spec.selector = s;
    spec.max_count = 1;
    if (ack) spec.lease_to = this;
    prefetch_ = prefetch;
    who = kBob;
    queue_.wait_receive(*this);
  }
  ~TestConsumer() {
    while (Message* m = any()) queue_.return_lease(*m);
  }

  void deliver(const Message& m, uint32_t) override {
    got.push_back(seen_of(m, spec.lease_to ? this : nullptr));
    if (on_deliver) on_deliver(m);
  }
  void finished(Errc r) override {
    if (r == Errc::ok) {
      queue_.wait_receive(*this);  // behind the consumers not yet served
      return;
    }
    ended = r;
  }
  bool may_deliver() const override { return !paused && (!spec.lease_to || count() < prefetch_); }
  /// Acks its oldest-tagged lease.
  void ack_one() {
    Message* m = any();
    ASSERT_NE(m, nullptr);
    queue_.ack(*m);
  }

  std::vector<Seen> got;
  std::optional<Errc> ended;
  bool paused = false;  // as a connection over its output limit
  std::function<void(const Message&)> on_deliver;

 private:
  Queue& queue_;
  uint32_t prefetch_ = 1;
};

std::vector<Job> jobs_of_types(std::initializer_list<int64_t> types) {
  std::vector<Job> out;
  for (int64_t t : types) out.push_back({.type = t});
  return out;
}

Errc send_all(JobFixture& f, const std::vector<Job>& jobs) {
  Batch b;
  for (const Job& j : jobs) {
    b.messages.push_back(make_job(j, f.clock.now));
    b.payload_bytes += j.payload.size();
  }
  return f.queue.send(b, kAlice, f.first_id);
}

TEST(QueueConsumers, TwoConsumersAlternateAcrossABurst) {
  JobFixture f;
  TestConsumer a(f.queue);
  TestConsumer b(f.queue);
  ASSERT_EQ(f.send({{}, {}, {}, {}, {}, {}, {}}), Errc::ok);
  EXPECT_EQ(ids_of(a.got), (Ids{1, 3, 5, 7}));
  EXPECT_EQ(ids_of(b.got), (Ids{2, 4, 6}));
  EXPECT_EQ(f.queue.depth(), 0u);
  EXPECT_EQ(f.queue.stats().blocked_receivers, 2u) << "both wait again";
}

TEST(QueueConsumers, TurnsContinueAcrossSends) {
  JobFixture f;
  TestConsumer a(f.queue);
  TestConsumer b(f.queue);
  TestConsumer c(f.queue);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(f.send({{}}), Errc::ok);
  EXPECT_EQ(ids_of(a.got), (Ids{1, 4}));
  EXPECT_EQ(ids_of(b.got), (Ids{2, 5}));
  EXPECT_EQ(ids_of(c.got), (Ids{3}));
}

TEST(QueueConsumers, EachConsumerTakesTheBestMessageAtItsTurn) {
  JobFixture f;
  TestConsumer a(f.queue);
  TestConsumer b(f.queue);
  ASSERT_EQ(f.send({{.priority = 1}, {.priority = 7}, {.priority = 3}, {.priority = 7}}), Errc::ok);
  EXPECT_EQ(ids_of(a.got), (Ids{2, 3}));
  EXPECT_EQ(ids_of(b.got), (Ids{4, 1}));
}

TEST(QueueConsumers, ConsumerWithASelectorOnlyGetsMatches) {
  JobFixture f;
  TestConsumer twos(f.queue, Selector{2, false});
  TestConsumer any(f.queue);
  ASSERT_EQ(send_all(f, jobs_of_types({1, 2, 1, 2, 3, 1})), Errc::ok);
  EXPECT_EQ(ids_of(twos.got), (Ids{2, 4}));
  EXPECT_EQ(ids_of(any.got), (Ids{1, 3, 5, 6}));
  for (const Seen& s : twos.got) EXPECT_EQ(s.type, 2);
}

TEST(QueueConsumers, SelectorConsumerIsServedWhenItsMatchArrives) {
  JobFixture f;
  TestConsumer threes(f.queue, Selector{3, false});
  ASSERT_EQ(send_all(f, jobs_of_types({1, 1})), Errc::ok);
  EXPECT_TRUE(threes.got.empty());
  ASSERT_EQ(send_all(f, jobs_of_types({3})), Errc::ok);
  EXPECT_EQ(ids_of(threes.got), Ids{3});
  EXPECT_EQ(f.queue.depth(), 2u);
}

TEST(QueueConsumers, ExceptConsumerSkipsItsType) {
  JobFixture f;
  TestConsumer not1(f.queue, Selector{1, true});
  ASSERT_EQ(send_all(f, jobs_of_types({1, 2, 1, 3})), Errc::ok);
  EXPECT_EQ(ids_of(not1.got), (Ids{2, 4}));
}

TEST(QueueConsumers, PrefetchBoundsUnsettledLeases) {
  JobFixture f;
  TestConsumer c(f.queue, {}, true, 2);
  ASSERT_EQ(f.send({{}, {}, {}, {}, {}}), Errc::ok);
  EXPECT_EQ(ids_of(c.got), (Ids{1, 2}));
  EXPECT_EQ(f.queue.stats().leased, 2u);
  EXPECT_EQ(c.count(), 2u);
  for (const Seen& s : c.got) EXPECT_TRUE(s.holder_finds_it);
  c.ack_one();
  EXPECT_EQ(ids_of(c.got), (Ids{1, 2, 3})) << "settling gives credit at once";
  c.ack_one();
  c.ack_one();
  EXPECT_EQ(ids_of(c.got), (Ids{1, 2, 3, 4, 5}));
  EXPECT_EQ(f.queue.depth(), 0u);
}

TEST(QueueConsumers, NackedMessageGoesToTheNextConsumerThatMayTakeIt) {
  JobFixture f;
  TestConsumer a(f.queue, {}, true, 1);
  TestConsumer b(f.queue, {}, true, 1);
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  ASSERT_EQ(ids_of(a.got), Ids{1});
  ASSERT_EQ(ids_of(b.got), Ids{2});
  b.ack_one();      // b has credit again
  a.paused = true;  // a's connection is over its output limit
  f.queue.nack(*a.any(), 0, std::nullopt);
  EXPECT_EQ(ids_of(b.got), (Ids{2, 1}));
  ASSERT_EQ(b.got.size(), 2u);
  EXPECT_EQ(b.got[1].delivery_count, 2u);
  EXPECT_EQ(b.got[1].id, a.got[0].id);
}

TEST(QueueConsumers, ConsumerWithoutCreditIsSkippedAndKeepsItsPlace) {
  JobFixture f;
  TestConsumer full(f.queue, {}, true, 1);
  ASSERT_EQ(f.send({{}}), Errc::ok);  // full takes its one
  TestConsumer other(f.queue, {}, true, 5);
  ASSERT_EQ(f.send({{}, {}}), Errc::ok);
  EXPECT_EQ(ids_of(full.got), Ids{1});
  EXPECT_EQ(ids_of(other.got), (Ids{2, 3}));
  full.ack_one();
  ASSERT_EQ(f.send({{}}), Errc::ok);
  EXPECT_EQ(ids_of(full.got), (Ids{1, 4})) << "first in line again once it has credit";
}

// ------------------------------------------------------ priority at dispatch time

TEST(QueueConsumers, LowThenHighInOneBatchDeliversHighFirst) {
  JobFixture f;
  TestConsumer c(f.queue, {}, true, 1);
  ASSERT_EQ(f.send({{.priority = 0}, {.priority = 9}}), Errc::ok);
  ASSERT_EQ(ids_of(c.got), Ids{2});
  c.ack_one();
  EXPECT_EQ(ids_of(c.got), (Ids{2, 1}));
}

TEST(QueueConsumers, HighArrivingWhileWithoutCreditGoesFirstWhenCreditReturns) {
  JobFixture f;
  TestConsumer c(f.queue, {}, true, 1);
  ASSERT_EQ(f.send({{.priority = 5}}), Errc::ok);  // takes c's credit
  ASSERT_EQ(f.send({{.priority = 0}}), Errc::ok);
  ASSERT_EQ(f.send({{.priority = 9}}), Errc::ok);
  ASSERT_EQ(ids_of(c.got), Ids{1});
  c.ack_one();
  EXPECT_EQ(ids_of(c.got), (Ids{1, 3}));
  c.ack_one();
  EXPECT_EQ(ids_of(c.got), (Ids{1, 3, 2}));
}

TEST(QueueConsumers, HighArrivingWhilePausedGoesFirstOnResume) {
  JobFixture f;
  TestConsumer c(f.queue);
  c.paused = true;
  ASSERT_EQ(f.send({{.priority = 0}}), Errc::ok);
  ASSERT_EQ(f.send({{.priority = 9}}), Errc::ok);
  EXPECT_TRUE(c.got.empty());
  c.paused = false;
  f.queue.resume();
  ASSERT_FALSE(c.got.empty());
  EXPECT_EQ(c.got[0].id, 2u);
  EXPECT_EQ(ids_of(c.got), (Ids{2, 1}));
}

TEST(QueueConsumers, PausedConsumersSelectorIsStillRespectedOnResume) {
  JobFixture f;
  TestConsumer c(f.queue, Selector{2, false});
  c.paused = true;
  ASSERT_EQ(f.send({{.type = 1, .priority = 9}, {.type = 2, .priority = 0}}), Errc::ok);
  c.paused = false;
  f.queue.resume();
  EXPECT_EQ(ids_of(c.got), Ids{2});
  EXPECT_EQ(f.queue.depth(), 1u);
}

TEST(QueueConsumers, ReturnedLeaseOfHigherPriorityGoesBeforeReadyLowerOnes) {
  JobFixture f;
  TestConsumer c(f.queue, {}, true, 1);
  ASSERT_EQ(f.send({{.priority = 9}}), Errc::ok);
  ASSERT_EQ(f.send({{.priority = 1}}), Errc::ok);
  ASSERT_EQ(ids_of(c.got), Ids{1});
  f.queue.nack(*c.any(), 0, std::nullopt);
  EXPECT_EQ(ids_of(c.got), (Ids{1, 1})) << "the returned 9 beats the waiting 1";
}

// Random sends, acks and nacks among several consumers with credit: whenever a
// consumer receives, no ready message of higher priority (the leased one has
// already left the ready set) was passed over.
TEST(QueueConsumers, NoConsumerEverGetsALowerPriorityWhileAHigherIsReady) {
  JobFixture f(job_limits(100'000));
  std::mt19937 rng(12345);
  std::vector<std::unique_ptr<TestConsumer>> consumers;
  uint64_t violations = 0;
  uint64_t deliveries = 0;
  for (uint32_t prefetch : {1u, 2u, 3u}) {
    consumers.push_back(std::make_unique<TestConsumer>(f.queue, Selector{}, true, prefetch));
    consumers.back()->on_deliver = [&](const Message& m) {
      ++deliveries;
      const QueueStats st = f.queue.stats();
      if (!st.depth_per_priority.empty() && st.depth_per_priority.rbegin()->first > m.priority) {
        ++violations;
      }
    };
  }
  for (int step = 0; step < 5000; ++step) {
    const int action = static_cast<int>(rng() % 4);
    if (action < 2) {
      Batch b;
      const int n = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < n; ++i) {
        b.messages.push_back(make_job({.priority = static_cast<uint8_t>(rng() % 10)}, f.clock.now));
      }
      ASSERT_EQ(f.queue.send(b, kAlice, f.first_id), Errc::ok);
    } else {
      TestConsumer& c = *consumers[rng() % consumers.size()];
      if (Message* m = c.any()) {
        if (action == 2) {
          f.queue.ack(*m);
        } else {
          f.queue.nack(*m, 0, static_cast<uint8_t>(rng() % 10));
        }
      }
    }
  }
  EXPECT_GT(deliveries, 1000u);
  EXPECT_EQ(violations, 0u);
}

TEST(QueueConsumers, ClosingTheQueueEndsEveryConsumer) {
  JobFixture f;
  TestConsumer a(f.queue, {}, true, 1);
  TestConsumer b(f.queue);
  ASSERT_EQ(f.send({{}}), Errc::ok);
  f.queue.close();
  EXPECT_EQ(a.ended, Errc::queue_removed);
  EXPECT_EQ(b.ended, Errc::queue_removed);
  EXPECT_EQ(a.count(), 0u) << "its lease ended with the queue";
}

TEST(QueueConsumers, ConsumerWhoseBestMatchIsTooBigEnds) {
  JobFixture f;
  TestConsumer c(f.queue);
  c.spec.max_size = 4;
  ASSERT_EQ(f.send({{.payload = "small"}}), Errc::ok);
  EXPECT_EQ(c.ended, Errc::too_big);
  EXPECT_EQ(f.queue.depth(), 1u) << "the message stays for others";
}

}  // namespace
}  // namespace postbox::broker
