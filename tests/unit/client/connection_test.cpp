// Tests client/connection.cpp: request encoding, validation, and incremental reply decoding.
#include "client/connection.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "postbox/error.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"

namespace postbox::detail {
namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// The body of the only frame in `out`.
std::span<const std::byte> only_body(const std::vector<std::byte>& out, proto::Kind kind) {
  EXPECT_GE(out.size(), proto::kHeaderSize);
  auto h = proto::decode_header(out.data());
  EXPECT_EQ(h.kind, kind);
  EXPECT_EQ(h.body_size, out.size() - proto::kHeaderSize);
  return std::span(out).subspan(proto::kHeaderSize);
}

void feed(Connection& c, std::span<const std::byte> data) {
  auto space = c.input_space();
  ASSERT_GE(space.size(), data.size());
  std::memcpy(space.data(), data.data(), data.size());
  c.commit_input(data.size());
}

Errc thrown_code(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.errc();
  }
  return Errc::ok;
}

TEST(ConnectionRequests, SendCarriesOptionsAndProperties) {
  Connection sut;
  SendOptions o;
  o.type = 7;
  o.priority = 3;
  o.timeout = std::chrono::milliseconds(250);
  o.correlation_id = "c1";
  o.headers = {{"k", "v"}};
  uint32_t id = sut.add_send("jobs", "hello", o);
  EXPECT_EQ(proto::decode_header(sut.output().data()).request_id, id);

  proto::SendReader r;
  ASSERT_TRUE(r.open(only_body(sut.output(), proto::Kind::send)));
  EXPECT_EQ(r.header().queue, "jobs");
  EXPECT_EQ(r.header().timeout_ms, 250u);
  EXPECT_EQ(r.header().count, 1u);
  proto::OutgoingMessage m;
  ASSERT_TRUE(r.next(m));
  EXPECT_EQ(m.type, 7);
  EXPECT_EQ(m.priority, 3);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()),
            "hello");
  auto props = proto::decode_properties(m.properties);
  ASSERT_TRUE(props);
  EXPECT_EQ(props->correlation_id, "c1");
  EXPECT_EQ(props->headers, (Headers{{"k", "v"}}));
  EXPECT_FALSE(r.next(m));
  EXPECT_FALSE(r.failed());
}

TEST(ConnectionRequests, TimeoutsMapToTheWireValues) {
  struct Case {
    Timeout timeout;
    uint32_t wire;
  };
  const Case cases[] = {{kForever, proto::kWaitForever},
                        {kNoWait, 0},
                        {std::chrono::milliseconds(1), 1},
                        {std::chrono::hours(24 * 365), proto::kWaitForever - 1}};
  for (const auto& c : cases) {
    Connection sut;
    ReceiveOptions o;
    o.timeout = c.timeout;
    sut.add_receive("q", o);
    auto r = proto::decode_receive(only_body(sut.output(), proto::Kind::receive));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->timeout_ms, c.wire);
  }
}

TEST(ConnectionRequests, ReceiveCarriesSelectorAndFlags) {
  Connection sut;
  ReceiveOptions o;
  o.type = -5;
  o.except = true;
  o.truncate = true;
  o.peek = true;
  o.max_size = 10;
  o.max_count = 4;
  sut.add_receive("q", o);
  auto r = proto::decode_receive(only_body(sut.output(), proto::Kind::receive));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, -5);
  EXPECT_EQ(r->flags, proto::kReceiveExcept | proto::kReceiveTruncate | proto::kReceivePeek);
  EXPECT_EQ(r->max_size, 10u);
  EXPECT_EQ(r->max_count, 4u);
}

TEST(ConnectionRequests, BatchOfPayloadsIsOneFrameWithConsecutiveMessages) {
  Connection sut;
  std::vector<std::string> payloads = {"a", "bb", "ccc"};
  sut.add_send_batch("q", payloads, SendOptions{});
  proto::SendReader r;
  ASSERT_TRUE(r.open(only_body(sut.output(), proto::Kind::send)));
  EXPECT_EQ(r.header().count, 3u);
  proto::OutgoingMessage m;
  for (const auto& p : payloads) {
    ASSERT_TRUE(r.next(m));
    EXPECT_EQ(m.payload.size(), p.size());
  }
  EXPECT_FALSE(r.next(m));
  EXPECT_FALSE(r.failed());
}

TEST(ConnectionRequests, InvalidArgumentsAreRefusedBeforeAnythingIsQueued) {
  Connection sut;
  RawReply hello;
  hello.server = {1, 1000, 100, "test"};
  sut.accept_hello(hello);
  SendOptions type_zero;
  type_zero.type = 0;
  std::vector<OutgoingMessage> none;
  SendOptions negative_timeout;
  negative_timeout.timeout = std::chrono::milliseconds(-1);
  ReceiveOptions zero_count;
  zero_count.max_count = 0;
  struct Case {
    const char* what;
    std::function<void()> call;
    Errc code;
  };
  const Case cases[] = {
      {"empty queue", [&] { sut.add_send("", "x", {}); }, Errc::invalid_argument},
      {"long queue", [&] { sut.add_send(std::string(256, 'q'), "x", {}); }, Errc::invalid_argument},
      {"type 0", [&] { sut.add_send("q", "x", type_zero); }, Errc::invalid_argument},
      {"empty batch", [&] { sut.add_send_batch("q", none, kForever); }, Errc::invalid_argument},
      {"over max_message_size", [&] { sut.add_send("q", std::string(101, 'x'), {}); },
       Errc::too_big},
      {"negative timeout", [&] { sut.add_send("q", "x", negative_timeout); },
       Errc::invalid_argument},
      {"max_count 0", [&] { sut.add_receive("q", zero_count); }, Errc::invalid_argument},
      {"over frame limit",
       [&] {
         std::vector<std::string> many(20, std::string(90, 'x'));
         sut.add_send_batch("q", many, SendOptions{});
       },
       Errc::too_big},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(thrown_code(c.call), c.code) << c.what;
    EXPECT_TRUE(sut.output().empty()) << c.what;
  }
}

TEST(ConnectionReplies, ByteByByteRepliesDecodeInArrivalOrder) {
  std::vector<std::byte> wire;
  proto::encode(proto::SendReply{100, 3, {}}, wire, 2);
  proto::encode(proto::ErrorReply{proto::Errc::queue_full, "queue 'q' is full"}, wire, 1);
  auto body = proto::begin_receive_reply(wire, 3);
  proto::DeliveredMessage d;
  d.id = 42;
  d.type = 5;
  d.flags = proto::kDeliveredTruncated;
  auto props = proto::encode_properties(proto::Properties{"c1", "r", {{"k", "v"}}, {}, {}, {}, {}, {}});
  d.properties = props;
  d.payload = bytes("yo");
  proto::append_delivered(d, wire);
  proto::finish_receive_reply(wire, body, 1);
  proto::encode_json(proto::reply_kind(proto::Kind::purge), R"({"purged":3})", wire, 4);

  Connection sut;
  std::vector<RawReply> got;
  for (std::byte b : wire) {
    feed(sut, std::span(&b, 1));
    while (auto r = sut.next_reply()) got.push_back(std::move(*r));
  }
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].request_id, 2u);
  EXPECT_EQ(got[0].kind, proto::Kind::send);
  EXPECT_EQ(got[0].reply.first_id, 100u);
  EXPECT_EQ(got[0].reply.count, 3u);
  EXPECT_EQ(got[1].request_id, 1u);
  EXPECT_EQ(got[1].kind, proto::Kind::error);
  EXPECT_EQ(got[1].reply.error, make_error_code(Errc::queue_full));
  EXPECT_EQ(got[1].reply.error_message, "queue 'q' is full");
  ASSERT_EQ(got[2].reply.messages.size(), 1u);
  const Message& m = got[2].reply.messages[0];
  EXPECT_EQ(m.id, 42u);
  EXPECT_EQ(m.payload, "yo");
  EXPECT_TRUE(m.truncated);
  EXPECT_EQ(m.correlation_id, "c1");
  EXPECT_EQ(m.reply_to, "r");
  EXPECT_EQ(m.headers, (Headers{{"k", "v"}}));
  EXPECT_EQ(got[3].kind, proto::Kind::purge);
  EXPECT_EQ(got[3].json, R"({"purged":3})");
}

TEST(ConnectionReplies, ManyRepliesInOneReadAllDecode) {
  std::vector<std::byte> wire;
  constexpr uint32_t kReplies = 10000;  // far more than one kReadChunk holds
  for (uint32_t i = 1; i <= kReplies; ++i) proto::encode(proto::SendReply{i, 1, {}}, wire, i);
  Connection sut;
  uint32_t next = 1;
  for (std::size_t at = 0; at < wire.size();) {
    auto space = sut.input_space();
    std::size_t n = std::min(space.size(), wire.size() - at);
    std::memcpy(space.data(), wire.data() + at, n);
    sut.commit_input(n);
    at += n;
    while (auto r = sut.next_reply()) EXPECT_EQ(r->request_id, next++);
  }
  EXPECT_EQ(next, kReplies + 1);
}

TEST(ConnectionReplies, LargeFrameGetsRoomForItsWholeBody) {
  std::vector<std::byte> wire;
  auto body = proto::begin_receive_reply(wire, 1);
  std::string payload(1 << 20, 'x');
  proto::DeliveredMessage d;
  d.payload = bytes(payload);
  proto::append_delivered(d, wire);
  proto::finish_receive_reply(wire, body, 1);
  Connection sut;
  feed(sut, std::span(wire).first(proto::kHeaderSize));
  EXPECT_GE(sut.input_space().size(), wire.size() - proto::kHeaderSize);
}

TEST(ConnectionReplies, MalformedRepliesThrowProtocolError) {
  std::vector<std::vector<std::byte>> frames(3);
  proto::encode_json(proto::Kind::stat, "{}", frames[0], 1);  // a request kind
  proto::encode(proto::SendReply{1, 1, {}}, frames[1], 1);
  frames[1].pop_back();  // short body, header patched to match
  uint32_t size = static_cast<uint32_t>(frames[1].size() - proto::kHeaderSize);
  std::memcpy(frames[1].data(), &size, sizeof size);
  proto::encode_json(static_cast<proto::Kind>(0x8077), "{}", frames[2], 1);  // unknown reply
  for (const auto& f : frames) {
    Connection sut;
    feed(sut, f);
    EXPECT_EQ(thrown_code([&] { sut.next_reply(); }), Errc::protocol_error);
  }
}

TEST(ConnectionHello, RefusesVersionsAndLimitsItCannotUse) {
  Connection sut;
  RawReply r;
  r.server = {static_cast<uint16_t>(proto::kVersion + 1), 1000, 100, "future"};
  EXPECT_EQ(thrown_code([&] { sut.accept_hello(r); }), Errc::unsupported_version);
  r.server = {1, 0, 100, "broken"};
  EXPECT_EQ(thrown_code([&] { sut.accept_hello(r); }), Errc::protocol_error);
  r.reply.error = make_error_code(Errc::unsupported_version);
  EXPECT_EQ(thrown_code([&] { sut.accept_hello(r); }), Errc::unsupported_version);
  RawReply ok;
  ok.server = {1, 4096, 100, "0.1.0"};
  sut.accept_hello(ok);
  EXPECT_EQ(sut.server().broker_version, "0.1.0");
}

}  // namespace
}  // namespace postbox::detail
