// Tests for broker/queue.cpp's waiter lines: who is woken, in which order, and with what.
#include "broker/queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "broker_test_support.hpp"

namespace postbox::broker {
namespace {

using namespace test;
using Ids = std::vector<uint64_t>;

TEST(QueueWaiters, ReceiversAreServedOldestFirst) {
  QueueFixture f;
  TestReceiver first;
  TestReceiver second;
  f.queue.wait_receive(first);
  f.queue.wait_receive(second);
  EXPECT_EQ(f.queue.stats().blocked_receivers, 2u);

  ASSERT_EQ(f.send({{1}}), Errc::ok);
  EXPECT_EQ(first.result, Errc::ok);
  EXPECT_EQ(ids_of(first.got), Ids{1});
  EXPECT_FALSE(second.result.has_value());
  EXPECT_EQ(f.queue.depth(), 0u);

  ASSERT_EQ(f.send({{1}}), Errc::ok);
  EXPECT_EQ(ids_of(second.got), Ids{2});
  EXPECT_EQ(f.queue.stats().blocked_receivers, 0u);
}

TEST(QueueWaiters, OnlyWaitersWhoseSelectorMatchesWake) {
  QueueFixture f;
  TestReceiver wants5(select_type(5));
  TestReceiver wants3(select_type(3));
  TestReceiver not3(select_type(3, true));
  TestReceiver at_most2(select_type(-2));
  for (TestReceiver* w : {&wants5, &wants3, &not3, &at_most2}) f.queue.wait_receive(*w);

  ASSERT_EQ(f.send({{3}}), Errc::ok);
  EXPECT_EQ(ids_of(wants3.got), Ids{1});
  EXPECT_FALSE(wants5.result || not3.result || at_most2.result);

  ASSERT_EQ(f.send({{2}}), Errc::ok);
  EXPECT_EQ(ids_of(not3.got), Ids{2}) << "older than at_most2, so it wins";
  EXPECT_FALSE(wants5.result || at_most2.result);

  ASSERT_EQ(f.send({{1}}), Errc::ok);
  EXPECT_EQ(ids_of(at_most2.got), Ids{3});
  EXPECT_FALSE(wants5.result);
  EXPECT_EQ(f.queue.stats().blocked_receivers, 1u);
}

TEST(QueueWaiters, EachWaiterTakesItsBestMatchesUpToMaxCount) {
  QueueFixture f;
  TestReceiver first(select_type(0, false, 3));
  TestReceiver second(select_type(0, false, 3));
  f.queue.wait_receive(first);
  f.queue.wait_receive(second);
  ASSERT_EQ(f.send({{1, 0}, {1, 4}, {1, 2}, {1, 4}, {1, 1}}), Errc::ok);
  EXPECT_EQ(ids_of(first.got), (Ids{2, 4, 3}));
  EXPECT_EQ(ids_of(second.got), (Ids{5, 1}));
}

TEST(QueueWaiters, PeekingWaiterLeavesTheMessageForTheNext) {
  QueueFixture f;
  ReceiveSpec peek = select_type(0);
  peek.peek = true;
  TestReceiver peeker(peek);
  TestReceiver taker;
  f.queue.wait_receive(peeker);
  f.queue.wait_receive(taker);
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  EXPECT_EQ(ids_of(peeker.got), Ids{1});
  EXPECT_EQ(ids_of(taker.got), Ids{1});
  EXPECT_EQ(taker.got[0].delivery_count, 1u) << "the peek was not a delivery";
  EXPECT_EQ(f.queue.depth(), 0u);
}

TEST(QueueWaiters, WaiterWhoseFirstMatchIsTooBigFinishesTooBig) {
  QueueFixture f;
  ReceiveSpec small = select_type(0);
  small.max_size = 4;
  TestReceiver picky(small);
  TestReceiver anyone;
  f.queue.wait_receive(picky);
  f.queue.wait_receive(anyone);
  ASSERT_EQ(f.send({{1, 0, 10}}), Errc::ok);
  EXPECT_EQ(picky.result, Errc::too_big);
  EXPECT_TRUE(picky.got.empty());
  EXPECT_EQ(ids_of(anyone.got), Ids{1}) << "the too-big message stayed for the next waiter";
}

TEST(QueueWaiters, WokenWaiterSeesMessageStillQueuedDuringDeliver) {
  QueueFixture f;
  TestReceiver w(select_type(0), kBob, &f.queue);
  f.queue.wait_receive(w);
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  ASSERT_EQ(w.got.size(), 1u);
  EXPECT_EQ(w.got[0].depth_during, 1u);
  EXPECT_EQ(f.queue.depth(), 0u);
}

// Owned by nobody once waiting: finished() destroys it, as a connection may.
class SelfDeletingReceiver final : public ReceiveWaiter {
 public:
  explicit SelfDeletingReceiver(std::vector<Errc>& log) : log_(log) {}
  void deliver(const Message&, uint32_t) override {}
  void finished(Errc r) override {
    log_.push_back(r);
    delete this;
  }

 private:
  std::vector<Errc>& log_;
};

TEST(QueueWaiters, WaiterMayDestroyItselfInFinished) {
  QueueFixture f;
  std::vector<Errc> log;
  f.queue.wait_receive(*new SelfDeletingReceiver(log));
  f.queue.wait_receive(*new SelfDeletingReceiver(log));
  f.queue.wait_receive(*new SelfDeletingReceiver(log));
  ASSERT_EQ(f.send({{1}, {1}}), Errc::ok);
  EXPECT_EQ(log, (std::vector<Errc>{Errc::ok, Errc::ok}));
  f.queue.close();
  EXPECT_EQ(log, (std::vector<Errc>{Errc::ok, Errc::ok, Errc::queue_removed}));
}

TEST(QueueWaiters, FinishedMayCancelAnotherWaiter) {
  QueueFixture f;
  TestReceiver first;
  TestReceiver second;
  first.on_finished = [&] { f.queue.cancel(second); };
  f.queue.wait_receive(first);
  f.queue.wait_receive(second);
  ASSERT_EQ(f.send({{1}, {1}}), Errc::ok);
  EXPECT_EQ(first.result, Errc::ok);
  EXPECT_FALSE(second.result.has_value());
  EXPECT_EQ(f.queue.depth(), 1u);
  EXPECT_EQ(f.queue.stats().blocked_receivers, 0u);
}

TEST(QueueWaiters, DestroyedWaiterLeavesTheLine) {
  QueueFixture f;
  auto w = std::make_unique<TestReceiver>();
  f.queue.wait_receive(*w);
  w.reset();
  EXPECT_EQ(f.queue.stats().blocked_receivers, 0u);
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  EXPECT_EQ(f.queue.depth(), 1u);
}

TEST(QueueWaiters, CancelledReceiverIsNotServed) {
  QueueFixture f;
  TestReceiver w;
  f.queue.wait_receive(w);
  f.queue.cancel(w);
  f.queue.cancel(w);  // harmless when not waiting
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  EXPECT_FALSE(w.result.has_value());
  EXPECT_EQ(f.queue.depth(), 1u);
}

TEST(QueueWaiters, BlockedSendersAreAdmittedInOrderOnReceive) {
  QueueFixture f(make_limits(1));
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  TestSender a(make_batch({{2}}));
  TestSender b(make_batch({{3}}));
  f.queue.wait_send(a);
  f.queue.wait_send(b);
  EXPECT_EQ(f.queue.stats().blocked_senders, 2u);

  ASSERT_EQ(f.receive_ids(select_type(0)), (std::pair{Errc::ok, Ids{1}}));
  EXPECT_EQ(a.result, Errc::ok);
  EXPECT_EQ(a.first_id, 2u);
  EXPECT_EQ(a.count, 1u);
  EXPECT_FALSE(b.result.has_value());

  ASSERT_EQ(f.receive_ids(select_type(0)), (std::pair{Errc::ok, Ids{2}}));
  EXPECT_EQ(b.first_id, 3u);
  EXPECT_EQ(f.queue.stats().blocked_senders, 0u);
}

TEST(QueueWaiters, HeldBackReceiverKeepsItsPlaceUntilResumed) {
  QueueFixture f;
  TestReceiver held;
  TestReceiver next;
  f.queue.wait_receive(held);
  f.queue.wait_receive(next);
  held.held_back = true;
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  EXPECT_FALSE(held.result.has_value());
  EXPECT_EQ(ids_of(next.got), Ids{1}) << "the next waiter is served meanwhile";
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  EXPECT_EQ(f.queue.depth(), 1u) << "nobody else may take it";
  held.held_back = false;
  f.queue.resume();
  EXPECT_EQ(ids_of(held.got), Ids{2});
  EXPECT_EQ(f.queue.depth(), 0u);
}

TEST(QueueWaiters, DetachAdmitsNobodyUntilResume) {
  QueueFixture f(make_limits(2));
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  TestSender big(make_batch({{1}, {1}}));  // 1 + 2 > 2
  TestSender small(make_batch({{1}}));     // fits, but waits behind big
  f.queue.wait_send(big);
  f.queue.wait_send(small);
  f.queue.detach(big);
  EXPECT_FALSE(small.result.has_value());
  EXPECT_EQ(f.queue.stats().blocked_senders, 1u);
  f.queue.resume();
  EXPECT_EQ(small.result, Errc::ok);
  EXPECT_FALSE(big.result.has_value()) << "a detached sender is never answered by the queue";
}

class OrderedDelivery final : public Delivery {
 public:
  void deliver(const Message&, uint32_t) override { ++delivered; }
  void batch_done() override { done = true; }
  int delivered = 0;
  bool done = false;
};

TEST(QueueWaiters, ReceiveFinishesItsBatchBeforeAdmittingSenders) {
  QueueFixture f(make_limits(1));
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  TestSender parked(make_batch({{1}}));
  f.queue.wait_send(parked);
  OrderedDelivery out;
  bool done_first = false;
  parked.on_finished = [&] { done_first = out.done; };
  ASSERT_EQ(f.queue.receive(select_type(0), kBob, out), Errc::ok);
  EXPECT_EQ(parked.result, Errc::ok);
  EXPECT_TRUE(done_first) << "batch_done() must come before the sender's reply";
  EXPECT_EQ(out.delivered, 1);
}

TEST(QueueWaiters, NewSendWaitsBehindBlockedSenderEvenWhenItFits) {
  QueueFixture f(make_limits(2));
  ASSERT_EQ(f.send({{1}, {1}}), Errc::ok);
  TestSender big(make_batch({{1}, {1}}));
  f.queue.wait_send(big);
  ASSERT_EQ(f.receive_ids(select_type(0)).first, Errc::ok);
  EXPECT_FALSE(big.result.has_value()) << "its batch of two does not fit yet";
  EXPECT_EQ(f.send({{1}}), Errc::queue_full) << "fairness: no overtaking";
  ASSERT_EQ(f.receive_ids(select_type(0)).first, Errc::ok);
  EXPECT_EQ(big.result, Errc::ok);
  EXPECT_EQ(f.queue.depth(), 2u);
}

TEST(QueueWaiters, PurgeAdmitsBlockedSenders) {
  QueueFixture f(make_limits(2));
  ASSERT_EQ(f.send({{1}, {1}}), Errc::ok);
  TestSender a(make_batch({{1}, {1}}));
  f.queue.wait_send(a);
  EXPECT_EQ(f.queue.purge(), 2u);
  EXPECT_EQ(a.result, Errc::ok);
  EXPECT_EQ(f.queue.depth(), 2u);
}

TEST(QueueWaiters, RaisingLimitsAdmitsBlockedSenders) {
  QueueFixture f(make_limits(1));
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  TestSender a(make_batch({{1}}));
  f.queue.wait_send(a);
  QueueAttributes attrs = f.queue.attributes();
  attrs.limits.max_messages = 2;
  f.queue.set_attributes(attrs);
  EXPECT_EQ(a.result, Errc::ok);
  EXPECT_EQ(f.queue.depth(), 2u);
}

TEST(QueueWaiters, LoweringLimitsBelowABlockedBatchFailsItTooBig) {
  QueueFixture f(make_limits(2));
  ASSERT_EQ(f.send({{1}, {1}}), Errc::ok);
  TestSender pair(make_batch({{1}, {1}}));
  TestSender single(make_batch({{1}}));
  f.queue.wait_send(pair);
  f.queue.wait_send(single);
  QueueAttributes attrs = f.queue.attributes();
  attrs.limits.max_messages = 1;
  f.queue.set_attributes(attrs);
  EXPECT_EQ(pair.result, Errc::too_big) << "could never fit: waiting would hang";
  EXPECT_FALSE(single.result.has_value());
}

TEST(QueueWaiters, CancellingTheFirstSenderAdmitsThoseBehind) {
  QueueFixture f(make_limits(2));
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  TestSender big(make_batch({{1}, {1}}));
  TestSender small(make_batch({{1}}));
  f.queue.wait_send(big);
  f.queue.wait_send(small);
  f.queue.cancel(big);
  EXPECT_FALSE(big.result.has_value()) << "cancel() does not call finished()";
  EXPECT_EQ(small.result, Errc::ok);
  EXPECT_EQ(f.queue.depth(), 2u);
}

TEST(QueueWaiters, AdmittedSenderServesWaitingReceivers) {
  QueueFixture f(make_limits(1));
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  TestReceiver wants9(select_type(9));
  f.queue.wait_receive(wants9);
  TestSender a(make_batch({{9}}));
  TestSender b(make_batch({{1}}));
  f.queue.wait_send(a);
  f.queue.wait_send(b);
  // Taking 1 admits a; its 9 goes to the waiter at once, which makes room for b.
  ASSERT_EQ(f.receive_ids(select_type(1)).first, Errc::ok);
  EXPECT_EQ(a.result, Errc::ok);
  EXPECT_EQ(ids_of(wants9.got), Ids{2});
  EXPECT_EQ(b.result, Errc::ok);
  EXPECT_EQ(f.queue.depth(), 1u);
}

TEST(QueueWaiters, CloseFinishesEveryWaiterWithQueueRemoved) {
  QueueFixture f(make_limits(1));
  ASSERT_EQ(f.send({{1}}), Errc::ok);
  TestReceiver r1(select_type(5));
  TestReceiver r2(select_type(6));
  TestSender s1(make_batch({{1}}));
  f.queue.wait_receive(r1);
  f.queue.wait_receive(r2);
  f.queue.wait_send(s1);
  f.queue.close();
  EXPECT_EQ(r1.result, Errc::queue_removed);
  EXPECT_EQ(r2.result, Errc::queue_removed);
  EXPECT_EQ(s1.result, Errc::queue_removed);
  const QueueStats s = f.queue.stats();
  EXPECT_EQ(s.blocked_receivers + s.blocked_senders, 0u);
}

}  // namespace
}  // namespace postbox::broker
