// Publish/subscribe against a real postboxd, frame by frame: the AMQP wildcard
// rules, fan-out (each matching queue exactly once, everything kept), overflow
// under publish, permissions, and temporary queues that die with their
// connection.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "proto/jobs.hpp"
#include "proto/messages.hpp"
#include "proto/topics.hpp"
#include "tests/support/frames.hpp"
#include "tests/support/process.hpp"
#include "tests/support/raw_conn.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using nlohmann::json;
using proto::Errc;
using proto::Kind;

constexpr uid_t kNobody = 65534;

RawFrame ask(RawConn& c, const Bytes& frame) {
  c.send(frame);
  auto f = c.expect();
  if (!f) throw std::runtime_error("no reply");
  return *f;
}

Bytes publish_frame(std::string_view topic, const std::vector<Out>& msgs, uint32_t rid = 7) {
  return send_frame(topic, msgs, rid, Kind::publish);
}

proto::PublishReply published(const RawFrame& f) {
  EXPECT_EQ(f.header.kind, proto::reply_kind(Kind::publish)) << int(error_code_of(f));
  return proto::decode_publish_reply(f.body).value_or(proto::PublishReply{~0u, ~0u, ~0u});
}

std::string error_text(const RawFrame& f) {
  auto e = proto::decode_error(f.body);
  return e ? std::string(e->message) : "";
}

class PubSub : public ::testing::Test {
 protected:
  void SetUp() override {
    conn = std::make_unique<RawConn>(broker.socket());
    conn->hello();
  }
  RawFrame request(const Bytes& frame) { return ask(*conn, frame); }
  void declare(const json& j) {
    auto f = request(json_frame(Kind::declare, j, 1));
    ASSERT_EQ(f.header.kind, proto::reply_kind(Kind::declare)) << j.dump() << error_text(f);
  }
  void bind(std::string_view queue, std::string_view pattern) {
    auto f = request(json_frame(Kind::bind, {{"queue", queue}, {"pattern", pattern}}, 2));
    ASSERT_EQ(f.header.kind, proto::reply_kind(Kind::bind)) << pattern << ": " << error_text(f);
  }
  json admin(Kind kind, const json& j) {
    auto f = request(json_frame(kind, j, 3));
    EXPECT_EQ(f.header.kind, proto::reply_kind(kind)) << error_text(f);
    return json_of(f);
  }
  /// Every message queued in `queue` (taken).
  std::vector<Got> drain(std::string_view queue) {
    auto f = request(receive_frame(queue, 4, 0, 100000));
    if (error_code_of(f) == Errc::no_message) return {};
    return messages_of(f);
  }
  std::vector<std::string> queue_names() {
    std::vector<std::string> names;
    const json list = admin(Kind::list, json::object());
    for (const auto& q : list["queues"]) names.push_back(q["name"].get<std::string>());
    return names;
  }
  TestBroker broker;
  std::unique_ptr<RawConn> conn;
};

// The AMQP topic rules, one queue per pattern: `*` is exactly one word, `#` any
// number (zero included), words compare whole.
TEST_F(PubSub, WildcardTable) {
  const std::map<std::string, std::set<std::string>> expected = {
      {"a.b.c", {"a.b.c"}},
      {"a.*.c", {"a.b.c", "a.x.c"}},
      {"a.*", {"a.b", "a.x", "a.c", "a.bc"}},
      {"*", {"a", "b"}},
      {"*.*", {"a.b", "a.x", "a.c", "ab.c", "a.bc"}},
      {"#", {"a", "b", "a.b", "a.x", "a.b.c", "a.x.c", "a.c", "a.b.b.c", "ab.c", "a.bc"}},
      {"a.#", {"a", "a.b", "a.x", "a.b.c", "a.x.c", "a.c", "a.b.b.c", "a.bc"}},
      {"#.c", {"a.b.c", "a.x.c", "a.c", "a.b.b.c", "ab.c"}},
      {"a.#.c", {"a.b.c", "a.x.c", "a.c", "a.b.b.c"}},
      {"#.b.#", {"b", "a.b", "a.b.c", "a.b.b.c"}},
      {"*.#", {"a", "b", "a.b", "a.x", "a.b.c", "a.x.c", "a.c", "a.b.b.c", "ab.c", "a.bc"}},
      {"*.b.*", {"a.b.c"}},
      {"a.b", {"a.b"}},
  };
  const std::vector<std::string> topics = {"a",   "b",     "a.b",  "a.x",  "a.b.c",
                                           "a.c", "a.x.c", "ab.c", "a.bc", "a.b.b.c"};
  std::map<std::string, std::string> queue_of;
  int n = 0;
  for (const auto& [pattern, unused] : expected) {
    const std::string q = "q" + std::to_string(n++);
    queue_of[pattern] = q;
    declare({{"queue", q}});
    bind(q, pattern);
  }
  for (const std::string& t : topics) {
    uint32_t want = 0;
    for (const auto& [pattern, matches] : expected) want += matches.contains(t) ? 1 : 0;
    EXPECT_EQ(published(request(publish_frame(t, {{1, 0, t, {}}}))).queues, want) << t;
  }
  for (const auto& [pattern, matches] : expected) {
    std::set<std::string> got;
    for (const Got& g : drain(queue_of[pattern])) {
      EXPECT_TRUE(got.insert(g.payload).second) << pattern << " got " << g.payload << " twice";
      EXPECT_EQ(g.props.topic, g.payload);
    }
    EXPECT_EQ(got, matches) << "pattern " << pattern;
  }
}

TEST_F(PubSub, EmptyWordsAndWildcardTopicsAreRejected) {
  declare({{"queue", "q"}});
  for (const char* bad : {"", ".", "a..b", ".a", "a.", "a.*b", "a.b#", "#a"}) {
    auto f = request(json_frame(Kind::bind, {{"queue", "q"}, {"pattern", bad}}, 2));
    EXPECT_EQ(error_code_of(f), Errc::invalid_argument) << "pattern '" << bad << "'";
  }
  for (const char* bad : {"", ".", "a..b", ".a", "a.", "a.*", "#", "a.#.b"}) {
    auto f = request(publish_frame(bad, {{1, 0, "x", {}}}));
    EXPECT_EQ(error_code_of(f), Errc::invalid_argument) << "topic '" << bad << "'";
    EXPECT_NE(error_text(f), "") << "topic '" << bad << "'";
  }
  EXPECT_TRUE(admin(Kind::bindings, json::object())["bindings"].empty());
}

// Overlapping bindings still give a queue one copy; the copy keeps what was
// published and gains the topic.
TEST_F(PubSub, EachMatchingQueueGetsOneCopyWithEverythingKept) {
  for (const char* q : {"all", "kitchen", "other"}) declare({{"queue", q}});
  bind("all", "#");
  bind("all", "sensors.*.temp");
  bind("all", "sensors.kitchen.temp");
  bind("kitchen", "sensors.kitchen.*");
  bind("other", "sensors.garden.#");
  Out m{42, 7, std::string("binary\0payload", 14), {}};
  m.props.correlation_id = "corr-1";
  m.props.reply_to = "answers";
  m.props.headers = {{"unit", "C"}, {"unit", "K"}};
  auto r = published(request(publish_frame("sensors.kitchen.temp", {m, {3, 1, "second", {}}})));
  EXPECT_EQ(r.queues, 2u);
  EXPECT_EQ(r.denied, 0u);
  EXPECT_EQ(r.dropped, 0u);
  for (const char* q : {"all", "kitchen"}) {
    auto got = drain(q);
    ASSERT_EQ(got.size(), 2u) << q;
    // Queue order: the priority 7 message first.
    EXPECT_EQ(got[0].type, 42);
    EXPECT_EQ(got[0].priority, 7);
    EXPECT_EQ(got[0].payload, m.payload);
    EXPECT_EQ(got[0].props.correlation_id, "corr-1");
    EXPECT_EQ(got[0].props.reply_to, "answers");
    EXPECT_EQ(got[0].props.headers, m.props.headers);
    EXPECT_EQ(got[0].props.topic, "sensors.kitchen.temp");
    EXPECT_EQ(got[1].payload, "second");
    EXPECT_EQ(got[1].props.topic, "sensors.kitchen.temp");
  }
  EXPECT_TRUE(drain("other").empty());
  auto st = admin(Kind::stat, {{"queue", "all"}});
  EXPECT_EQ(st["published_total"], 2);
  EXPECT_EQ(st["bindings"].size(), 3u);
}

TEST_F(PubSub, UnboundTopicsAreUnroutableNotErrors) {
  declare({{"queue", "q"}});
  bind("q", "a.*");
  EXPECT_EQ(published(request(publish_frame("b.c", {{1, 0, "x", {}}}))).queues, 0u);
  EXPECT_EQ(published(request(publish_frame("a.c", {{1, 0, "y", {}}}))).queues, 1u);
  auto b = admin(Kind::bindings, json::object());
  EXPECT_EQ(b["published_total"], 2);
  EXPECT_EQ(b["unroutable_total"], 1);
  EXPECT_EQ(b["copies_total"], 1);
  EXPECT_EQ(b["bindings"], json::parse(R"([{"queue": "q", "pattern": "a.*"}])"));
  // Unbinding twice: the second removes nothing; a deleted queue takes its bindings along.
  EXPECT_EQ(admin(Kind::unbind, {{"queue", "q"}, {"pattern", "a.*"}})["removed"], true);
  EXPECT_EQ(admin(Kind::unbind, {{"queue", "q"}, {"pattern", "a.*"}})["removed"], false);
  bind("q", "x");
  admin(Kind::remove, {{"queue", "q"}});
  EXPECT_TRUE(admin(Kind::bindings, json::object())["bindings"].empty());
  EXPECT_EQ(published(request(publish_frame("x", {{1, 0, "z", {}}}))).queues, 0u);
}

// Default overflow (reject): one full queue fails the publication for all,
// naming the queue. drop-new drops only that queue's copy, counted.
TEST_F(PubSub, FullQueuesRejectForEveryoneOrDropTheirCopy) {
  declare({{"queue", "roomy"}});
  declare({{"queue", "strict"}, {"max_messages", 1}});
  declare({{"queue", "lossy"}, {"max_messages", 1}, {"overflow", "drop-new"}});
  for (const char* q : {"roomy", "strict", "lossy"}) bind(q, "t");
  EXPECT_EQ(published(request(publish_frame("t", {{1, 0, "1", {}}}))).queues, 3u);
  auto refused = request(publish_frame("t", {{1, 0, "2", {}}}));
  EXPECT_EQ(error_code_of(refused), Errc::queue_full);
  EXPECT_NE(error_text(refused).find("'strict'"), std::string::npos) << error_text(refused);
  EXPECT_EQ(drain("roomy").size(), 1u) << "a refused publication reaches no queue";

  admin(Kind::unbind, {{"queue", "strict"}, {"pattern", "t"}});
  auto r = published(request(publish_frame("t", {{1, 0, "3", {}}})));
  EXPECT_EQ(r.queues, 1u);
  EXPECT_EQ(r.dropped, 1u);
  EXPECT_EQ(payloads_of(drain("roomy")), std::vector<std::string>{"3"});
  EXPECT_EQ(payloads_of(drain("lossy")), std::vector<std::string>{"1"});
  EXPECT_EQ(admin(Kind::stat, {{"queue", "lossy"}})["dropped_total"], 1);
  EXPECT_EQ(admin(Kind::bindings, json::object())["dropped_total"], 1);
  // A direct send to a full drop-new queue is refused as under reject.
  declare({{"queue", "lossy2"}, {"max_messages", 1}, {"overflow", "drop-new"}});
  ASSERT_EQ(request(send_frame("lossy2", {{1, 0, "a", {}}}, 5)).header.kind,
            proto::reply_kind(Kind::send));
  EXPECT_EQ(error_code_of(request(send_frame("lossy2", {{1, 0, "b", {}}}, 5))), Errc::queue_full);
}

// A publisher gets copies only into queues it may write; the others are
// served, and nothing about the denied queue is an error to anyone.
TEST_F(PubSub, PermissionDeniedTargetsGetNothingAndTheOthersAreServed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another uid";
  declare({{"queue", "private"}, {"mode", 0600}});
  declare({{"queue", "public"}, {"mode", 0666}});
  bind("private", "news.#");
  bind("public", "news.*");
  const std::string socket = broker.socket();
  const int child = run_as(kNobody, [&] {
    RawConn c(socket);
    c.hello();
    // Binding needs read permission: nobody may not bind root's private queue.
    auto b = ask(c, json_frame(Kind::bind, {{"queue", "private"}, {"pattern", "x"}}, 2));
    if (error_code_of(b) != Errc::permission_denied) return 1;
    auto r =
        proto::decode_publish_reply(ask(c, publish_frame("news.today", {{1, 0, "hi", {}}})).body);
    if (!r) return 2;
    return r->queues == 1 && r->denied == 1 ? 0 : 3;
  });
  ASSERT_EQ(child, 0) << "the uid 65534 publisher saw the wrong outcome";
  EXPECT_TRUE(drain("private").empty());
  EXPECT_EQ(payloads_of(drain("public")), std::vector<std::string>{"hi"});
  EXPECT_EQ(admin(Kind::bindings, json::object())["denied_total"], 1);
}

// A temporary queue: named by the broker, usable only by its connection,
// writable by others, and gone with its bindings once that connection closes.
TEST_F(PubSub, TemporaryQueuesBelongToTheirConnectionAndDieWithIt) {
  auto owner = std::make_unique<RawConn>(broker.socket());
  owner->hello();
  auto d = ask(*owner, json_frame(Kind::declare, {{"temporary", true}}, 1));
  ASSERT_EQ(d.header.kind, proto::reply_kind(Kind::declare)) << error_text(d);
  const json dj = json_of(d);
  const std::string name = dj["queue"]["name"];
  EXPECT_EQ(name.rfind("tmp.", 0), 0u) << name;
  EXPECT_EQ(dj["queue"]["temporary"], true);
  ASSERT_EQ(
      ask(*owner, json_frame(Kind::bind, {{"queue", name}, {"pattern", "ev.#"}}, 2)).header.kind,
      proto::reply_kind(Kind::bind));

  // Others may write to it but not take from it, consume it or bind it.
  ASSERT_EQ(request(send_frame(name, {{1, 0, "direct", {}}}, 5)).header.kind,
            proto::reply_kind(Kind::send));
  EXPECT_EQ(published(request(publish_frame("ev.x", {{1, 0, "published", {}}}))).queues, 1u);
  auto stolen = request(receive_frame(name, 6, 0));
  EXPECT_EQ(error_code_of(stolen), Errc::permission_denied);
  EXPECT_NE(error_text(stolen).find("temporary"), std::string::npos) << error_text(stolen);
  Bytes consume;
  proto::encode(proto::ConsumeRequest{name, 0, 0, 0, 0, 0xFFFFFFFFu}, consume, 8);
  EXPECT_EQ(error_code_of(request(consume)), Errc::permission_denied);
  EXPECT_EQ(error_code_of(request(json_frame(Kind::bind, {{"queue", name}, {"pattern", "y"}}, 9))),
            Errc::permission_denied);
  EXPECT_EQ(
      error_code_of(request(json_frame(Kind::declare, {{"queue", name}, {"temporary", true}}, 10))),
      Errc::queue_exists);
  auto mine = messages_of(ask(*owner, receive_frame(name, 3, 0, 10)));
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].payload, "direct");
  EXPECT_EQ(mine[1].payload, "published");

  // A named temporary queue works the same way. Full, it parks our next send
  // to it, which the queue's deletion answers: our signal that it is gone.
  ASSERT_EQ(ask(*owner,
                json_frame(Kind::declare,
                           {{"queue", "replies.me"}, {"temporary", true}, {"max_messages", 1}}, 11))
                .header.kind,
            proto::reply_kind(Kind::declare));
  ASSERT_EQ(request(send_frame("replies.me", {{1, 0, "fills it", {}}}, 12)).header.kind,
            proto::reply_kind(Kind::send));
  Bytes blocked;
  auto body = proto::begin_send({"replies.me", 10000, 1}, blocked, 13);
  proto::append_outgoing({1, 0, {}, std::as_bytes(std::span("waits", 5))}, blocked);
  proto::finish_frame(blocked, body);
  conn->send(blocked);
  owner.reset();  // the connection closes
  auto ended = conn->expect();
  ASSERT_TRUE(ended);
  // queue_removed if the send parked first, no_such_queue if the close won.
  EXPECT_TRUE(error_code_of(*ended) == Errc::queue_removed ||
              error_code_of(*ended) == Errc::no_such_queue)
      << int(error_code_of(*ended));
  const std::vector<std::string> names = queue_names();
  EXPECT_TRUE(names.empty()) << names.size() << " queues left, first " << names.front();
  EXPECT_TRUE(admin(Kind::bindings, json::object())["bindings"].empty());
  EXPECT_EQ(published(request(publish_frame("ev.x", {{1, 0, "late", {}}}))).queues, 0u);
}

// Two subscribers, each with its own temporary queue and push consumer: both
// see every publication, in publishing order.
TEST_F(PubSub, TwoSubscribersBothGetEveryMessageInOrder) {
  constexpr int kMessages = 2000;
  std::vector<std::unique_ptr<RawConn>> subs;
  for (int i = 0; i < 2; ++i) {
    auto c = std::make_unique<RawConn>(broker.socket());
    c->hello();
    auto d = ask(*c, json_frame(Kind::declare, {{"temporary", true}}, 1));
    const std::string name = json_of(d)["queue"]["name"];
    ASSERT_EQ(
        ask(*c, json_frame(Kind::bind, {{"queue", name}, {"pattern", "feed.*"}}, 2)).header.kind,
        proto::reply_kind(Kind::bind));
    Bytes consume;
    proto::encode(proto::ConsumeRequest{name, 0, 0, 0, 0, 0xFFFFFFFFu}, consume, 3);
    ASSERT_EQ(ask(*c, consume).header.kind, proto::reply_kind(Kind::consume));
    subs.push_back(std::move(c));
  }
  for (int sent = 0; sent < kMessages;) {
    std::vector<Out> batch;
    for (int k = 0; k < 50; ++k, ++sent) batch.push_back({1, 0, std::to_string(sent), {}});
    ASSERT_EQ(published(request(publish_frame(sent % 100 ? "feed.a" : "feed.b", batch))).queues,
              2u);
  }
  for (auto& c : subs) {
    int next = 0;
    while (next < kMessages) {
      auto f = c->expect();
      ASSERT_TRUE(f) << "subscriber stalled at " << next;
      ASSERT_EQ(f->header.kind, Kind::deliver);
      for (const Got& g : messages_of(*f)) EXPECT_EQ(g.payload, std::to_string(next++));
    }
  }
}

// Version 1 knows neither temporary queues nor drop-new.
TEST_F(PubSub, AVersion1SessionSeesNoneOfIt) {
  declare({{"queue", "lossy"}, {"overflow", "drop-new"}});
  RawConn v1(broker.socket());
  Bytes hello;
  proto::encode(proto::Hello{1, "old"}, hello, 1);
  v1.send(hello);
  ASSERT_TRUE(v1.expect());
  EXPECT_EQ(error_code_of(ask(v1, json_frame(Kind::declare, {{"temporary", true}}, 2))),
            Errc::invalid_argument);
  auto st = ask(v1, json_frame(Kind::stat, {{"queue", "lossy"}}, 3));
  EXPECT_EQ(json_of(st)["overflow"], "reject") << "drop-new acts as reject for SEND";
}

}  // namespace
}  // namespace postbox::testing
