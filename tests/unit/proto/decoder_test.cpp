// Tests for proto/decoder.cpp and proto/frame.cpp: splitting a byte stream into frames.
#include "proto/decoder.hpp"

#include <gtest/gtest.h>

#include <string>

#include "proto/messages.hpp"
#include "test_bytes.hpp"

namespace postbox::proto {
namespace {

using test::Bytes;
using test::from_hex;

constexpr uint32_t kLimit = kDefaultMaxFrameBody;

Bytes json_frame(Kind kind, std::string_view json, uint32_t id) {
  Bytes out;
  encode_json(kind, json, out, id);
  return out;
}

TEST(FrameHeader, EncodesLittleEndianFieldsInOrder) {
  const FrameHeader h{0x04030201, Kind::receive, 0x0605, 0x0a090807};
  std::byte out[kHeaderSize];

  encode_header(h, out);

  EXPECT_EQ(test::to_hex(out), "01 02 03 04 11 00 05 06 07 08 09 0a");
}

TEST(FrameHeader, DecodeInvertsEncode) {
  const FrameHeader h{77, reply_kind(Kind::send), 0, 0xdeadbeef};
  std::byte out[kHeaderSize];
  encode_header(h, out);

  auto back = decode_header(out);

  EXPECT_EQ(back.body_size, h.body_size);
  EXPECT_EQ(back.kind, h.kind);
  EXPECT_EQ(back.flags, h.flags);
  EXPECT_EQ(back.request_id, h.request_id);
}

TEST(FrameKind, ReplyBitMarksReplies) {
  EXPECT_EQ(static_cast<uint16_t>(reply_kind(Kind::hello)), 0x8001);
  EXPECT_TRUE(is_reply(reply_kind(Kind::receive)));
  EXPECT_FALSE(is_reply(Kind::receive));
  EXPECT_TRUE(is_reply(Kind::error));
}

TEST(Decoder, EmptyInputNeedsMore) {
  auto r = decode_frame({}, kLimit);
  EXPECT_EQ(r.status, DecodeStatus::need_more);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(Decoder, WholeFrameIsReturnedWithItsBody) {
  auto frame = json_frame(Kind::stat, R"({"queue":"q"})", 9);

  auto r = decode_frame(frame, kLimit);

  ASSERT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(r.consumed, frame.size());
  EXPECT_EQ(r.frame.header.kind, Kind::stat);
  EXPECT_EQ(r.frame.header.request_id, 9u);
  EXPECT_EQ(test::as_text(r.frame.body), R"({"queue":"q"})");
  EXPECT_EQ(r.frame.body.data(), frame.data() + kHeaderSize);  // a view, not a copy
}

TEST(Decoder, EmptyBodyIsAFrame) {
  auto frame = json_frame(Kind::list, "", 1);

  auto r = decode_frame(frame, kLimit);

  ASSERT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(r.consumed, kHeaderSize);
  EXPECT_TRUE(r.frame.body.empty());
}

TEST(Decoder, SplitReadsByteByByteNeedMoreUntilTheLastByte) {
  auto frame = json_frame(Kind::declare, R"({"queue":"jobs"})", 3);
  Bytes buffer;

  for (std::size_t i = 0; i + 1 < frame.size(); ++i) {
    buffer.push_back(frame[i]);
    auto r = decode_frame(buffer, kLimit);
    ASSERT_EQ(r.status, DecodeStatus::need_more) << "after " << buffer.size() << " bytes";
  }
  buffer.push_back(frame.back());
  auto r = decode_frame(buffer, kLimit);

  ASSERT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(r.consumed, frame.size());
  EXPECT_EQ(test::as_text(r.frame.body), R"({"queue":"jobs"})");
}

TEST(Decoder, SeveralFramesInOneBufferComeOutInOrder) {
  Bytes buffer;
  const char* bodies[] = {R"({"a":1})", "", R"({"queue":"third"})"};
  for (uint32_t i = 0; i < 3; ++i) encode_json(Kind::stat, bodies[i], buffer, 100 + i);
  buffer.push_back(std::byte{0x05});  // the start of a fourth frame

  std::span<const std::byte> rest = buffer;
  for (uint32_t i = 0; i < 3; ++i) {
    auto r = decode_frame(rest, kLimit);
    ASSERT_EQ(r.status, DecodeStatus::frame) << "frame " << i;
    EXPECT_EQ(r.frame.header.request_id, 100 + i);
    EXPECT_EQ(test::as_text(r.frame.body), bodies[i]);
    rest = rest.subspan(r.consumed);
  }
  EXPECT_EQ(rest.size(), 1u);
  EXPECT_EQ(decode_frame(rest, kLimit).status, DecodeStatus::need_more);
}

TEST(Decoder, OversizedBodyIsRejectedAsSoonAsTheHeaderArrives) {
  // body_size 17 MiB + 1, kind STAT: only the 12 header bytes are present.
  const auto header = from_hex("01 00 10 01 05 00 00 00 01 00 00 00");

  auto r = decode_frame(header, kLimit);

  EXPECT_EQ(r.status, DecodeStatus::error);
  ASSERT_NE(r.error, nullptr);
  EXPECT_NE(std::string(r.error).find("maximum"), std::string::npos) << r.error;
}

TEST(Decoder, BodyExactlyAtTheLimitIsAccepted) {
  Bytes frame = json_frame(Kind::send, std::string(64, 'x'), 1);

  EXPECT_EQ(decode_frame(frame, 64).status, DecodeStatus::frame);
  EXPECT_EQ(decode_frame(frame, 63).status, DecodeStatus::error);
}

TEST(Decoder, PartialHeaderOfOversizedFrameStillNeedsMore) {
  const auto header = from_hex("ff ff ff ff 05 00 00 00 01 00 00");  // 11 of 12 bytes

  EXPECT_EQ(decode_frame(header, kLimit).status, DecodeStatus::need_more);
}

TEST(Decoder, ZeroKindIsRejected) {
  const auto frame = from_hex("00 00 00 00 00 00 00 00 01 00 00 00");

  auto r = decode_frame(frame, kLimit);

  EXPECT_EQ(r.status, DecodeStatus::error);
  ASSERT_NE(r.error, nullptr);
  EXPECT_NE(std::string(r.error).find("kind"), std::string::npos) << r.error;
}

TEST(Decoder, UnknownKindsAndFlagsAreLeftToTheDispatcher) {
  // The framing layer only knows sizes; unknown kinds and reserved flags are
  // the session's decision (PROTOCOL.md "Versioning").
  const auto frame = from_hex("00 00 00 00 34 12 01 00 02 00 00 00");

  auto r = decode_frame(frame, kLimit);

  ASSERT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(static_cast<uint16_t>(r.frame.header.kind), 0x1234);
  EXPECT_EQ(r.frame.header.flags, 1);
}

}  // namespace
}  // namespace postbox::proto
