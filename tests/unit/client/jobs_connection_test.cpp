// Tests client/connection.cpp's version 2 side: scheduling properties, leases, settles,
// consumers and DELIVER routing, SEND_OK duplicates, and the version 1 fallback.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "client/connection.hpp"
#include "postbox/error.hpp"
#include "proto/jobs.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"
#include "proto/wire.hpp"
#include "tests/unit/client/connection_fixtures.hpp"

namespace postbox::detail {
namespace {

using namespace std::chrono_literals;
using proto::Kind;

using namespace testing;

/// A DELIVER (or RECEIVE_OK) frame with one message per tag.
void append_delivery(std::vector<std::byte>& wire, uint32_t id, std::vector<uint64_t> tags,
                     Kind kind = Kind::deliver) {
  auto body = proto::begin_receive_reply(wire, id, kind);
  for (uint64_t tag : tags) {
    proto::DeliveredMessage d;
    d.id = tag * 10;
    d.delivery_tag = tag;
    d.delivery_count = 2;
    d.payload = bytes("job");
    proto::append_delivered(d, wire);
  }
  proto::finish_receive_reply(wire, body, static_cast<uint32_t>(tags.size()));
}

std::vector<uint64_t> tags_of(const std::vector<Message>& messages) {
  std::vector<uint64_t> out;
  for (const auto& m : messages) out.push_back(m.delivery_tag);
  return out;
}

std::vector<uint64_t> settle_tags(const proto::SettleRequest& r) {
  std::vector<uint64_t> out;
  for (uint32_t i = 0; i < r.count(); ++i) out.push_back(r.tag_at(i));
  return out;
}

TEST(JobsHello, AsksForVersionTwo) {
  Connection sut;
  sut.add_hello("t");
  auto h = proto::decode_hello(only_body(sut.output(), Kind::hello));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, 2);
}

TEST(JobsSend, SchedulingOptionsTravelAsPropertyTags4To7) {
  Connection sut = negotiated(2);
  SendOptions o;
  o.delay = 1500ms;
  o.due =
      std::chrono::system_clock::time_point(std::chrono::nanoseconds(1'700'000'000'123'456'789));
  o.ttl = 60s;
  o.dedup_key = "order-42";
  o.correlation_id = "c";
  sut.add_send("jobs", "x", o);
  proto::SendReader r;
  ASSERT_TRUE(r.open(only_body(sut.output(), Kind::send)));
  proto::OutgoingMessage m;
  ASSERT_TRUE(r.next(m));
  proto::Scheduling s;
  EXPECT_EQ(proto::find_scheduling(m.properties, s), "");
  EXPECT_EQ(s.delay_ms, 1500u);
  EXPECT_EQ(s.due_ns, 1'700'000'000'123'456'789u);
  EXPECT_EQ(s.ttl_ms, 60'000u);
  EXPECT_EQ(s.dedup_key, "order-42");
  EXPECT_EQ(proto::decode_properties(m.properties)->correlation_id, "c");
}

TEST(JobsSend, EachBatchMessageCarriesItsOwnScheduling) {
  Connection sut = negotiated(2);
  std::vector<OutgoingMessage> batch(2);
  batch[0].payload = "a";
  batch[0].dedup_key = "k1";
  batch[1].payload = "b";
  batch[1].delay = 5ms;
  sut.add_send_batch("q", batch, kForever);
  proto::SendReader r;
  ASSERT_TRUE(r.open(only_body(sut.output(), Kind::send)));
  proto::OutgoingMessage m;
  ASSERT_TRUE(r.next(m));
  auto first = proto::decode_properties(m.properties);
  EXPECT_EQ(first->dedup_key, "k1");
  EXPECT_FALSE(first->delay_ms);
  ASSERT_TRUE(r.next(m));
  auto second = proto::decode_properties(m.properties);
  EXPECT_EQ(second->delay_ms, 5u);
  EXPECT_FALSE(second->dedup_key);
}

TEST(JobsSend, BadSchedulingIsRefusedBeforeAnythingIsQueued) {
  Connection sut = negotiated(2);
  auto with = [](auto set) {
    SendOptions o;
    set(o);
    return o;
  };
  const SendOptions bad[] = {
      with([](SendOptions& o) { o.delay = -1ms; }),
      with([](SendOptions& o) { o.ttl = 0ms; }),
      with([](SendOptions& o) { o.dedup_key = ""; }),
      with([](SendOptions& o) { o.dedup_key = std::string(proto::kMaxDedupKey + 1, 'k'); }),
      with([](SendOptions& o) {
        o.due = std::chrono::system_clock::time_point(std::chrono::seconds(-1));
      }),
  };
  for (const auto& o : bad) {
    EXPECT_EQ(thrown([&] { sut.add_send("q", "x", o); }).errc(), Errc::invalid_argument);
    EXPECT_TRUE(sut.output().empty());
  }
  SendOptions longest_key;
  longest_key.dedup_key = std::string(proto::kMaxDedupKey, 'k');
  sut.add_send("q", "x", longest_key);
  EXPECT_FALSE(sut.output().empty());
}

TEST(JobsSend, SendOkListsDuplicatesWithTheHeldIds) {
  std::vector<std::byte> wire;
  proto::SendReply reply{100, 4, {{1, 5}, {3, 7}}};
  proto::encode(reply, wire, 1, 2);
  Connection sut = negotiated(2);
  feed(sut, wire);
  auto got = replies(sut);
  ASSERT_EQ(got.size(), 1u);
  SendResult r = got[0].reply.send_result();
  EXPECT_EQ(r.first_id, 100u);
  EXPECT_EQ(r.count, 4u);
  EXPECT_EQ(r.duplicates, (std::vector<SendDuplicate>{{1, 5}, {3, 7}}));
  EXPECT_EQ(r.id(0), 100u);
  EXPECT_EQ(r.id(1), 5u);
  EXPECT_EQ(r.id(2), 102u);
  EXPECT_EQ(r.id(3), 7u);
  EXPECT_TRUE(r.duplicate(1));
  EXPECT_FALSE(r.duplicate(2));
  EXPECT_EQ(static_cast<uint64_t>(r), 100u);  // first_id, as before duplicates existed
}

TEST(JobsSend, DuplicateIndexOutsideTheBatchIsAProtocolError) {
  std::vector<std::byte> wire;
  proto::encode(proto::SendReply{100, 1, {{1, 5}}}, wire, 1, 2);
  Connection sut = negotiated(2);
  feed(sut, wire);
  EXPECT_EQ(thrown([&] { sut.next_reply(); }).errc(), Errc::protocol_error);
}

TEST(JobsReceive, AckDetachedAndLeaseAreFlagsAndATrailingLength) {
  Connection sut = negotiated(2);
  ReceiveOptions o;
  o.ack = true;
  o.detached = true;
  o.lease = 2500ms;
  sut.add_receive("q", o);
  auto r = proto::decode_receive(only_body(sut.output(), Kind::receive));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, proto::kReceiveAck | proto::kReceiveDetached);
  EXPECT_EQ(r->lease_ms, 2500u);

  sut.output().clear();
  ReceiveOptions plain_ack;
  plain_ack.ack = true;
  sut.add_receive("q", plain_ack);
  r = proto::decode_receive(only_body(sut.output(), Kind::receive));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, proto::kReceiveAck);
  EXPECT_EQ(r->lease_ms, 0u);  // the queue's default
}

TEST(JobsReceive, LeaseOptionsWithoutAckOrWithPeekAreRefused) {
  Connection sut = negotiated(2);
  ReceiveOptions detached;
  detached.detached = true;
  ReceiveOptions lease;
  lease.lease = 10ms;
  ReceiveOptions peek;
  peek.ack = true;
  peek.peek = true;
  ReceiveOptions zero_lease;
  zero_lease.ack = true;
  zero_lease.lease = 0ms;
  for (const auto& o : {detached, lease, peek, zero_lease}) {
    EXPECT_EQ(thrown([&] { sut.add_receive("q", o); }).errc(), Errc::invalid_argument);
    EXPECT_TRUE(sut.output().empty());
  }
}

TEST(JobsSettle, EachKindEncodesItsTagsAndArguments) {
  Connection sut = negotiated(2);
  const std::vector<uint64_t> tags = {7, 8, 9};
  sut.add_ack(tags);
  sut.add_nack(std::span(tags).first(1), NackOptions{250ms, 9});
  sut.add_nack(std::span(tags).first(1), NackOptions{});
  sut.add_touch(tags, 30s);
  sut.add_touch(tags, std::nullopt);
  sut.add_reject(std::span(tags).last(1));
  auto all = frames(sut.output());
  ASSERT_EQ(all.size(), 6u);
  struct Expect {
    Kind kind;
    uint32_t ms;
    uint16_t priority;
    std::vector<uint64_t> tags;
  };
  const Expect expect[] = {
      {Kind::ack, 0, proto::kKeepPriority, {7, 8, 9}},
      {Kind::nack, 250, 9, {7}},
      {Kind::nack, 0, proto::kKeepPriority, {7}},
      {Kind::touch, 30'000, proto::kKeepPriority, {7, 8, 9}},
      {Kind::touch, 0, proto::kKeepPriority, {7, 8, 9}},  // 0: the original length
      {Kind::reject, 0, proto::kKeepPriority, {9}},
  };
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].first.kind, expect[i].kind) << i;
    auto r = proto::decode_settle(expect[i].kind, all[i].second);
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->ms, expect[i].ms) << i;
    EXPECT_EQ(r->priority, expect[i].priority) << i;
    EXPECT_EQ(settle_tags(*r), expect[i].tags) << i;
  }
}

TEST(JobsSettle, NoTagsOrTagZeroIsRefused) {
  Connection sut = negotiated(2);
  const std::vector<uint64_t> none, zero = {5, 0};
  EXPECT_EQ(thrown([&] { sut.add_ack(none); }).errc(), Errc::invalid_argument);
  Error e = thrown([&] { sut.add_reject(zero); });
  EXPECT_EQ(e.errc(), Errc::invalid_argument);
  EXPECT_NE(std::string(e.what()).find("tag 0"), std::string::npos) << e.what();
  EXPECT_EQ(thrown([&] { sut.add_touch(std::span(zero).first(1), 0ms); }).errc(),
            Errc::invalid_argument);
  EXPECT_TRUE(sut.output().empty());
}

TEST(JobsSettle, RepliesCarrySettledAndMissingTags) {
  std::vector<std::byte> wire;
  proto::encode(Kind::ack, proto::SettleReply{2, {9}}, wire, 1);
  proto::encode(Kind::touch, proto::SettleReply{1, {}}, wire, 2);
  Connection sut = negotiated(2);
  feed(sut, wire);
  auto got = replies(sut);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, Kind::ack);
  EXPECT_EQ(got[0].reply.settled, 2u);
  EXPECT_EQ(got[0].reply.missing, (std::vector<uint64_t>{9}));
  EXPECT_EQ(got[1].kind, Kind::touch);
  EXPECT_TRUE(got[1].reply.missing.empty());
}

TEST(JobsConsume, EncodesSelectorFlagsPrefetchAndLease) {
  Connection sut = negotiated(2);
  ConsumeOptions o;
  o.type = -3;
  o.except = true;
  o.ack = true;
  o.lease = 5s;
  o.max_size = 100;
  sut.add_consume("q", o);
  auto r = proto::decode_consume(only_body(sut.output(), Kind::consume));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->queue, "q");
  EXPECT_EQ(r->type, -3);
  EXPECT_EQ(r->flags, proto::kReceiveExcept | proto::kReceiveAck);
  EXPECT_EQ(r->prefetch, ConsumeOptions::kDefaultPrefetch);
  EXPECT_EQ(r->lease_ms, 5000u);
  EXPECT_EQ(r->max_size, 100u);

  sut.output().clear();
  sut.add_consume("q", ConsumeOptions{});  // auto-ack: prefetch 0, lease 0
  r = proto::decode_consume(only_body(sut.output(), Kind::consume));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, 0);
  EXPECT_EQ(r->prefetch, 0u);
  EXPECT_EQ(r->max_size, proto::kNoSizeLimit);
}

TEST(JobsConsume, PrefetchAndLeaseNeedAck) {
  Connection sut = negotiated(2);
  ConsumeOptions prefetch;
  prefetch.prefetch = 4;
  ConsumeOptions lease;
  lease.lease = 1s;
  ConsumeOptions zero;
  zero.ack = true;
  zero.prefetch = 0;
  for (const auto& o : {prefetch, lease, zero}) {
    EXPECT_EQ(thrown([&] { sut.add_consume("q", o); }).errc(), Errc::invalid_argument);
    EXPECT_TRUE(sut.output().empty());
  }
}

TEST(JobsConsume, DeliversAreRoutedToTheirConsumerWhileOtherRepliesPassThrough) {
  Connection sut = negotiated(2);
  ConsumeOptions ack;
  ack.ack = true;
  const uint32_t a = sut.add_consume("q", ack);
  const uint32_t b = sut.add_consume("other", ConsumeOptions{});
  const uint32_t receive = sut.add_receive("r", {});
  std::vector<std::byte> wire;
  proto::encode_empty_reply(Kind::consume, wire, a);
  proto::encode_empty_reply(Kind::consume, wire, b);
  append_delivery(wire, a, {1, 2});
  append_delivery(wire, b, {3});
  append_delivery(wire, receive, {4}, proto::reply_kind(Kind::receive));
  append_delivery(wire, a, {5});
  // One byte at a time: routing must not depend on how reads split frames.
  std::vector<RawReply> got;
  for (std::byte x : wire) {
    feed(sut, std::span(&x, 1));
    while (auto r = sut.next_reply()) got.push_back(std::move(*r));
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].kind, Kind::consume);
  EXPECT_EQ(got[0].request_id, a);
  EXPECT_EQ(got[1].request_id, b);
  EXPECT_EQ(got[2].kind, Kind::receive);
  EXPECT_EQ(tags_of(got[2].reply.messages), (std::vector<uint64_t>{4}));
  EXPECT_TRUE(sut.has_deliveries(a));
  auto to_a = sut.take_deliveries(a);
  EXPECT_EQ(tags_of(to_a), (std::vector<uint64_t>{1, 2, 5}));
  EXPECT_EQ(to_a[0].delivery_count, 2u);
  EXPECT_EQ(to_a[0].id, 10u);
  EXPECT_FALSE(sut.has_deliveries(a));
  EXPECT_EQ(tags_of(sut.take_deliveries(b)), (std::vector<uint64_t>{3}));
  EXPECT_FALSE(sut.consumer_ended(a));
}

TEST(JobsConsume, DeliverForNoConsumerIsAProtocolError) {
  Connection sut = negotiated(2);
  std::vector<std::byte> wire;
  append_delivery(wire, 7, {1});
  feed(sut, wire);
  EXPECT_EQ(thrown([&] { sut.next_reply(); }).errc(), Errc::protocol_error);
}

TEST(JobsConsume, CancelOkEndsTheConsumerAndLaterDeliversAreRefused) {
  Connection sut = negotiated(2);
  const uint32_t c = sut.add_consume("q", ConsumeOptions{});
  std::vector<std::byte> wire;
  proto::encode_empty_reply(Kind::consume, wire, c);
  append_delivery(wire, c, {1});
  feed(sut, wire);
  replies(sut);
  sut.output().clear();
  const uint32_t cancel = sut.add_cancel(c);
  auto body = proto::decode_cancel(only_body(sut.output(), Kind::cancel));
  ASSERT_TRUE(body);
  EXPECT_EQ(body->consumer, c);
  EXPECT_EQ(thrown([&] { sut.add_cancel(c); }).errc(), Errc::invalid_argument);  // once

  wire.clear();
  proto::encode_empty_reply(Kind::cancel, wire, cancel);
  feed(sut, wire);
  auto got = replies(sut);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::cancel);
  EXPECT_TRUE(sut.consumer_ended(c));
  EXPECT_FALSE(sut.consumer_error(c));
  EXPECT_EQ(tags_of(sut.take_deliveries(c)), (std::vector<uint64_t>{1}));  // kept until taken

  wire.clear();
  append_delivery(wire, c, {2});
  feed(sut, wire);
  EXPECT_EQ(thrown([&] { sut.next_reply(); }).errc(), Errc::protocol_error);
}

TEST(JobsConsume, ErrorAfterConsumeOkEndsTheConsumerInsteadOfAnsweringARequest) {
  Connection sut = negotiated(2);
  const uint32_t c = sut.add_consume("q", ConsumeOptions{});
  std::vector<std::byte> wire;
  proto::encode_empty_reply(Kind::consume, wire, c);
  append_delivery(wire, c, {1});
  proto::encode(proto::ErrorReply{proto::Errc::queue_removed, "queue 'q' was deleted"}, wire, c);
  feed(sut, wire);
  auto got = replies(sut);
  ASSERT_EQ(got.size(), 1u);  // only CONSUME_OK
  EXPECT_TRUE(sut.consumer_ended(c));
  ASSERT_TRUE(sut.consumer_error(c));
  EXPECT_EQ(sut.consumer_error(c)->errc(), Errc::queue_removed);
  EXPECT_STREQ(sut.consumer_error(c)->what(), "queue 'q' was deleted");
  EXPECT_EQ(tags_of(sut.take_deliveries(c)), (std::vector<uint64_t>{1}));
  EXPECT_EQ(thrown([&] { sut.add_cancel(c); }).errc(), Errc::invalid_argument);
  sut.forget_consumer(c);
  EXPECT_FALSE(sut.is_consumer(c));
}

TEST(JobsConsume, ErrorBeforeConsumeOkIsTheConsumesReply) {
  Connection sut = negotiated(2);
  const uint32_t c = sut.add_consume("missing", ConsumeOptions{});
  std::vector<std::byte> wire;
  proto::encode(proto::ErrorReply{proto::Errc::no_such_queue, "no queue 'missing'"}, wire, c);
  feed(sut, wire);
  auto got = replies(sut);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::error);
  EXPECT_EQ(got[0].request_id, c);
  EXPECT_EQ(got[0].reply.error, make_error_code(Errc::no_such_queue));
  EXPECT_FALSE(sut.is_consumer(c));
}

TEST(JobsMove, IsAnAdminRequestWithAJsonReply) {
  Connection sut = negotiated(2);
  const uint32_t id = sut.add_admin(Kind::move, R"({"source":"a","destination":"b"})");
  only_body(sut.output(), Kind::move);
  std::vector<std::byte> wire;
  proto::encode_json(proto::reply_kind(Kind::move), R"({"moved":3})", wire, id);
  feed(sut, wire);
  auto got = replies(sut);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::move);
  EXPECT_EQ(got[0].json, R"({"moved":3})");
}

TEST(JobsVersion1, EveryVersion2RequestIsRefusedNamingTheVersion) {
  Connection sut = negotiated(1);
  const std::vector<uint64_t> tags = {1};
  SendOptions delayed;
  delayed.delay = 1ms;
  std::vector<OutgoingMessage> keyed(1);
  keyed[0].dedup_key = "k";
  ReceiveOptions ack;
  ack.ack = true;
  const std::function<void()> calls[] = {
      [&] { sut.add_send("q", "x", delayed); },
      [&] { sut.add_send_batch("q", keyed, kForever); },
      [&] { sut.add_receive("q", ack); },
      [&] { sut.add_ack(tags); },
      [&] { sut.add_nack(tags, {}); },
      [&] { sut.add_touch(tags, std::nullopt); },
      [&] { sut.add_reject(tags); },
      [&] { sut.add_consume("q", ConsumeOptions{}); },
      [&] { sut.add_admin(Kind::move, "{}"); },
      [&] { sut.require_jobs("declare with dead_letter"); },
  };
  for (const auto& call : calls) {
    Error e = thrown(call);
    EXPECT_EQ(e.errc(), Errc::invalid_argument);
    EXPECT_EQ(std::string(e.what()).rfind("broker speaks protocol version 1", 0), 0u) << e.what();
    EXPECT_TRUE(sut.output().empty());
  }
}

TEST(JobsVersion1, PlainRequestsStillWorkAndSendOkHasTheVersion1Layout) {
  Connection sut = negotiated(1);
  const uint32_t id = sut.add_send("q", "x", {});
  std::vector<std::byte> wire;
  proto::encode(proto::SendReply{42, 1, {}}, wire, id, 1);  // no duplicates field
  feed(sut, wire);
  auto got = replies(sut);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].reply.first_id, 42u);
  EXPECT_TRUE(got[0].reply.duplicates.empty());
}

}  // namespace
}  // namespace postbox::detail
