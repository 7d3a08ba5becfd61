// Round trips for every message kind: decode(encode(x)) == x, including the extremes.
#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <random>
#include <string>

#include "proto/decoder.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"
#include "test_bytes.hpp"

namespace postbox::proto {
namespace {

using test::as_bytes;
using test::as_text;
using test::Bytes;

/// The single frame in `out`, checked for kind and request id.
std::span<const std::byte> body_checked(const Bytes& out, Kind kind, uint32_t request_id) {
  auto r = decode_frame(out, kMaxFrameBodyCeiling);
  EXPECT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(r.consumed, out.size());
  EXPECT_EQ(r.frame.header.kind, kind);
  EXPECT_EQ(r.frame.header.request_id, request_id);
  return r.frame.body;
}

TEST(RoundTrip, HelloKeepsVersionAndName) {
  for (uint16_t version : {uint16_t{0}, uint16_t{1}, uint16_t{0xFFFF}}) {
    for (const std::string& name :
         {std::string(), std::string("postbox-cli"), std::string(255, 'n')}) {
      Bytes out;
      encode(Hello{version, name}, out, 0xFFFFFFFF);
      auto m = decode_hello(body_checked(out, Kind::hello, 0xFFFFFFFF));
      ASSERT_TRUE(m.has_value());
      EXPECT_EQ(m->version, version);
      EXPECT_EQ(m->client_name, name);
    }
  }
}

TEST(RoundTrip, HelloReplyKeepsEveryField) {
  Bytes out;
  encode(HelloReply{7, kMaxFrameBodyCeiling, 0xFFFFFFFF, "postboxd 9.9"}, out, 0);
  auto m = decode_hello_reply(body_checked(out, reply_kind(Kind::hello), 0));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->version, 7);
  EXPECT_EQ(m->max_frame_body, kMaxFrameBodyCeiling);
  EXPECT_EQ(m->max_message_size, 0xFFFFFFFFu);
  EXPECT_EQ(m->broker_version, "postboxd 9.9");
}

TEST(RoundTrip, TooLongTextIsCutAtACharacterBoundary) {
  // 127 two-byte characters and one more: 256 bytes, over str8's 255. The cut
  // must not split the last character.
  std::string name;
  for (int i = 0; i < 128; ++i) name += "\xc3\xa9";  // U+00E9
  Bytes out;
  encode(Hello{1, name}, out, 1);
  auto m = decode_hello(body_checked(out, Kind::hello, 1));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->client_name.size(), 254u);
  EXPECT_EQ(m->client_name, name.substr(0, 254));
}

TEST(RoundTrip, ErrorKeepsCodeAndMessage) {
  for (uint16_t code = 1; code <= 13; ++code) {
    Bytes out;
    const std::string text = "queue 'q': " + std::string(to_string(static_cast<Errc>(code)));
    encode(ErrorReply{static_cast<Errc>(code), text}, out, code);
    auto m = decode_error(body_checked(out, Kind::error, code));
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(static_cast<uint16_t>(m->code), code);
    EXPECT_EQ(m->message, text);
  }
}

TEST(RoundTrip, ErrorWithUnknownCodeStaysDecodable) {
  Bytes out;
  encode(ErrorReply{static_cast<Errc>(500), "from the future"}, out, 1);
  auto m = decode_error(body_checked(out, Kind::error, 1));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(static_cast<uint16_t>(m->code), 500);
  EXPECT_EQ(to_string(m->code), "unknown");
}

TEST(RoundTrip, LongErrorMessageIsCutToStr16) {
  Bytes out;
  encode(ErrorReply{Errc::invalid_argument, std::string(70000, 'x')}, out, 1);
  auto m = decode_error(body_checked(out, Kind::error, 1));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->message.size(), 65535u);
}

TEST(RoundTrip, SendBatchKeepsEveryMessageInOrder) {
  const unsigned seed = 20240517;
  std::printf("RoundTrip.SendBatch seed %u\n", seed);
  std::mt19937 rng(seed);
  std::vector<std::string> payloads, props;
  std::vector<OutgoingMessage> in;
  const uint32_t kCount = 50;
  for (uint32_t i = 0; i < kCount; ++i) {
    payloads.emplace_back(rng() % 300, static_cast<char>('a' + i % 26));
    Properties p;
    if (i % 3 == 0) p.correlation_id = "corr-" + std::to_string(i);
    if (i % 5 == 0) p.headers = {{"n", std::to_string(i)}};
    auto tlv = encode_properties(p);
    props.emplace_back(test::as_text(tlv));
  }
  for (uint32_t i = 0; i < kCount; ++i) {
    int64_t type =
        i == 0 ? std::numeric_limits<int64_t>::max() : 1 + static_cast<int64_t>(rng() % 1000);
    in.push_back({type, static_cast<uint8_t>(rng()), as_bytes(props[i]), as_bytes(payloads[i])});
  }
  Bytes out;
  auto body = begin_send(SendHeader{std::string(255, 'q'), kWaitForever, kCount}, out, 77);
  for (const auto& m : in) append_outgoing(m, out);
  finish_frame(out, body);

  SendReader sut;
  ASSERT_TRUE(sut.open(body_checked(out, Kind::send, 77)));
  EXPECT_EQ(sut.header().queue, std::string(255, 'q'));
  EXPECT_EQ(sut.header().timeout_ms, kWaitForever);
  OutgoingMessage m;
  for (uint32_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(sut.next(m)) << "message " << i;
    EXPECT_EQ(m.type, in[i].type);
    EXPECT_EQ(m.priority, in[i].priority);
    EXPECT_EQ(as_text(m.properties), props[i]);
    EXPECT_EQ(as_text(m.payload), payloads[i]);
  }
  EXPECT_FALSE(sut.next(m));
  EXPECT_FALSE(sut.failed());
}

TEST(RoundTrip, SendReplyKeepsIdRangeInEitherVersion) {
  for (uint16_t version : {uint16_t{1}, kVersion}) {
    Bytes out;
    encode(SendReply{std::numeric_limits<uint64_t>::max() - 3, 4, {}}, out, 5, version);
    auto body = body_checked(out, reply_kind(Kind::send), 5);
    EXPECT_EQ(body.size(), version == 1 ? 12u : 16u);
    auto m = decode_send_reply(body, version);
    ASSERT_TRUE(m.has_value()) << version;
    EXPECT_EQ(m->first_id, std::numeric_limits<uint64_t>::max() - 3);
    EXPECT_EQ(m->count, 4u);
    EXPECT_TRUE(m->duplicates.empty());
  }
}

TEST(RoundTrip, SendReplyKeepsEveryDuplicate) {
  SendReply in{1000, 0xFFFFFFFF, {}};
  for (uint32_t i : {0u, 1u, 7u, 0xFFFFFFFEu})
    in.duplicates.push_back({i, std::numeric_limits<uint64_t>::max() - i});
  Bytes out;
  encode(in, out, 6);
  auto m = decode_send_reply(body_checked(out, reply_kind(Kind::send), 6));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first_id, 1000u);
  EXPECT_EQ(m->count, 0xFFFFFFFFu);
  ASSERT_EQ(m->duplicates.size(), in.duplicates.size());
  for (std::size_t i = 0; i < in.duplicates.size(); ++i) {
    EXPECT_EQ(m->duplicates[i].index, in.duplicates[i].index);
    EXPECT_EQ(m->duplicates[i].existing_id, in.duplicates[i].existing_id);
  }
}

TEST(RoundTrip, SendReplyOfVersion1DropsDuplicates) {
  // A v1 session cannot be told about duplicates; the layout has no room for them.
  Bytes out;
  encode(SendReply{5, 2, {{1, 3}}}, out, 1, 1);
  auto m = decode_send_reply(body_checked(out, reply_kind(Kind::send), 1), 1);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->count, 2u);
  EXPECT_TRUE(m->duplicates.empty());
}

TEST(RoundTrip, ReceiveKeepsSelectorFlagsAndLimits) {
  const int64_t types[] = {0, 1, -1, std::numeric_limits<int64_t>::max(),
                           std::numeric_limits<int64_t>::min()};
  for (int64_t type : types) {
    for (uint16_t flags = 0; flags <= kReceiveKnownFlags; ++flags) {
      const bool ack = (flags & kReceiveAck) != 0;
      // The combinations malformed_test.cpp refuses.
      if ((flags & kReceiveDetached) && !ack) continue;
      if (ack && (flags & kReceivePeek)) continue;
      ReceiveRequest in{"q.1_-", type, flags, kWaitForever, 0, 0xFFFFFFFF, 0xFFFFFFFF};
      Bytes out;
      encode(in, out, 9);
      auto body = body_checked(out, Kind::receive, 9);
      EXPECT_EQ(body.size(), 1 + in.queue.size() + 22 + (ack ? 4 : 0)) << "lease_ms only with ack";
      auto m = decode_receive(body);
      ASSERT_TRUE(m.has_value()) << type << " " << flags;
      EXPECT_EQ(m->queue, in.queue);
      EXPECT_EQ(m->type, type);
      EXPECT_EQ(m->flags, flags);
      EXPECT_EQ(m->timeout_ms, kWaitForever);
      EXPECT_EQ(m->max_size, 0u);
      EXPECT_EQ(m->max_count, 0xFFFFFFFFu);
      EXPECT_EQ(m->lease_ms, ack ? 0xFFFFFFFFu : 0u);
    }
  }
}

TEST(RoundTrip, ReceiveReplyKeepsEveryMessage) {
  const std::string payloads[] = {"", "one", std::string(1000, 'z')};
  Properties p;
  p.reply_to = "replies";
  p.headers = {{"h", "v"}};
  const auto props = encode_properties(p);
  Bytes out;
  auto body = begin_receive_reply(out, 11);
  for (uint64_t i = 0; i < 3; ++i) {
    DeliveredMessage m;
    m.id = 100 + i;
    m.type = -static_cast<int64_t>(i);  // the broker never sends these, the codec does not care
    m.priority = static_cast<uint8_t>(255 - i);
    m.flags = i == 2 ? kDeliveredTruncated : 0;
    m.sender_pid = 0xFFFFFFFF;
    m.sender_uid = static_cast<uint32_t>(i);
    m.enqueue_time_ns = std::numeric_limits<uint64_t>::max() - i;
    m.delivery_tag = i;
    m.delivery_count = static_cast<uint32_t>(i + 1);
    m.properties = i == 1 ? std::span<const std::byte>(props) : std::span<const std::byte>();
    m.payload = as_bytes(payloads[i]);
    append_delivered(m, out);
  }
  finish_receive_reply(out, body, 3);

  ReceiveReplyReader sut;
  ASSERT_TRUE(sut.open(body_checked(out, reply_kind(Kind::receive), 11)));
  ASSERT_EQ(sut.count(), 3u);
  DeliveredMessage m;
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(sut.next(m)) << i;
    EXPECT_EQ(m.id, 100 + i);
    EXPECT_EQ(m.type, -static_cast<int64_t>(i));
    EXPECT_EQ(m.priority, 255 - i);
    EXPECT_EQ(m.flags, i == 2 ? kDeliveredTruncated : 0);
    EXPECT_EQ(m.sender_pid, 0xFFFFFFFFu);
    EXPECT_EQ(m.sender_uid, i);
    EXPECT_EQ(m.enqueue_time_ns, std::numeric_limits<uint64_t>::max() - i);
    EXPECT_EQ(m.delivery_tag, i);
    EXPECT_EQ(m.delivery_count, i + 1);
    EXPECT_EQ(m.properties.size(), i == 1 ? props.size() : 0u);
    EXPECT_EQ(as_text(m.payload), payloads[i]);
  }
  EXPECT_FALSE(sut.next(m));
  EXPECT_FALSE(sut.failed());
}

TEST(RoundTrip, EmptyReceiveReplyIsValid) {
  Bytes out;
  auto body = begin_receive_reply(out, 1);
  finish_receive_reply(out, body, 0);
  ReceiveReplyReader sut;
  ASSERT_TRUE(sut.open(body_checked(out, reply_kind(Kind::receive), 1)));
  DeliveredMessage m;
  EXPECT_FALSE(sut.next(m));
  EXPECT_FALSE(sut.failed());
}

TEST(RoundTrip, JsonBodiesOfEveryAdminKind) {
  const Kind kinds[] = {Kind::declare, Kind::remove, Kind::purge, Kind::stat, Kind::list};
  const std::string json = R"({"queue":"jobs","mode":416,"name":"\u00e9"})";
  for (Kind k : kinds) {
    for (Kind sent : {k, reply_kind(k)}) {
      Bytes out;
      encode_json(sent, json, out, 3);
      EXPECT_EQ(as_text(body_checked(out, sent, 3)), json);
    }
  }
}

TEST(RoundTrip, FramesAppendToAnExistingBuffer) {
  Bytes out;
  encode(SendReply{1, 1, {}}, out, 1);
  encode(Hello{1, "x"}, out, 2);
  std::span<const std::byte> rest = out;
  auto first = decode_frame(rest, kDefaultMaxFrameBody);
  ASSERT_EQ(first.status, DecodeStatus::frame);
  rest = rest.subspan(first.consumed);
  auto second = decode_frame(rest, kDefaultMaxFrameBody);
  ASSERT_EQ(second.status, DecodeStatus::frame);
  EXPECT_EQ(second.frame.header.kind, Kind::hello);
  EXPECT_EQ(second.consumed, rest.size());
}

}  // namespace
}  // namespace postbox::proto
