// libpostbox's job dispatch against a real postboxd: leases and settles, scheduling, dedup,
// move, push consumers (DELIVER routing among other replies), run_consumer and AsyncClient.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "postbox/async_client.hpp"
#include "postbox/client.hpp"
#include "postbox/consumer.hpp"
#include "tests/support/client_checks.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/test_broker.hpp"

// g++ 12 with the sanitizers: a false positive on Asio's coroutine frames (GCC PR 109224).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace postbox::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;

/// Every wait a test starts ends by itself after this, so a lost message is
/// a failure rather than a hung test.
constexpr std::chrono::milliseconds kBound = 10s;

std::optional<std::string> header(const Message& m, std::string_view key) {
  for (const auto& [k, v] : m.headers)
    if (k == key) return v;
  return std::nullopt;
}

const ReceiveOptions kLeaseNow{.timeout = kNoWait, .ack = true};
const ReceiveOptions kLeaseWaiting{.timeout = kBound, .ack = true};

class JobsClient : public ::testing::Test {
 protected:
  TestBroker broker_;
  Client sut_{broker_.socket()};
};

// --- Leases and settles ----------------------------------------------------------

TEST_F(JobsClient, ReceiveWithAckLeasesUntilAckRemovesIt) {
  sut_.declare("q");
  const uint64_t id = sut_.send("q", "job");
  const Message m = must(sut_.receive("q", kLeaseNow));
  EXPECT_EQ(m.id, id);
  EXPECT_NE(m.delivery_tag, 0u);
  EXPECT_EQ(m.delivery_count, 1u);
  QueueStat s = sut_.stat("q");
  EXPECT_EQ(s.depth, 0u);
  EXPECT_EQ(s.leased, 1u);
  EXPECT_FALSE(sut_.receive("q", {.timeout = kNoWait}));  // leased: not for anyone else

  sut_.ack(m.delivery_tag);
  s = sut_.stat("q");
  EXPECT_EQ(s.leased, 0u);
  EXPECT_EQ(s.acked_total, 1u);
  Error twice = error_of([&] { sut_.ack(m.delivery_tag); });
  EXPECT_EQ(twice.errc(), Errc::no_such_lease);
  EXPECT_NE(std::string(twice.what()).find(std::to_string(m.delivery_tag)), std::string::npos)
      << twice.what();
}

TEST_F(JobsClient, AutoAckedMessagesHaveNoTagToSettle) {
  sut_.declare("q");
  sut_.send("q", "x");
  const Message m = must(sut_.receive("q", {.timeout = kNoWait}));
  EXPECT_EQ(m.delivery_tag, 0u);
  EXPECT_EQ(error_of([&] { sut_.ack(m.delivery_tag); }).errc(), Errc::invalid_argument);
}

TEST_F(JobsClient, NackWithDelayAndPriorityRedeliversLaterWithCountTwo) {
  sut_.declare("q");
  sut_.send("q", "retry me", {.priority = 1});
  const Message first = must(sut_.receive("q", kLeaseNow));
  const auto nacked_at = Clock::now();
  sut_.nack(first.delivery_tag, {.delay = 300ms, .priority = 7});
  EXPECT_FALSE(sut_.receive("q", {.timeout = kNoWait}));  // delayed: invisible
  EXPECT_EQ(sut_.stat("q").delayed, 1u);
  const Message again = must(sut_.receive("q", kLeaseWaiting));
  EXPECT_GE(Clock::now() - nacked_at, 300ms);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.priority, 7);
  EXPECT_EQ(again.delivery_count, 2u);
  EXPECT_EQ(sut_.stat("q").nacked_total, 1u);
  sut_.ack(again.delivery_tag);
}

TEST_F(JobsClient, NackWithoutOptionsKeepsThePlaceAndPriority) {
  sut_.declare("q");
  sut_.send("q", "a", {.priority = 5});
  sut_.send("q", "b", {.priority = 5});
  const Message a = must(sut_.receive("q", kLeaseNow));
  sut_.nack(a.delivery_tag);
  const Message next = must(sut_.receive("q", kLeaseNow));
  EXPECT_EQ(next.payload, "a");  // back in its original place, ahead of b
  EXPECT_EQ(next.priority, 5);
}

TEST_F(JobsClient, ExpiredLeaseReturnsTheMessageWithCountTwo) {
  sut_.declare("q");
  sut_.send("q", "slow");
  const Message m = must(sut_.receive("q", {.timeout = kNoWait, .ack = true, .lease = 100ms}));
  const Message again = must(sut_.receive("q", kLeaseWaiting));
  EXPECT_EQ(again.id, m.id);
  EXPECT_EQ(again.delivery_count, 2u);
  EXPECT_EQ(sut_.stat("q").lease_expired_total, 1u);
  EXPECT_EQ(error_of([&] { sut_.ack(m.delivery_tag); }).errc(), Errc::no_such_lease);
}

TEST_F(JobsClient, TouchKeepsALeaseAlivePastItsLength) {
  sut_.declare("q");
  sut_.send("q", "long job");
  const Message m = must(sut_.receive("q", {.timeout = kNoWait, .ack = true, .lease = 200ms}));
  sut_.touch(m.delivery_tag, 20s);
  // The original 200 ms pass three times over without the message coming back.
  EXPECT_FALSE(sut_.receive("q", {.timeout = 600ms}));
  EXPECT_EQ(sut_.stat("q").lease_expired_total, 0u);
  sut_.ack(m.delivery_tag);
  EXPECT_EQ(error_of([&] { sut_.touch(m.delivery_tag); }).errc(), Errc::no_such_lease);
}

TEST_F(JobsClient, RejectSendsToTheDeadLetterQueueWithItsHistory) {
  sut_.declare("dead");
  sut_.declare("q", {.dead_letter = "dead"});
  EXPECT_EQ(sut_.stat("q").dead_letter, "dead");
  sut_.send("q", "poison", {.type = 4, .headers = {{"k", "v"}}});
  const Message m = must(sut_.receive("q", kLeaseNow));
  sut_.reject(m.delivery_tag);
  const Message d = must(sut_.receive("dead", {.timeout = kNoWait}));
  EXPECT_EQ(d.payload, "poison");
  EXPECT_EQ(d.type, 4);
  EXPECT_EQ(header(d, "k"), "v");
  EXPECT_EQ(header(d, "x-death-queue"), "q");
  EXPECT_EQ(header(d, "x-death-reason"), "rejected");
  EXPECT_EQ(header(d, "x-death-count"), "1");
  EXPECT_EQ(sut_.stat("q").dead_lettered_total, 1u);
}

TEST_F(JobsClient, MaxDeliveriesDeadLettersTheMessageReturnedOnceTooOften) {
  sut_.declare("dead");
  sut_.declare("q", {.max_deliveries = 2, .dead_letter = "dead"});
  sut_.send("q", "flaky");
  for (int i = 0; i < 2; ++i) sut_.nack(must(sut_.receive("q", kLeaseNow)).delivery_tag);
  EXPECT_FALSE(sut_.receive("q", {.timeout = kNoWait}));
  const Message d = must(sut_.receive("dead", {.timeout = kNoWait}));
  EXPECT_EQ(header(d, "x-death-reason"), "max_deliveries");
  EXPECT_EQ(header(d, "x-death-count"), "2");
}

TEST_F(JobsClient, BatchSettlesReturnTheTagsThatNamedNoLease) {
  sut_.declare("q");
  for (const char* p : {"a", "b", "c"}) sut_.send("q", p);
  auto leased = sut_.receive_many("q", 3, kLeaseNow);
  ASSERT_EQ(leased.size(), 3u);
  sut_.ack(leased[1].delivery_tag);
  const std::vector<uint64_t> tags = {leased[0].delivery_tag, leased[1].delivery_tag,
                                      leased[2].delivery_tag};
  EXPECT_EQ(sut_.touch(tags, 5s), (std::vector<uint64_t>{leased[1].delivery_tag}));
  EXPECT_EQ(sut_.ack(tags), (std::vector<uint64_t>{leased[1].delivery_tag}));
  EXPECT_EQ(sut_.stat("q").acked_total, 3u);
}

TEST_F(JobsClient, PipelinedSettlesAnswerWithSettledAndMissing) {
  sut_.declare("q");
  sut_.send("q", "a");
  const Message m = must(sut_.receive("q", kLeaseNow));
  const std::vector<uint64_t> tag = {m.delivery_tag};
  auto touch = sut_.start_touch(tag);
  auto ack = sut_.start_ack(tag);
  auto again = sut_.start_ack(tag);
  EXPECT_EQ(sut_.wait(touch).settled, 1u);
  EXPECT_EQ(sut_.wait(ack).settled, 1u);
  Reply r = sut_.wait(again);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.settled, 0u);
  EXPECT_EQ(r.missing, tag);
}

TEST_F(JobsClient, DetachedLeasesMaySettleFromAnotherConnectionBoundOnesReturnOnClose) {
  sut_.declare("q");
  sut_.send("q", "detached");
  sut_.send("q", "bound");
  Client holder(broker_.socket());
  const Message d = must(holder.receive("q", {.timeout = kNoWait, .ack = true, .detached = true}));
  const Message b = must(holder.receive("q", kLeaseNow));
  EXPECT_EQ(d.payload, "detached");
  // Only the detached lease may be settled by someone else.
  EXPECT_EQ(error_of([&] { sut_.ack(b.delivery_tag); }).errc(), Errc::no_such_lease);
  holder.close();
  // The bound lease came back when its connection closed; the detached one did not.
  const Message back = must(sut_.receive("q", kLeaseWaiting));
  EXPECT_EQ(back.payload, "bound");
  EXPECT_EQ(back.delivery_count, 2u);
  sut_.ack(d.delivery_tag);
  EXPECT_EQ(sut_.stat("q").leased, 1u);  // only `back`, leased to sut_ now
}

// --- Scheduling, dedup, move --------------------------------------------------------

TEST_F(JobsClient, DelayedSendIsInvisibleUntilDue) {
  sut_.declare("q");
  const auto sent_at = Clock::now();
  sut_.send("q", "later", {.delay = 300ms});
  sut_.send("q", "now");
  EXPECT_EQ(must(sut_.receive("q", {.timeout = kNoWait})).payload, "now");
  EXPECT_EQ(sut_.stat("q").delayed, 1u);
  EXPECT_EQ(must(sut_.receive("q", {.timeout = kBound})).payload, "later");
  EXPECT_GE(Clock::now() - sent_at, 300ms);
}

TEST_F(JobsClient, DueTimeWorksLikeADelay) {
  sut_.declare("q");
  const auto sent_at = Clock::now();
  sut_.send("q", "at", {.due = std::chrono::system_clock::now() + 200ms});
  EXPECT_FALSE(sut_.receive("q", {.timeout = kNoWait}));
  EXPECT_EQ(must(sut_.receive("q", {.timeout = kBound})).payload, "at");
  EXPECT_GE(Clock::now() - sent_at, 190ms);  // system and steady clocks may differ slightly
}

TEST_F(JobsClient, TtlExpiredMessageIsNeverDelivered) {
  sut_.declare("q");
  sut_.send("q", "short-lived", {.ttl = 50ms});
  sut_.send("q", "keeper");
  ASSERT_TRUE(eventually([&] { return sut_.stat("q").expired_total == 1; }));
  EXPECT_EQ(must(sut_.receive("q", {.timeout = kNoWait})).payload, "keeper");
  EXPECT_FALSE(sut_.receive("q", {.timeout = kNoWait}));
}

TEST_F(JobsClient, DuplicateKeyAddsNothingAndNamesTheHeldMessage) {
  sut_.declare("q");
  const SendResult first = sut_.send("q", "one", {.dedup_key = "k"});
  EXPECT_FALSE(first.duplicate());
  const SendResult again = sut_.send("q", "two", {.priority = 3, .dedup_key = "k"});
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.id(), first.id());
  std::vector<OutgoingMessage> batch = {{.payload = "x", .dedup_key = "k"},
                                        {.payload = "y", .dedup_key = "other"}};
  const SendResult b = sut_.send_batch("q", batch);
  EXPECT_EQ(b.count, 2u);
  EXPECT_TRUE(b.duplicate(0));
  EXPECT_FALSE(b.duplicate(1));
  EXPECT_EQ(b.id(0), first.id());
  EXPECT_EQ(b.id(1), b.first_id + 1);
  const QueueStat s = sut_.stat("q");
  EXPECT_EQ(s.depth, 2u);
  EXPECT_EQ(s.deduplicated_total, 2u);
  const Message m = must(sut_.receive("q", {.timeout = kNoWait}));
  EXPECT_EQ(m.payload, "one");
  EXPECT_EQ(m.priority, 3);  // the duplicate raised it
  // Once it is gone the key is free again.
  EXPECT_FALSE(sut_.send("q", "three", {.dedup_key = "k"}).duplicate());
}

TEST_F(JobsClient, MoveTakesReadyMessagesInOrderKeepingTheirProperties) {
  sut_.declare("a");
  sut_.declare("b");
  sut_.send("a", "1", {.type = 1, .correlation_id = "c1"});
  sut_.send("a", "2", {.type = 2});
  sut_.send("a", "3", {.type = 1});
  sut_.send("a", "4", {.type = 1});
  EXPECT_EQ(sut_.move("a", "b", {.count = 2, .type = 1}).moved, 2u);
  EXPECT_EQ(sut_.move("a", "b").moved, 2u);
  EXPECT_EQ(sut_.move("a", "b").moved, 0u);
  auto moved = sut_.receive_many("b", 10, {.timeout = kNoWait});
  EXPECT_EQ(payloads(moved), (std::vector<std::string>{"1", "3", "2", "4"}));
  EXPECT_EQ(moved[0].correlation_id, "c1");
  EXPECT_EQ(sut_.stat("b").moved_in_total, 4u);
  EXPECT_EQ(error_of([&] { sut_.move("a", "missing"); }).errc(), Errc::no_such_queue);
}

TEST_F(JobsClient, MoveIntoAFullQueueStopsAndSaysWhy) {
  sut_.declare("a");
  sut_.declare("small", {.max_messages = 1});
  sut_.send("a", "1");
  sut_.send("a", "2");
  const MoveResult r = sut_.move("a", "small");
  EXPECT_EQ(r.moved, 1u);
  EXPECT_EQ(r.stopped, "queue_full");
  EXPECT_EQ(sut_.stat("a").depth, 1u);
}

TEST_F(JobsClient, DeclareAndStatCarryTheJobSettings) {
  sut_.declare("dlq");
  const DeclareResult d =
      sut_.declare("q", {.max_deliveries = 3, .dead_letter = "dlq", .lease = 45s, .ttl = 1h});
  EXPECT_EQ(d.queue.max_deliveries, 3u);
  EXPECT_EQ(d.queue.dead_letter, "dlq");
  EXPECT_EQ(d.queue.lease_ms, 45'000u);
  EXPECT_EQ(d.queue.ttl_ms, 3'600'000u);
}

// --- Push consumers ---------------------------------------------------------------

TEST_F(JobsClient, ConsumerGetsMessagesAsTheyArriveUntilCancelled) {
  sut_.declare("q");
  const uint32_t c = sut_.consume("q");
  Client producer(broker_.socket());
  for (const char* p : {"a", "b", "c"}) producer.send("q", p);
  EXPECT_EQ(payloads(take(sut_, c, 3)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(sut_.deliveries(c, kNoWait).empty());
  EXPECT_EQ(sut_.stat("q").consumers.size(), 1u);
  EXPECT_TRUE(sut_.cancel(c).empty());
  EXPECT_TRUE(sut_.stat("q").consumers.empty());
  producer.send("q", "kept");
  EXPECT_EQ(sut_.stat("q").depth, 1u);
  EXPECT_EQ(error_of([&] { sut_.deliveries(c, kNoWait); }).errc(), Errc::invalid_argument);
}

TEST_F(JobsClient, DeliveriesArriveAmongTheRepliesOfOtherRequests) {
  sut_.declare("q");
  sut_.declare("other");
  const uint32_t c = sut_.consume("q");
  Client producer(broker_.socket());
  for (int i = 0; i < 100; ++i) producer.send("q", std::to_string(i));
  // Requests on the consuming connection while DELIVER frames stream in.
  std::vector<Client::Ticket> tickets;
  for (int i = 0; i < 50; ++i) tickets.push_back(sut_.start_send("other", "x"));
  for (auto t : tickets) EXPECT_TRUE(sut_.wait(t).ok());
  EXPECT_EQ(sut_.stat("other").depth, 50u);
  auto got = take(sut_, c, 100);
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i].payload, std::to_string(i));
}

TEST_F(JobsClient, AckConsumerHoldsAtMostPrefetchUnsettled) {
  sut_.declare("q");
  for (int i = 0; i < 5; ++i) sut_.send("q", std::to_string(i));
  const uint32_t c = sut_.consume("q", {.ack = true, .prefetch = 2});
  auto first = take(sut_, c, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_TRUE(sut_.deliveries(c, 200ms).empty());  // no credit left
  QueueStat s = sut_.stat("q");
  ASSERT_EQ(s.consumers.size(), 1u);
  EXPECT_EQ(s.consumers[0].consumer, c);
  EXPECT_TRUE(s.consumers[0].ack);
  EXPECT_EQ(s.consumers[0].prefetch, 2u);
  EXPECT_EQ(s.consumers[0].unacked, 2u);
  EXPECT_EQ(s.consumers[0].pid, static_cast<uint32_t>(::getpid()));
  sut_.ack(first[0].delivery_tag);  // one credit back: one more message
  auto next = take(sut_, c, 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].payload, "2");
  // Cancelled, its unsettled leases stay ours.
  EXPECT_TRUE(sut_.cancel(c).empty());
  EXPECT_EQ(sut_.stat("q").leased, 2u);
  sut_.ack(std::vector<uint64_t>{first[1].delivery_tag, next[0].delivery_tag});
  EXPECT_EQ(sut_.stat("q").depth, 2u);
}

TEST_F(JobsClient, DeletingTheQueueEndsItsConsumerWithQueueRemoved) {
  sut_.declare("q");
  const uint32_t c = sut_.consume("q");
  Client admin(broker_.socket());
  admin.remove("q");
  Error e = error_of([&] { sut_.deliveries(c, kBound); });
  EXPECT_EQ(e.errc(), Errc::queue_removed);
  EXPECT_TRUE(sut_.cancel(c).empty());
  EXPECT_EQ(error_of([&] { sut_.consume("q"); }).errc(), Errc::no_such_queue);
}

TEST_F(JobsClient, RunConsumerSettlesEachOutcomeAndStopsAtTheLimit) {
  sut_.declare("dead");
  sut_.declare("q", {.dead_letter = "dead"});
  Client producer(broker_.socket());
  for (int i = 0; i < 20; ++i) producer.send("q", i == 3 ? "bad" : i == 5 ? "retry" : "ok");
  std::vector<std::string> seen;
  auto handler = [&](const Message& m) {
    seen.push_back(m.payload);
    if (m.payload == "bad") return Outcome::reject();
    if (m.payload == "retry" && m.delivery_count == 1) return Outcome::nack();
    return Outcome::ack();
  };
  ConsumerSummary s = run_consumer(sut_, "q", {.ack = true, .prefetch = 4}, handler, {.limit = 21});
  EXPECT_EQ(s.handled, 21u);  // 20 messages, one of them twice
  EXPECT_EQ(s.acked, 19u);
  EXPECT_EQ(s.nacked, 1u);
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(s.returned, 0u);  // the limit kept the broker from pushing more
  EXPECT_TRUE(s.missing.empty());
  const QueueStat q = sut_.stat("q");
  EXPECT_EQ(q.depth, 0u);
  EXPECT_EQ(q.leased, 0u);
  EXPECT_EQ(q.acked_total, 19u);
  EXPECT_TRUE(q.consumers.empty());
  EXPECT_EQ(must(sut_.receive("dead", {.timeout = kNoWait})).payload, "bad");
}

TEST_F(JobsClient, RunConsumerLimitPushesNoMoreThanTheLimit) {
  sut_.declare("q");
  for (int i = 0; i < 10; ++i) sut_.send("q", std::to_string(i));
  ConsumerSummary s = run_consumer(sut_, "q", {.ack = true, .prefetch = 8},
                                   [](const Message&) { return Outcome::ack(); }, {.limit = 3});
  EXPECT_EQ(s.handled, 3u);
  EXPECT_EQ(s.acked, 3u);
  EXPECT_EQ(s.returned, 0u);
  const QueueStat q = sut_.stat("q");
  EXPECT_EQ(q.depth, 7u);
  EXPECT_EQ(q.redelivered_total, 0u);  // nothing was pushed and handed back
}

TEST_F(JobsClient, RunConsumerStopsOnTheFlagAndReturnsWhatItHeld) {
  sut_.declare("q");
  for (int i = 0; i < 10; ++i) sut_.send("q", std::to_string(i));
  std::atomic<bool> stop{false};
  ConsumerSummary s =
      run_consumer(sut_, "q", {.ack = true, .prefetch = 10},
                   [&](const Message&) {
                     stop = true;  // as a signal handler would, in the middle of a batch
                     return Outcome::ack();
                   },
                   {.stop = &stop});
  EXPECT_EQ(s.handled, 1u);
  EXPECT_EQ(s.acked, 1u);
  EXPECT_EQ(s.returned, 9u);
  const QueueStat q = sut_.stat("q");
  EXPECT_EQ(q.depth, 9u);
  EXPECT_EQ(q.leased, 0u);
  EXPECT_EQ(must(sut_.receive("q", {.timeout = kNoWait})).payload, "1");  // order kept
}

TEST_F(JobsClient, RunConsumerWithoutAckHandsBackWhatItDidNotHandle) {
  sut_.declare("q");
  for (int i = 0; i < 5; ++i) sut_.send("q", std::to_string(i));
  // Wait until all five are pushed before the handler asks to stop.
  ConsumerSummary s = run_consumer(sut_, "q", {}, [&](const Message& m) {
    EXPECT_TRUE(eventually([&] { return sut_.stat("q").depth == 0; }));
    return m.payload == "1" ? Outcome::ack().and_stop() : Outcome::ack();
  });
  EXPECT_EQ(s.handled, 2u);
  EXPECT_EQ(payloads(s.unhandled), (std::vector<std::string>{"2", "3", "4"}));
}

TEST_F(JobsClient, RunConsumerRethrowsTheHandlersExceptionAfterReturningItsMessages) {
  sut_.declare("q");
  for (int i = 0; i < 3; ++i) sut_.send("q", std::to_string(i));
  EXPECT_THROW(run_consumer(sut_, "q", {.ack = true},
                            [](const Message&) -> Outcome { throw std::runtime_error("boom"); }),
               std::runtime_error);
  const QueueStat q = sut_.stat("q");
  EXPECT_EQ(q.depth, 3u);
  EXPECT_EQ(q.leased, 0u);
  EXPECT_TRUE(q.consumers.empty());
}

// --- AsyncClient ----------------------------------------------------------------

class JobsAsyncClient : public ::testing::Test {
 protected:
  template <class Scenario>
  void run(Scenario scenario) {
    asio::io_context io;
    bool done = false;
    std::exception_ptr thrown;
    asio::co_spawn(io, scenario(io), [&](std::exception_ptr e) {
      done = true;
      thrown = e;
    });
    io.run_for(30s);
    ASSERT_TRUE(done) << "the scenario did not finish within the bound";
    if (thrown) std::rethrow_exception(thrown);
  }

  TestBroker broker_;
};

TEST_F(JobsAsyncClient, ReceiveWithAckThenSettle) {
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());
    co_await sut.connect(broker_.socket());
    co_await sut.declare("q");
    const SendOptions keyed{.dedup_key = "k"};
    const SendResult sent = co_await sut.send_result("q", "a", keyed);
    const SendResult dup = co_await sut.send_result("q", "b", keyed);
    EXPECT_TRUE(dup.duplicate());
    EXPECT_EQ(dup.id(), sent.id());
    const ReceiveOptions lease{.timeout = kNoWait, .ack = true};
    const Message m = must(co_await sut.receive("q", lease));
    EXPECT_NE(m.delivery_tag, 0u);
    co_await sut.touch(m.delivery_tag);
    const NackOptions back{};
    co_await sut.nack(m.delivery_tag, back);
    const Message again = must(co_await sut.receive("q", lease));
    EXPECT_EQ(again.delivery_count, 2u);
    co_await sut.ack(again.delivery_tag);
    bool missing = false;
    try {
      co_await sut.reject(again.delivery_tag);
    } catch (const Error& e) {
      missing = e.errc() == Errc::no_such_lease;
    }
    EXPECT_TRUE(missing);
    const std::vector<uint64_t> tags = {again.delivery_tag};
    EXPECT_EQ(co_await sut.ack(tags), tags);
  });
}

TEST_F(JobsAsyncClient, ConsumerDeliveriesCompleteAsMessagesArrive) {
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());
    co_await sut.connect(broker_.socket());
    co_await sut.declare("q");
    const ConsumeOptions ack{.ack = true, .prefetch = 8};
    const uint32_t c = co_await sut.consume("q", ack);
    co_await sut.send("q", "a");
    co_await sut.send("q", "b");
    std::vector<Message> got;
    while (got.size() < 2) {
      auto more = co_await sut.deliveries(c);
      got.insert(got.end(), more.begin(), more.end());
    }
    EXPECT_EQ(payloads(got), (std::vector<std::string>{"a", "b"}));
    const std::vector<uint64_t> tags = {got[0].delivery_tag, got[1].delivery_tag};
    EXPECT_TRUE((co_await sut.ack(tags)).empty());
    EXPECT_TRUE((co_await sut.cancel(c)).empty());
    EXPECT_EQ((co_await sut.stat("q")).acked_total, 2u);
  });
}

}  // namespace
}  // namespace postbox::testing
