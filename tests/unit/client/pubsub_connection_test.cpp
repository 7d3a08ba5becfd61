// Tests the client's publish/subscribe pieces that need no broker: PUBLISH encoding and
// PUBLISH_OK decoding, the topic property, BIND/BINDINGS JSON, version 1 refusals, and the
// correlation ids and target choice of Client::request().
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "client/admin_json.hpp"
#include "client/connection.hpp"
#include "client/request.hpp"
#include "postbox/error.hpp"
#include "postbox/responder.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"
#include "proto/topics.hpp"
#include "tests/unit/client/connection_fixtures.hpp"

namespace postbox::detail {
namespace {

using namespace std::chrono_literals;
using proto::Kind;

using namespace testing;

TEST(Publish, IsASendBodyToTheTopicThatNeverWaits) {
  Connection sut = negotiated(2);
  SendOptions o;
  o.type = 7;
  o.priority = 3;
  o.timeout = 5s;  // ignored: a publish never waits
  o.correlation_id = "c";
  sut.add_send("sensors.kitchen", "21.5", o, Kind::publish);
  proto::SendReader r;
  ASSERT_TRUE(r.open(only_body(sut.output(), Kind::publish)));
  EXPECT_EQ(r.header().queue, "sensors.kitchen");
  EXPECT_EQ(r.header().timeout_ms, 0u);
  EXPECT_EQ(r.header().count, 1u);
  proto::OutgoingMessage m;
  ASSERT_TRUE(r.next(m));
  EXPECT_EQ(m.type, 7);
  EXPECT_EQ(m.priority, 3);
  EXPECT_EQ(proto::decode_properties(m.properties)->correlation_id, "c");
}

TEST(Publish, BatchesOfBothFormsArePublishes) {
  Connection sut = negotiated(2);
  std::vector<OutgoingMessage> messages(2);
  messages[1].type = 2;
  sut.add_send_batch("t", messages, kForever, Kind::publish);
  proto::SendReader r;
  ASSERT_TRUE(r.open(only_body(sut.output(), Kind::publish)));
  EXPECT_EQ(r.header().count, 2u);
  EXPECT_EQ(r.header().timeout_ms, 0u);
  sut.output().clear();
  const std::vector<std::string> payloads = {"a", "b", "c"};
  sut.add_send_batch("t", payloads, SendOptions{}, Kind::publish);
  ASSERT_TRUE(r.open(only_body(sut.output(), Kind::publish)));
  EXPECT_EQ(r.header().count, 3u);
}

TEST(Publish, AnEmptyTopicIsRefusedNamingTheTopic) {
  Connection sut = negotiated(2);
  Error e = thrown([&] { sut.add_send("", "x", {}, Kind::publish); });
  EXPECT_EQ(e.errc(), Errc::invalid_argument);
  EXPECT_STREQ(e.what(), "topic is empty");
  EXPECT_TRUE(sut.output().empty());
}

TEST(Publish, PublishOkFillsTheReplysPublished) {
  Connection sut = negotiated(2);
  const uint32_t id = sut.add_send("t", "x", {}, Kind::publish);
  std::vector<std::byte> wire;
  proto::encode(proto::PublishReply{2, 1, 3}, wire, id);
  feed(sut, wire);
  auto r = sut.next_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, Kind::publish);
  EXPECT_EQ(r->reply.published, (PublishResult{2, 1, 3}));
}

TEST(Publish, ATopicPropertyBecomesMessageTopic) {
  Connection sut = negotiated(2);
  const uint32_t id = sut.add_receive("q", {});
  std::string props;
  proto::append_entry(proto::PropTag::topic, "a.b", props);
  std::vector<std::byte> wire;
  auto body = proto::begin_receive_reply(wire, id, proto::reply_kind(Kind::receive));
  proto::DeliveredMessage d;
  d.id = 1;
  d.properties = {reinterpret_cast<const std::byte*>(props.data()), props.size()};
  proto::append_delivered(d, wire);
  proto::finish_receive_reply(wire, body, 1);
  feed(sut, wire);
  auto r = sut.next_reply();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->reply.messages.size(), 1u);
  EXPECT_EQ(r->reply.messages[0].topic, "a.b");
}

TEST(PubSubVersion1, PublishBindUnbindAndBindingsAreRefusedBeforeSending) {
  Connection sut = negotiated(1);
  const std::vector<std::string> payloads = {"a"};
  const std::function<void()> calls[] = {
      [&] { sut.add_send("t", "x", {}, Kind::publish); },
      [&] { sut.add_send_batch("t", payloads, SendOptions{}, Kind::publish); },
      [&] { sut.add_admin(Kind::bind, bind_request("q", "a.*")); },
      [&] { sut.add_admin(Kind::unbind, bind_request("q", "a.*")); },
      [&] { sut.add_admin(Kind::bindings, "{}"); },
  };
  for (const auto& call : calls) {
    Error e = thrown(call);
    EXPECT_EQ(e.errc(), Errc::invalid_argument);
    EXPECT_EQ(std::string(e.what()).rfind("broker speaks protocol version 1", 0), 0u) << e.what();
    EXPECT_TRUE(sut.output().empty());
  }
}

TEST(PubSubJson, BindAndBindingsRequests) {
  EXPECT_EQ(bind_request("q", "a.#"), R"({"pattern":"a.#","queue":"q"})");
  EXPECT_EQ(bindings_request(std::nullopt), "{}");
  EXPECT_EQ(bindings_request("q"), R"({"queue":"q"})");
}

TEST(PubSubJson, TemporaryDeclareLeavesTheNamingToTheBroker) {
  QueueOptions o;
  o.temporary = true;
  EXPECT_EQ(declare_request("", o), R"({"temporary":true})");
  EXPECT_EQ(declare_request("mine", o), R"({"queue":"mine","temporary":true})");
  EXPECT_TRUE(declare_needs_jobs(o));
  QueueOptions drop_new;
  drop_new.overflow = Overflow::drop_new;
  EXPECT_EQ(declare_request("q", drop_new), R"({"overflow":"drop-new","queue":"q"})");
  EXPECT_TRUE(declare_needs_jobs(drop_new));
  QueueOptions drop_oldest;
  drop_oldest.overflow = Overflow::drop_oldest;
  EXPECT_FALSE(declare_needs_jobs(drop_oldest));
}

TEST(PubSubJson, BindReplies) {
  EXPECT_TRUE(parse_bind_reply(R"({"created":true})"));
  EXPECT_FALSE(parse_unbind_reply(R"({"removed":false})"));
  EXPECT_EQ(thrown([] { parse_bind_reply(R"({"removed":true})"); }).errc(), Errc::protocol_error);
  EXPECT_EQ(thrown([] { parse_unbind_reply(R"({"removed":1})"); }).errc(), Errc::protocol_error);
}

TEST(PubSubJson, BindingsReplyWithAndWithoutTheLaterCounters) {
  Bindings b = parse_bindings_reply(
      R"({"bindings":[{"queue":"q","pattern":"a.*"},{"queue":"r","pattern":"#"}],)"
      R"("published_total":5,"unroutable_total":1,"denied_total":2,"dropped_total":3,)"
      R"("copies_total":9,"future_key":0})");
  EXPECT_EQ(b.bindings, (std::vector<Binding>{{"q", "a.*"}, {"r", "#"}}));
  EXPECT_EQ(b.published_total, 5u);
  EXPECT_EQ(b.unroutable_total, 1u);
  EXPECT_EQ(b.denied_total, 2u);
  EXPECT_EQ(b.dropped_total, 3u);
  EXPECT_EQ(b.copies_total, 9u);
  Bindings older = parse_bindings_reply(
      R"({"bindings":[],"published_total":0,"unroutable_total":0,"denied_total":0})");
  EXPECT_TRUE(older.bindings.empty());
  EXPECT_EQ(thrown([] { parse_bindings_reply(R"({"bindings":[{"queue":"q"}]})"); }).errc(),
            Errc::protocol_error);
}

TEST(PubSubJson, StatAndListCarryBindingsAndTemporary) {
  const std::string stat =
      R"({"name":"tmp.3.1","depth":0,"bytes":0,"max_messages":1,"max_bytes":1,)"
      R"("max_message_size":1,"mode":384,"overflow":"drop-new","owner_uid":0,"owner_gid":0,)"
      R"("created_ns":1,"last_send_pid":0,"last_send_ns":0,"last_receive_pid":0,)"
      R"("last_receive_ns":0,"sent_total":0,"received_total":0,"dropped_total":0,)"
      R"("purged_total":0,"blocked_senders":0,"blocked_receivers":0,"depth_per_priority":{},)"
      R"("temporary":true,"bindings":["a.*","#"],"published_total":4})";
  QueueStat s = parse_stat_reply(stat);
  EXPECT_EQ(s.overflow, Overflow::drop_new);
  EXPECT_TRUE(s.temporary);
  EXPECT_EQ(s.bindings, (std::vector<std::string>{"a.*", "#"}));
  EXPECT_EQ(s.published_total, 4u);
  auto list = parse_list_reply(R"({"queues":[{"name":"q","depth":1,"bytes":2,"bindings":3}]})");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].bindings, 3u);
}

TEST(Overflow, DropNewIsSpelledWithADash) {
  EXPECT_EQ(to_string(Overflow::drop_new), "drop-new");
  EXPECT_EQ(parse_overflow("drop-new"), Overflow::drop_new);
  EXPECT_EQ(parse_overflow("drop_new"), std::nullopt);
}

TEST(Request, CorrelationIdsAreTheNonceInHexAndTheRequestNumber) {
  EXPECT_EQ(correlation_id(0xabc, 7), "0000000000000abc-7");
  std::set<std::string> ids;
  for (uint64_t n = 1; n <= 100; ++n) ids.insert(correlation_id(42, n));
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_NE(correlation_id(1, 1), correlation_id(2, 1));
}

TEST(Request, OnlyQueueNamesAreTriedAsQueues) {
  EXPECT_TRUE(could_be_queue_name("lookup.user"));
  EXPECT_TRUE(could_be_queue_name("A-z_0.9"));
  EXPECT_TRUE(could_be_queue_name(std::string(255, 'q')));
  EXPECT_FALSE(could_be_queue_name(std::string(256, 'q')));
  EXPECT_FALSE(could_be_queue_name(""));
  EXPECT_FALSE(could_be_queue_name("sensors/kitchen"));
  EXPECT_FALSE(could_be_queue_name("caf\xc3\xa9.open"));  // a topic word may be any bytes
}

TEST(Responder, AResponseIsAPayloadOrAWholeMessage) {
  RequestHandler text = [](const Message& m) -> std::optional<std::string> { return m.payload; };
  RequestHandler whole = [](const Message&) {
    return std::optional<OutgoingMessage>(OutgoingMessage{.payload = "p", .type = 4});
  };
  RequestHandler literal = [](const Message&) -> std::optional<Response> { return "lit"; };
  Message m;
  m.payload = "echo";
  EXPECT_EQ(text(m)->message.payload, "echo");
  EXPECT_EQ(whole(m)->message.type, 4);
  EXPECT_EQ(literal(m)->message.payload, "lit");
}

}  // namespace
}  // namespace postbox::detail
