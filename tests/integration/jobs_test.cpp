// Job dispatch against a real postboxd, frame by frame: leases returned by a
// killed consumer or by expiry, max_deliveries to the dead-letter queue,
// delays and TTLs. Times are asserted only as lower bounds (never earlier
// than due); waits are the broker's own timeouts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "proto/jobs.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"
#include "tests/support/frames.hpp"
#include "tests/support/raw_conn.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using proto::Errc;
using proto::Kind;
using SteadyClock = std::chrono::steady_clock;

class Jobs : public ::testing::Test {
 protected:
  void SetUp() override {
    conn = std::make_unique<RawConn>(broker.socket());
    conn->hello();
  }
  RawFrame request(const Bytes& frame) {
    conn->send(frame);
    auto f = conn->expect();
    if (!f) throw std::runtime_error("no reply");
    return *f;
  }
  void declare(const nlohmann::json& j) {
    auto f = request(json_frame(Kind::declare, j, 1));
    ASSERT_EQ(f.header.kind, proto::reply_kind(Kind::declare)) << j.dump();
  }
  /// On a connection of its own: `conn` may have pushed frames in flight.
  nlohmann::json stat(std::string_view queue) {
    RawConn c(broker.socket());
    c.hello();
    c.send(json_frame(Kind::stat, {{"queue", queue}}, 2));
    auto f = c.expect().value();
    return nlohmann::json::parse(
        std::string(reinterpret_cast<const char*>(f.body.data()), f.body.size()));
  }
  void send(std::string_view queue, const std::vector<Out>& msgs) {
    auto f = request(send_frame(queue, msgs, 3));
    ASSERT_EQ(f.header.kind, proto::reply_kind(Kind::send)) << int(error_code_of(f));
  }
  /// Ten messages over three priorities, sent in an order that is not queue order.
  std::vector<Out> mixed_jobs() {
    std::vector<Out> msgs;
    for (int i = 0; i < 10; ++i)
      msgs.push_back({1, static_cast<uint8_t>((i * 7) % 3), "job" + std::to_string(i), {}});
    return msgs;
  }
  TestBroker broker;
  std::unique_ptr<RawConn> conn;
};

// The payloads in the order a queue delivers them: priority desc, then sending order.
std::vector<std::string> queue_order(const std::vector<Out>& msgs) {
  std::vector<const Out*> sorted;
  for (const Out& m : msgs) sorted.push_back(&m);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Out* a, const Out* b) { return a->priority > b->priority; });
  std::vector<std::string> out;
  for (const Out* m : sorted) out.push_back(m->payload);
  return out;
}

/// Forks a consumer that leases every message of `queue` (by RECEIVE with
/// ack, or as a push consumer), reports how many it holds on a pipe, then
/// waits to be killed. Returns its pid once it holds `n`.
pid_t spawn_leasing_consumer(const std::string& socket, const std::string& queue, uint32_t n,
                             bool push) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    uint32_t held = 0;
    try {
      RawConn c(socket);
      c.hello();
      if (push) {
        Bytes out;
        proto::ConsumeRequest r;
        r.queue = queue;
        r.flags = proto::kReceiveAck;
        r.prefetch = n;
        proto::encode(r, out, 9);
        c.send(out);
        auto ok = c.expect();
        if (ok && ok->header.kind == proto::reply_kind(Kind::consume)) {
          while (held < n) {
            auto f = c.expect();
            if (!f || f->header.kind != Kind::deliver) break;
            held += static_cast<uint32_t>(messages_of(*f).size());
          }
        }
      } else {
        c.send(receive_frame(queue, 9, 0, n, proto::kReceiveAck, 60000));
        auto f = c.expect();
        if (f && f->header.kind == proto::reply_kind(Kind::receive)) {
          held = static_cast<uint32_t>(messages_of(*f).size());
        }
      }
      (void)!::write(fds[1], &held, sizeof held);
      for (;;) ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(fds[1]);
  uint32_t held = 0;
  const bool reported = ::read(fds[0], &held, sizeof held) == sizeof held;
  ::close(fds[0]);
  if (!reported || held != n) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error("consumer leased " + std::to_string(held) + " of " +
                             std::to_string(n));
  }
  return pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

void expect_returned_in_order(Jobs& t, RawConn& c, const std::vector<Out>& sent) {
  // A waiting RECEIVE: the leases come back when the broker sees the close.
  c.send(receive_frame("jobs", 20, 10000, static_cast<uint32_t>(sent.size())));
  std::vector<Got> got;
  while (got.size() < sent.size()) {
    auto f = c.expect();
    ASSERT_TRUE(f);
    ASSERT_EQ(f->header.kind, proto::reply_kind(Kind::receive)) << int(error_code_of(*f));
    auto more = messages_of(*f);
    got.insert(got.end(), more.begin(), more.end());
    if (got.size() < sent.size()) {
      c.send(receive_frame("jobs", 20, 10000, static_cast<uint32_t>(sent.size() - got.size())));
    }
  }
  EXPECT_EQ(payloads_of(got), queue_order(sent));
  for (const Got& g : got) EXPECT_EQ(g.delivery_count, 2u) << g.payload;
  (void)t;
}

TEST_F(Jobs, KilledReceiverReturnsAllLeasesInOriginalOrderAndPriority) {
  declare({{"queue", "jobs"}, {"mode", 0666}});
  const auto sent = mixed_jobs();
  send("jobs", sent);
  const pid_t child = spawn_leasing_consumer(broker.socket(), "jobs", 10, /*push=*/false);
  EXPECT_EQ(stat("jobs")["leased"], 10);
  EXPECT_EQ(stat("jobs")["depth"], 0);
  kill_and_reap(child);
  expect_returned_in_order(*this, *conn, sent);
}

TEST_F(Jobs, KilledPushConsumerReturnsAllLeasesInOriginalOrderAndPriority) {
  declare({{"queue", "jobs"}, {"mode", 0666}});
  const auto sent = mixed_jobs();
  send("jobs", sent);
  const pid_t child = spawn_leasing_consumer(broker.socket(), "jobs", 10, /*push=*/true);
  auto st = stat("jobs");
  EXPECT_EQ(st["leased"], 10);
  ASSERT_EQ(st["consumers"].size(), 1u);
  EXPECT_EQ(st["consumers"][0]["unacked"], 10);
  EXPECT_EQ(st["consumers"][0]["prefetch"], 10);
  kill_and_reap(child);
  expect_returned_in_order(*this, *conn, sent);
  EXPECT_TRUE(stat("jobs")["consumers"].empty());
}

TEST_F(Jobs, ExpiredLeaseReturnsMessagesInOriginalOrderNoEarlierThanTheLease) {
  declare({{"queue", "jobs"}});
  const auto sent = mixed_jobs();
  send("jobs", sent);
  const auto leased_at = SteadyClock::now();
  auto f = request(receive_frame("jobs", 5, 0, 10, proto::kReceiveAck, 300));
  ASSERT_EQ(messages_of(f).size(), 10u);
  expect_returned_in_order(*this, *conn, sent);
  EXPECT_GE(SteadyClock::now() - leased_at, std::chrono::milliseconds(300));
  EXPECT_EQ(stat("jobs")["lease_expired_total"], 10);
}

TEST_F(Jobs, AckedLeaseIsGoneAndSettlingTwiceReportsMissing) {
  declare({{"queue", "jobs"}});
  send("jobs", {{1, 0, "a", {}}});
  auto got = messages_of(request(receive_frame("jobs", 5, 0, 1, proto::kReceiveAck, 60000)));
  ASSERT_EQ(got.size(), 1u);
  ASSERT_NE(got[0].tag, 0u);
  Bytes ack;
  const uint64_t tags[] = {got[0].tag};
  proto::encode_settle(Kind::ack, 0, proto::kKeepPriority, tags, ack, 6);
  auto r = proto::decode_settle_reply(request(ack).body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->settled, 1u);
  EXPECT_TRUE(r->missing.empty());
  auto again = proto::decode_settle_reply(request(ack).body);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->settled, 0u);
  EXPECT_EQ(again->missing, std::vector<uint64_t>{got[0].tag});
  auto st = stat("jobs");
  EXPECT_EQ(st["acked_total"], 1);
  EXPECT_EQ(st["leased"], 0);
  EXPECT_EQ(st["depth"], 0);
}

TEST_F(Jobs, MaxDeliveriesRoutesToTheDeadLetterQueueWithHistory) {
  declare({{"queue", "dead"}});
  declare({{"queue", "jobs"}, {"max_deliveries", 2}, {"dead_letter", "dead"}});
  Out job{7, 5, "payload-1", {}};
  job.props.correlation_id = "c-1";
  send("jobs", {job});
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto got = messages_of(request(receive_frame("jobs", 5, 0, 1, proto::kReceiveAck, 60000)));
    ASSERT_EQ(got.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(got[0].delivery_count, static_cast<uint32_t>(attempt));
    Bytes nack;
    const uint64_t tags[] = {got[0].tag};
    proto::encode_settle(Kind::nack, 0, proto::kKeepPriority, tags, nack, 6);
    ASSERT_EQ(proto::decode_settle_reply(request(nack).body)->settled, 1u);
  }
  EXPECT_EQ(error_code_of(request(receive_frame("jobs", 5, 0))), Errc::no_message);
  auto dead = messages_of(request(receive_frame("dead", 7, 0)));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].payload, "payload-1");
  EXPECT_EQ(dead[0].type, 7);
  EXPECT_EQ(dead[0].priority, 5);
  EXPECT_EQ(dead[0].props.correlation_id, "c-1");
  EXPECT_EQ(header(dead[0].props, "x-death-queue"), "jobs");
  EXPECT_EQ(header(dead[0].props, "x-death-reason"), "max_deliveries");
  EXPECT_EQ(header(dead[0].props, "x-death-count"), "2");
  EXPECT_NE(header(dead[0].props, "x-death-time-ns").find_first_not_of("0123456789"), 0u);
  EXPECT_NE(header(dead[0].props, "x-first-enqueue-ns"), "0");
  auto st = stat("jobs");
  EXPECT_EQ(st["dead_lettered_total"], 1);
  EXPECT_EQ(st["nacked_total"], 2);
  EXPECT_EQ(st["redelivered_total"], 1);
}

TEST_F(Jobs, RejectGoesToTheDeadLetterQueueOrIsDiscardedAndCounted) {
  declare({{"queue", "dead"}});
  declare({{"queue", "jobs"}, {"dead_letter", "dead"}});
  declare({{"queue", "plain"}});
  send("jobs", {{1, 0, "r", {}}});
  send("plain", {{1, 0, "p", {}}});
  for (const char* q : {"jobs", "plain"}) {
    auto got = messages_of(request(receive_frame(q, 5, 0, 1, proto::kReceiveAck, 60000)));
    ASSERT_EQ(got.size(), 1u);
    Bytes reject;
    const uint64_t tags[] = {got[0].tag};
    proto::encode_settle(Kind::reject, 0, proto::kKeepPriority, tags, reject, 6);
    ASSERT_EQ(proto::decode_settle_reply(request(reject).body)->settled, 1u);
  }
  auto dead = messages_of(request(receive_frame("dead", 7, 0)));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(header(dead[0].props, "x-death-reason"), "rejected");
  EXPECT_EQ(stat("plain")["discarded_total"], 1);
  EXPECT_EQ(stat("plain")["depth"], 0);
}

TEST_F(Jobs, DelayedMessagesAppearNoEarlierThanDueInPriorityOrder) {
  declare({{"queue", "jobs"}});
  Out later{1, 1, "later", {}};
  later.props.delay_ms = 400;
  Out sooner{1, 9, "sooner", {}};
  sooner.props.delay_ms = 200;
  const auto sent_at = SteadyClock::now();
  send("jobs", {later, sooner, {1, 0, "now", {}}});
  // Only the undelayed one is visible at once.
  auto first = messages_of(request(receive_frame("jobs", 5, 0, 10)));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].payload, "now");
  EXPECT_EQ(stat("jobs")["delayed"], 2);
  auto second = messages_of(request(receive_frame("jobs", 6, 10000)));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].payload, "sooner");
  EXPECT_GE(SteadyClock::now() - sent_at, std::chrono::milliseconds(200));
  auto third = messages_of(request(receive_frame("jobs", 7, 10000)));
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].payload, "later");
  EXPECT_GE(SteadyClock::now() - sent_at, std::chrono::milliseconds(400));
}

TEST_F(Jobs, NackWithDelayHidesTheMessageUntilDue) {
  declare({{"queue", "jobs"}});
  send("jobs", {{1, 0, "retry-me", {}}});
  auto got = messages_of(request(receive_frame("jobs", 5, 0, 1, proto::kReceiveAck, 60000)));
  ASSERT_EQ(got.size(), 1u);
  Bytes nack;
  const uint64_t tags[] = {got[0].tag};
  proto::encode_settle(Kind::nack, 250, 200, tags, nack, 6);
  const auto nacked_at = SteadyClock::now();
  ASSERT_EQ(proto::decode_settle_reply(request(nack).body)->settled, 1u);
  EXPECT_EQ(error_code_of(request(receive_frame("jobs", 7, 0))), Errc::no_message);
  auto back = messages_of(request(receive_frame("jobs", 8, 10000)));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_GE(SteadyClock::now() - nacked_at, std::chrono::milliseconds(250));
  EXPECT_EQ(back[0].priority, 200);
  EXPECT_EQ(back[0].delivery_count, 2u);
}

TEST_F(Jobs, TtlExpiredMessagesAreNeverDelivered) {
  declare({{"queue", "dead"}});
  declare({{"queue", "jobs"}, {"dead_letter", "dead"}});
  Out brief{1, 9, "brief", {}};
  brief.props.ttl_ms = 150;
  Out brief_delayed{1, 9, "brief-delayed", {}};
  brief_delayed.props.ttl_ms = 100;
  brief_delayed.props.delay_ms = 300;  // expires before it is ever due
  send("jobs", {brief, brief_delayed, {1, 0, "keeper", {}}});
  // Let the TTLs pass inside the broker: a receive of a type nobody sent waits out its timeout.
  EXPECT_EQ(error_code_of(request(receive_frame("jobs", 5, 500, 1, 0, 0, /*type=*/42))),
            Errc::no_message);
  auto got = messages_of(request(receive_frame("jobs", 6, 0, 10)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "keeper");
  EXPECT_EQ(error_code_of(request(receive_frame("jobs", 7, 0))), Errc::no_message);
  EXPECT_EQ(stat("jobs")["expired_total"], 2);
  auto dead = messages_of(request(receive_frame("dead", 8, 0, 10)));
  ASSERT_EQ(dead.size(), 2u);
  for (const Got& d : dead) EXPECT_EQ(header(d.props, "x-death-reason"), "expired");
}

TEST_F(Jobs, QueueDefaultTtlApplies) {
  declare({{"queue", "jobs"}, {"ttl_ms", 100}});
  send("jobs", {{1, 0, "short-lived", {}}});
  EXPECT_EQ(error_code_of(request(receive_frame("jobs", 5, 300, 1, 0, 0, 42))), Errc::no_message);
  EXPECT_EQ(error_code_of(request(receive_frame("jobs", 6, 0))), Errc::no_message);
  EXPECT_EQ(stat("jobs")["discarded_total"], 1);
}

TEST_F(Jobs, DuplicateKeyAddsNothingAndMayRaisePriority) {
  declare({{"queue", "jobs"}});
  Out first{1, 1, "first", {}};
  first.props.dedup_key = "order-17";
  send("jobs", {first, {1, 5, "other", {}}});
  Out again{1, 9, "again", {}};
  again.props.dedup_key = "order-17";
  auto f = request(send_frame("jobs", {again}, 4));
  auto reply = proto::decode_send_reply(f.body);
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->duplicates.size(), 1u);
  EXPECT_EQ(reply->duplicates[0].index, 0u);
  auto got = messages_of(request(receive_frame("jobs", 5, 0, 10)));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "first") << "raised to priority 9 by the duplicate";
  EXPECT_EQ(got[0].priority, 9);
  EXPECT_EQ(got[0].id, reply->duplicates[0].existing_id);
  EXPECT_EQ(got[1].payload, "other");
  EXPECT_EQ(stat("jobs")["deduplicated_total"], 1);
}

TEST_F(Jobs, TheDeadLetterQueueKeepsEveryDeathOfTheSameKey) {
  declare({{"queue", "dead"}});
  declare({{"queue", "jobs"}, {"dead_letter", "dead"}});
  for (int round = 0; round < 2; ++round) {
    Out job{1, 0, "attempt" + std::to_string(round), {}};
    job.props.dedup_key = "k";
    send("jobs", {job});
    auto got = messages_of(request(receive_frame("jobs", 5, 0, 1, proto::kReceiveAck, 60000)));
    ASSERT_EQ(got.size(), 1u);
    Bytes reject;
    const uint64_t tags[] = {got[0].tag};
    proto::encode_settle(Kind::reject, 0, proto::kKeepPriority, tags, reject, 6);
    ASSERT_EQ(proto::decode_settle_reply(request(reject).body)->settled, 1u);
  }
  auto dead = messages_of(request(receive_frame("dead", 7, 0, 10)));
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].payload, "attempt0");
  EXPECT_EQ(dead[1].payload, "attempt1");
}

TEST_F(Jobs, MoveReplaysDeadLettersKeepingProperties) {
  declare({{"queue", "dead"}});
  declare({{"queue", "jobs"}});
  Out a{3, 4, "a", {}};
  a.props.reply_to = "replies";
  send("dead", {a, {2, 0, "b", {}}, {3, 0, "c", {}}});
  auto f = request(
      json_frame(Kind::move, {{"source", "dead"}, {"destination", "jobs"}, {"type", 3}}, 9));
  ASSERT_EQ(f.header.kind, proto::reply_kind(Kind::move)) << int(error_code_of(f));
  EXPECT_EQ(nlohmann::json::parse(
                std::string(reinterpret_cast<const char*>(f.body.data()), f.body.size()))["moved"],
            2);
  auto got = messages_of(request(receive_frame("jobs", 5, 0, 10)));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "a");
  EXPECT_EQ(got[0].priority, 4);
  EXPECT_EQ(got[0].props.reply_to, "replies");
  EXPECT_EQ(got[1].payload, "c");
  EXPECT_EQ(stat("dead")["depth"], 1);
}

TEST_F(Jobs, PushConsumersShareByTurnsAndGetTheBestMatchFirst) {
  declare({{"queue", "jobs"}});
  RawConn other(broker.socket());
  other.hello();
  for (RawConn* c : {conn.get(), &other}) {
    Bytes out;
    proto::ConsumeRequest r;
    r.queue = "jobs";
    r.flags = proto::kReceiveAck;
    r.prefetch = 2;
    proto::encode(r, out, 50);
    c->send(out);
    auto ok = c->expect();
    ASSERT_TRUE(ok);
    ASSERT_EQ(ok->header.kind, proto::reply_kind(Kind::consume));
  }
  std::vector<Out> burst;
  for (int i = 0; i < 4; ++i)
    burst.push_back({1, static_cast<uint8_t>(i), "p" + std::to_string(i), {}});
  burst.push_back({1, 0, "extra", {}});
  Bytes s = send_frame("jobs", burst, 60);
  conn->send(s);
  // Each consumer takes 2 (its credit); the 5th, lowest, stays ready.
  auto take = [](RawConn& c) {
    std::vector<Got> got;
    while (got.size() < 2) {
      auto f = c.expect();
      if (!f) break;
      if (f->header.kind != Kind::deliver) continue;  // SEND_OK on conn
      auto more = messages_of(*f);
      got.insert(got.end(), more.begin(), more.end());
    }
    return got;
  };
  auto mine = take(*conn);
  auto theirs = take(other);
  ASSERT_EQ(mine.size(), 2u);
  ASSERT_EQ(theirs.size(), 2u);
  // Turns: the best goes to one, the second best to the other, and so on.
  std::vector<std::string> all = {mine[0].payload, theirs[0].payload, mine[1].payload,
                                  theirs[1].payload};
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"p0", "p1", "p2", "p3"}));
  EXPECT_NE(mine[0].payload.substr(0, 2), theirs[0].payload.substr(0, 2));
  EXPECT_TRUE((mine[0].payload == "p3") != (theirs[0].payload == "p3"));
  EXPECT_EQ(stat("jobs")["depth"], 1);
  // Credit back: acking one gives the lowest-priority message to that consumer.
  Bytes ack;
  const uint64_t tags[] = {theirs[0].tag};
  proto::encode_settle(Kind::ack, 0, proto::kKeepPriority, tags, ack, 61);
  other.send(ack);
  std::optional<std::string> extra;
  for (int i = 0; i < 2 && !extra; ++i) {
    auto f = other.expect();
    ASSERT_TRUE(f);
    if (f->header.kind == Kind::deliver) extra = messages_of(*f).at(0).payload;
  }
  EXPECT_EQ(extra, "extra");
}

TEST_F(Jobs, AVersion1SessionSeesNoneOfIt) {
  RawConn v1(broker.socket());
  Bytes hello;
  proto::encode(proto::Hello{1, "old"}, hello, 1);
  v1.send(hello);
  auto ok = v1.expect();
  ASSERT_TRUE(ok);
  ASSERT_EQ(proto::decode_hello_reply(ok->body)->version, 1);
  auto ask = [&](const Bytes& b) {
    v1.send(b);
    return v1.expect().value();
  };
  EXPECT_EQ(error_code_of(ask(json_frame(Kind::declare, {{"queue", "q"}, {"lease_ms", 5}}, 2))),
            Errc::invalid_argument);
  ASSERT_EQ(ask(json_frame(Kind::declare, {{"queue", "q"}}, 3)).header.kind,
            proto::reply_kind(Kind::declare));
  Bytes ack;
  const uint64_t tags[] = {1};
  proto::encode_settle(Kind::ack, 0, proto::kKeepPriority, tags, ack, 4);
  EXPECT_EQ(error_code_of(ask(ack)), Errc::invalid_argument) << "an unknown kind in version 1";
  // Scheduling tags are opaque properties to version 1: delivered at once, kept as sent.
  Out delayed{1, 0, "now", {}};
  delayed.props.delay_ms = 60000;
  auto sent = ask(send_frame("q", {delayed}, 5));
  ASSERT_EQ(sent.header.kind, proto::reply_kind(Kind::send));
  EXPECT_EQ(sent.body.size(), 12u) << "version 1 SEND_OK";
  auto got = messages_of(ask(receive_frame("q", 6, 0)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].props.delay_ms, 60000u);
  v1.send(receive_frame("q", 7, 0, 1, proto::kReceiveAck, 100));
  auto bad = v1.expect();
  ASSERT_TRUE(bad);
  EXPECT_EQ(error_code_of(*bad), Errc::protocol_error);
}

TEST_F(Jobs, DeadLetteringNeedsTheSourceOwnersWriteRightOnTheTarget) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another uid";
  declare({{"queue", "private"}, {"mode", 0600}});  // root's; nobody may not write it
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    uint8_t ok = 0;
    try {
      if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
        RawConn c(broker.socket());
        c.hello();
        auto ask = [&](const Bytes& b) {
          c.send(b);
          return c.expect().value();
        };
        auto d = ask(json_frame(Kind::declare, {{"queue", "mine"}, {"dead_letter", "private"}}, 1));
        auto s = ask(send_frame("mine", {{1, 0, "sneak", {}}}, 2));
        auto got = messages_of(ask(receive_frame("mine", 3, 0, 1, proto::kReceiveAck, 60000)));
        if (d.header.kind == proto::reply_kind(Kind::declare) &&
            s.header.kind == proto::reply_kind(Kind::send) && got.size() == 1) {
          Bytes reject;
          const uint64_t tags[] = {got[0].tag};
          proto::encode_settle(Kind::reject, 0, proto::kKeepPriority, tags, reject, 4);
          auto r = proto::decode_settle_reply(ask(reject).body);
          ok = r && r->settled == 1;
        }
      }
    } catch (...) {
    }
    (void)!::write(fds[1], &ok, 1);
    ::_exit(0);
  }
  ::close(fds[1]);
  uint8_t ok = 0;
  EXPECT_EQ(::read(fds[0], &ok, 1), 1);
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  ASSERT_EQ(ok, 1) << "the uid 65534 client could not set up and reject";
  EXPECT_EQ(stat("private")["depth"], 0) << "nothing may reach a queue its owner cannot write";
  EXPECT_EQ(stat("mine")["discarded_total"], 1);
}

}  // namespace
}  // namespace postbox::testing
