// Tests for proto/properties.cpp: the TLV section, its validation and the known tags.
#include "proto/properties.hpp"

#include <gtest/gtest.h>

#include "test_bytes.hpp"

namespace postbox::proto {
namespace {

using test::Bytes;
using test::from_hex;

TEST(Properties, EmptySectionIsWellFormedAndEmpty) {
  auto p = decode_properties({});

  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->empty());
  EXPECT_TRUE(properties_well_formed({}));
  EXPECT_TRUE(encode_properties(Properties{}).empty());
}

TEST(Properties, RoundTripKeepsEveryFieldAndHeaderOrder) {
  Properties in;
  in.correlation_id = std::string("\x00\x01 binary", 9);
  in.reply_to = "replies";
  in.headers = {{"b", "2"}, {"a", "1"}, {"b", "again"}, {"", ""}};

  auto out = decode_properties(encode_properties(in));

  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->correlation_id, in.correlation_id);
  EXPECT_EQ(out->reply_to, in.reply_to);
  EXPECT_EQ(out->headers, in.headers);
}

TEST(Properties, AppendAddsToExistingBytes) {
  Properties p;
  p.reply_to = "r";
  Bytes out = from_hex("aa");

  append_properties(p, out);

  EXPECT_EQ(test::to_hex(out), "aa 02 01 00 00 00 72");
}

TEST(Properties, UnknownTagsAreWellFormedAndSkipped) {
  // tag 0x7f len 3 "abc", then reply_to "q".
  const auto tlv = from_hex("7f 03 00 00 00 61 62 63  02 01 00 00 00 71");

  EXPECT_TRUE(properties_well_formed(tlv));
  auto p = decode_properties(tlv);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->reply_to, "q");
  EXPECT_FALSE(p->correlation_id.has_value());
}

TEST(Properties, RepeatedSingleTagKeepsTheLast) {
  const auto tlv = from_hex("01 01 00 00 00 61  01 01 00 00 00 62");

  auto p = decode_properties(tlv);

  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->correlation_id, "b");
}

TEST(Properties, MalformedSectionsAreRejected) {
  struct Case {
    const char* why;
    const char* hex;
  };
  const Case cases[] = {
      {"tag without length", "01"},
      {"length cut short", "01 02 00"},
      {"value past the end", "01 05 00 00 00 61 62"},
      {"huge length", "01 ff ff ff ff 61"},
      {"second entry truncated", "02 01 00 00 00 71  03"},
      {"header without key length", "03 01 00 00 00 00"},
      {"header key longer than value", "03 03 00 00 00 02 00 6b"},
      {"header key length over the entry", "03 02 00 00 00 ff ff"},
  };
  for (const auto& c : cases) {
    const auto tlv = from_hex(c.hex);
    EXPECT_FALSE(properties_well_formed(tlv)) << c.why;
    EXPECT_FALSE(decode_properties(tlv).has_value()) << c.why;
  }
}

TEST(Properties, HeaderKeyMayFillTheWholeValue) {
  const auto tlv = from_hex("03 03 00 00 00 01 00 6b");  // key "k", value ""

  auto p = decode_properties(tlv);

  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->headers.size(), 1u);
  EXPECT_EQ(p->headers[0].first, "k");
  EXPECT_EQ(p->headers[0].second, "");
}

TEST(Properties, EncodableChecksTheHeaderKeyPrefix) {
  Properties p;
  p.headers = {{std::string(65535, 'k'), "v"}};
  EXPECT_TRUE(properties_encodable(p));

  p.headers = {{std::string(65536, 'k'), "v"}};
  EXPECT_FALSE(properties_encodable(p));
}

}  // namespace
}  // namespace postbox::proto
