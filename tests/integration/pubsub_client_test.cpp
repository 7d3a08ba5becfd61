// libpostbox's publish/subscribe against a real postboxd: bindings, fan-out with everything
// kept, overflow under publish, subscriptions (two subscribers in order, the queue dying with
// its connection), request/reply with run_responder, and the AsyncClient calls.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "postbox/async_client.hpp"
#include "postbox/client.hpp"
#include "postbox/responder.hpp"
#include "tests/support/client_checks.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_broker.hpp"

// g++ 12 with the sanitizers: a false positive on Asio's coroutine frames (GCC PR 109224).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace postbox::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;

constexpr auto kBound = kEventuallyBound;  // every wait a test starts ends by itself
constexpr uid_t kNobody = 65534;

bool has_queue(Client& c, std::string_view name) {
  for (const auto& q : c.list())
    if (q.name == name) return true;
  return false;
}

const ReceiveOptions kNow{.timeout = kNoWait};

class PubSubClient : public ::testing::Test {
 protected:
  TestBroker broker_;
  Client sut_{broker_.socket()};
};

// --- Bindings --------------------------------------------------------------------

TEST_F(PubSubClient, BindUnbindAndBindingsSayWhatChanged) {
  sut_.declare("q");
  sut_.declare("r");
  EXPECT_TRUE(sut_.bind("q", "a.*"));
  EXPECT_FALSE(sut_.bind("q", "a.*"));
  EXPECT_TRUE(sut_.bind("q", "#"));
  EXPECT_TRUE(sut_.bind("r", "b.#"));
  Bindings all = sut_.bindings();
  std::sort(all.bindings.begin(), all.bindings.end(),
            [](const Binding& a, const Binding& b) { return a.pattern < b.pattern; });
  EXPECT_EQ(all.bindings, (std::vector<Binding>{{"q", "#"}, {"q", "a.*"}, {"r", "b.#"}}));
  EXPECT_EQ(sut_.bindings("r").bindings, (std::vector<Binding>{{"r", "b.#"}}));
  QueueStat s = sut_.stat("q");
  std::sort(s.bindings.begin(), s.bindings.end());
  EXPECT_EQ(s.bindings, (std::vector<std::string>{"#", "a.*"}));
  EXPECT_FALSE(s.temporary);
  for (const auto& row : sut_.list()) EXPECT_EQ(row.bindings, row.name == "q" ? 2u : 1u);
  EXPECT_TRUE(sut_.unbind("q", "a.*"));
  EXPECT_FALSE(sut_.unbind("q", "a.*"));
  EXPECT_EQ(sut_.bindings("q").bindings, (std::vector<Binding>{{"q", "#"}}));
}

TEST_F(PubSubClient, BadPatternsAndMissingQueuesAreRefused) {
  sut_.declare("q");
  for (const char* bad : {"a..b", ".a", "a.", "", "a*", "#b"})
    EXPECT_EQ(error_of([&] { sut_.bind("q", bad); }).errc(), Errc::invalid_argument) << bad;
  EXPECT_EQ(error_of([&] { sut_.bind("missing", "a"); }).errc(), Errc::no_such_queue);
  EXPECT_EQ(error_of([&] { sut_.bindings("missing"); }).errc(), Errc::no_such_queue);
}

// --- Publish ----------------------------------------------------------------------

TEST_F(PubSubClient, APublicationReachesExactlyTheMatchingQueuesOnceWithEverythingKept) {
  for (const char* q : {"both", "suffix", "other"}) sut_.declare(q);
  sut_.bind("both", "a.*");
  sut_.bind("both", "a.#");  // two matching bindings: still one copy
  sut_.bind("suffix", "#.c");
  sut_.bind("other", "b.*");
  SendOptions o;
  o.type = 5;
  o.priority = 7;
  o.correlation_id = "corr";
  o.headers = {{"k", "v"}, {"k", "w"}};
  const std::string payload("bin\0ary", 7);
  EXPECT_EQ(sut_.publish("a.c", payload, o), (PublishResult{2, 0, 0}));
  for (const char* q : {"both", "suffix"}) {
    SCOPED_TRACE(q);
    auto got = sut_.receive_many(q, 10, kNow);
    ASSERT_EQ(got.size(), 1u);
    const Message& m = got[0];
    EXPECT_EQ(m.topic, "a.c");
    EXPECT_EQ(m.type, 5);
    EXPECT_EQ(m.priority, 7);
    EXPECT_EQ(m.payload, payload);
    EXPECT_EQ(m.correlation_id, "corr");
    EXPECT_EQ(m.headers, o.headers);
    EXPECT_EQ(sut_.stat(q).published_total, 1u);
  }
  EXPECT_EQ(sut_.stat("other").depth, 0u);
}

TEST_F(PubSubClient, BatchesKeepTheirOrderAndEachMessagesOwnType) {
  sut_.declare("q");
  sut_.bind("q", "t");
  std::vector<OutgoingMessage> batch(3);
  for (int i = 0; i < 3; ++i) batch[i] = {.payload = "m" + std::to_string(i), .type = i + 1};
  EXPECT_EQ(sut_.publish_batch("t", batch).queues, 1u);
  const std::vector<std::string> more = {"x", "y"};
  EXPECT_EQ(sut_.publish_batch("t", more).queues, 1u);
  auto got = sut_.receive_many("q", 10, kNow);
  EXPECT_EQ(payloads(got), (std::vector<std::string>{"m0", "m1", "m2", "x", "y"}));
  EXPECT_EQ(got[2].type, 3);
}

TEST_F(PubSubClient, PublishingToATopicNobodyWantsIsCountedNotAnError) {
  const Bindings before = sut_.bindings();
  EXPECT_EQ(sut_.publish("nobody.home", "x"), (PublishResult{0, 0, 0}));
  const Bindings after = sut_.bindings();
  EXPECT_EQ(after.published_total, before.published_total + 1);
  EXPECT_EQ(after.unroutable_total, before.unroutable_total + 1);
}

TEST_F(PubSubClient, PipelinedPublishesReportInTheirReplies) {
  sut_.declare("q");
  sut_.bind("q", "p.*");
  auto a = sut_.start_publish("p.one", "1");
  auto b = sut_.start_publish("nobody", "2");
  EXPECT_EQ(sut_.wait(b).published.queues, 0u);
  EXPECT_EQ(sut_.wait(a).published.queues, 1u);
}

TEST_F(PubSubClient, AFullDropNewQueueDropsItsCopyAndTheOthersAreServed) {
  QueueOptions small;
  small.max_messages = 1;
  small.overflow = Overflow::drop_new;
  sut_.declare("small", small);
  sut_.declare("big");
  sut_.bind("small", "e");
  sut_.bind("big", "e");
  EXPECT_EQ(sut_.publish("e", "1"), (PublishResult{2, 0, 0}));
  EXPECT_EQ(sut_.publish("e", "2"), (PublishResult{1, 0, 1}));
  const QueueStat s = sut_.stat("small");
  EXPECT_EQ(s.overflow, Overflow::drop_new);
  EXPECT_EQ(s.depth, 1u);
  EXPECT_EQ(s.dropped_total, 1u);
  EXPECT_EQ(sut_.stat("big").depth, 2u);
  // A direct send to it is refused as under reject.
  SendOptions now;
  now.timeout = kNoWait;
  EXPECT_EQ(error_of([&] { sut_.send("small", "3", now); }).errc(), Errc::queue_full);
}

TEST_F(PubSubClient, AFullRejectQueueFailsThePublishForEveryoneNamingIt) {
  QueueOptions small;
  small.max_messages = 1;
  sut_.declare("small", small);
  sut_.declare("big");
  sut_.bind("small", "e");
  sut_.bind("big", "e");
  sut_.publish("e", "1");
  Error e = error_of([&] { sut_.publish("e", "2"); });
  EXPECT_EQ(e.errc(), Errc::queue_full);
  EXPECT_NE(std::string(e.what()).find("small"), std::string::npos) << e.what();
  EXPECT_EQ(sut_.stat("big").depth, 1u);
}

TEST_F(PubSubClient, AQueueThePublisherMayNotWriteGetsNothingAndTheOthersAreServed) {
  QueueOptions open;
  open.mode = 0666;
  sut_.declare("private");  // 0600, root's
  sut_.declare("public", open);
  sut_.bind("private", "x");
  sut_.bind("public", "x");
  const std::string socket = broker_.socket();
  EXPECT_EQ(run_as(kNobody,
                   [&] {
                     Client c(socket);
                     PublishResult r = c.publish("x", "hi");
                     return r == PublishResult{1, 1, 0} ? 0 : 1;
                   }),
            0);
  EXPECT_EQ(sut_.stat("private").depth, 0u);
  EXPECT_EQ(sut_.stat("public").depth, 1u);
}

// --- Subscriptions ----------------------------------------------------------------

TEST_F(PubSubClient, TwoSubscribersBothGetEveryMessageInOrder) {
  Client a(broker_.socket()), b(broker_.socket());
  const std::vector<std::string> patterns = {"s.#", "never.*"};
  const Subscription sa = a.subscribe(patterns);
  const Subscription sb = b.subscribe("s.*");
  EXPECT_NE(sa.queue, sb.queue);
  EXPECT_TRUE(sut_.stat(sa.queue).temporary);
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    sent.push_back("m" + std::to_string(i));
    EXPECT_EQ(sut_.publish("s.x", sent.back()).queues, 2u);
  }
  for (auto [client, sub] : {std::pair{&a, &sa}, std::pair{&b, &sb}}) {
    auto got = take(*client, sub->consumer, sent.size());
    EXPECT_EQ(payloads(got), sent);
    for (const auto& m : got) EXPECT_EQ(m.topic, "s.x");
  }
}

TEST_F(PubSubClient, ASubscriptionsQueueDisappearsWithItsConnection) {
  std::string queue;
  {
    Client sub(broker_.socket());
    queue = sub.subscribe("gone.#").queue;
    EXPECT_EQ(queue.rfind("tmp.", 0), 0u) << queue;
    EXPECT_TRUE(has_queue(sut_, queue));
    // Only its connection may take from it.
    EXPECT_EQ(error_of([&] { sut_.receive(queue, kNow); }).errc(), Errc::permission_denied);
  }
  EXPECT_TRUE(eventually([&] { return !has_queue(sut_, queue); }));
  EXPECT_TRUE(sut_.bindings().bindings.empty());
  EXPECT_EQ(sut_.publish("gone.x", "late").queues, 0u);
}

TEST_F(PubSubClient, ASubscriptionWithABadPatternLeavesNoQueueBehind) {
  const std::vector<std::string> patterns = {"ok.*", "bad..pattern"};
  EXPECT_EQ(error_of([&] { sut_.subscribe(patterns); }).errc(), Errc::invalid_argument);
  for (const auto& q : sut_.list()) EXPECT_NE(q.name.rfind("tmp.", 0), 0u) << q.name;
  EXPECT_EQ(error_of([&] { sut_.subscribe(std::span<const std::string>{}); }).errc(),
            Errc::invalid_argument);
}

// --- Request/reply ----------------------------------------------------------------

/// run_responder on its own connection and thread until stopped.
class Responder {
 public:
  /// Serves `queue`, or with none a subscription to `patterns`.
  Responder(const std::string& socket, std::vector<std::string> patterns, std::string queue = "")
      : client_(socket) {
    // Bound before the thread starts, so a request made right after finds it.
    if (queue.empty()) queue = client_.subscription_queue(patterns);
    ResponderOptions options;
    options.loop.stop = &stop_;
    options.loop.stop_check = 10ms;
    thread_ = std::thread([this, queue, options] {
      summary_ = run_responder(
          client_, queue,
          [](const Message& m) -> std::optional<Response> {
            if (m.payload == "silence") return std::nullopt;
            return "re: " + m.payload;
          },
          options);
    });
  }
  ~Responder() { stop(); }
  const ResponderSummary& stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return summary_;
  }

 private:
  Client client_;
  std::atomic<bool> stop_{false};
  ResponderSummary summary_;
  std::thread thread_;
};

TEST_F(PubSubClient, RequestToATopicGetsTheResponderReplyWithItsCorrelationId) {
  Responder responder(broker_.socket(), {"svc.*"});
  RequestOptions o;
  o.timeout = kBound;
  auto reply = sut_.request("svc.echo", "one", o);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload, "re: one");
  ASSERT_TRUE(reply->correlation_id);
  auto second = sut_.request("svc.echo", "two", o);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->payload, "re: two");
  EXPECT_NE(second->correlation_id, reply->correlation_id);
  // One reply queue per client, temporary, reused.
  EXPECT_TRUE(sut_.stat(sut_.reply_queue()).temporary);
  const ResponderSummary s = responder.stop();
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(s.replied, 2u);
}

TEST_F(PubSubClient, RequestToAQueueOfThatNameIsASend) {
  sut_.declare("svc");
  Responder responder(broker_.socket(), {}, "svc");
  RequestOptions o;
  o.timeout = kBound;
  auto reply = sut_.request("svc", "q", o);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload, "re: q");
  o.to = RequestTarget::queue;
  EXPECT_EQ(sut_.request("svc", "again", o)->payload, "re: again");
}

TEST_F(PubSubClient, StaleRepliesAreDroppedAndTimeoutsReturnNothing) {
  Responder responder(broker_.socket(), {"svc.*"});
  const std::string replies = sut_.reply_queue();
  SendOptions stale;
  stale.correlation_id = "an-old-request";
  Client other(broker_.socket());
  other.send(replies, "stale", stale);
  RequestOptions o;
  o.timeout = kBound;
  EXPECT_EQ(sut_.request("svc.x", "fresh", o)->payload, "re: fresh");
  EXPECT_EQ(sut_.stat(replies).depth, 0u);  // the stale one was taken and dropped
  o.timeout = 200ms;
  const auto start = Clock::now();
  EXPECT_FALSE(sut_.request("svc.x", "silence", o));
  EXPECT_GE(Clock::now() - start, 200ms);
  EXPECT_EQ(responder.stop().declined, 1u);
}

TEST_F(PubSubClient, ARequestNobodyCanTakeFailsAtOnceWithNoRoute) {
  RequestOptions o;
  o.timeout = kBound;
  const auto start = Clock::now();
  Error e = error_of([&] { sut_.request("no.such.service", "x", o); });
  EXPECT_EQ(e.errc(), Errc::no_route);
  EXPECT_LT(Clock::now() - start, kBound / 2);
  o.to = RequestTarget::queue;
  EXPECT_EQ(error_of([&] { sut_.request("no.such.service", "x", o); }).errc(), Errc::no_such_queue);
}

TEST_F(PubSubClient, TheResponderSkipsMessagesWithoutReplyToAndCountsRepliesItCouldNotSend) {
  sut_.declare("svc");
  sut_.send("svc", "no reply_to");
  SendOptions gone;
  gone.reply_to = "no-such-queue";
  sut_.send("svc", "reply queue gone", gone);
  sut_.send("svc", "last");
  Client client(broker_.socket());
  ResponderOptions options;
  options.loop.limit = 3;
  uint64_t handled = 0;
  const ResponderSummary s = run_responder(
      client, "svc",
      [&](const Message&) -> std::optional<Response> {
        ++handled;
        return "r";
      },
      options);
  EXPECT_EQ(s.requests, 3u);
  EXPECT_EQ(s.skipped, 2u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.replied, 0u);
  EXPECT_EQ(handled, 1u);
}

// --- AsyncClient ------------------------------------------------------------------

TEST_F(PubSubClient, AsyncClientBindsPublishesAndSubscribes) {
  asio::io_context io;
  bool done = false;
  std::exception_ptr thrown;
  auto scenario = [&]() -> asio::awaitable<void> {
    AsyncClient c(io.get_executor());
    co_await c.connect(broker_.socket());
    co_await c.declare("q");
    EXPECT_TRUE(co_await c.bind("q", "a.*"));
    EXPECT_FALSE(co_await c.bind("q", "a.*"));
    // Arguments named first: g++ 12 destroys a braced temporary in a co_await twice.
    std::vector<std::string> patterns = {"a.#"};
    const Subscription sub = co_await c.subscribe(patterns);
    std::optional<std::string> only = "q";
    const Bindings b = co_await c.bindings(only);
    EXPECT_EQ(b.bindings, (std::vector<Binding>{{"q", "a.*"}}));
    const PublishResult one = co_await c.publish("a.b", "x");
    EXPECT_EQ(one.queues, 2u);
    const std::vector<std::string> two = {"y", "z"};
    const PublishResult batch = co_await c.publish_batch("a.b", two);
    EXPECT_EQ(batch.queues, 2u);
    std::vector<Message> got;
    while (got.size() < 3) {
      auto more = co_await c.deliveries(sub.consumer);
      got.insert(got.end(), more.begin(), more.end());
    }
    EXPECT_EQ(payloads(got), (std::vector<std::string>{"x", "y", "z"}));
    EXPECT_EQ(got[0].topic, "a.b");
    EXPECT_TRUE(co_await c.unbind("q", "a.*"));
    std::vector<std::string> bad = {"ok", "bad..pattern"};
    bool refused = false;
    try {
      co_await c.subscribe(bad);
    } catch (const Error& e) {
      refused = e.errc() == Errc::invalid_argument;
    }
    EXPECT_TRUE(refused);
    const auto queues = co_await c.list();  // the good subscription's queue only
    EXPECT_EQ(std::count_if(queues.begin(), queues.end(),
                            [](const QueueSummary& q) { return q.name.starts_with("tmp."); }),
              1);
  };
  asio::co_spawn(io, scenario(), [&](std::exception_ptr e) {
    done = true;
    thrown = e;
  });
  io.run_for(30s);
  ASSERT_TRUE(done) << "the scenario did not finish within the bound";
  if (thrown) std::rethrow_exception(thrown);
}

}  // namespace
}  // namespace postbox::testing
