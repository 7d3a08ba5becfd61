// Tests for proto/properties.cpp: the TLV section, its validation, the known tags and
// the broker's helpers (find_scheduling, append_header).
#include "proto/properties.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

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

// --- Version 2: the scheduling tags, find_scheduling, append_header ------------------

TEST(Properties, SchedulingTagsRoundTripAfterTheOthers) {
  Properties in;
  in.reply_to = "r";
  in.delay_ms = 0;
  in.due_ns = std::numeric_limits<uint64_t>::max();
  in.ttl_ms = 1;
  in.dedup_key = std::string(kMaxDedupKey, 'k');
  const auto tlv = encode_properties(in);
  EXPECT_EQ(test::to_hex(std::span(tlv).first(19)),
            "02 01 00 00 00 72 04 08 00 00 00 00 00 00 00 00 00 00 00")
      << "reply_to, then delay_ms as 8 bytes";

  auto out = decode_properties(tlv);
  ASSERT_TRUE(out.has_value());
  EXPECT_FALSE(out->empty());
  EXPECT_EQ(out->reply_to, "r");
  EXPECT_EQ(out->delay_ms, 0u);
  EXPECT_EQ(out->due_ns, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(out->ttl_ms, 1u);
  EXPECT_EQ(out->dedup_key, in.dedup_key);
}

TEST(Properties, EachSchedulingTagAloneMakesThemNonEmpty) {
  Properties p;
  p.ttl_ms = 5;
  EXPECT_FALSE(p.empty());
  p = {};
  p.dedup_key = "";
  EXPECT_FALSE(p.empty()) << "an empty key is present (and refused by find_scheduling)";
}

TEST(Properties, DecodeSkipsAScheduleTagOfTheWrongLength) {
  // On delivery a bad u64 is the sender's business: kept, well-formed, skipped.
  const auto tlv = from_hex("04 04 00 00 00 01 02 03 04  06 08 00 00 00 10 00 00 00 00 00 00 00");

  EXPECT_TRUE(properties_well_formed(tlv));
  auto p = decode_properties(tlv);
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->delay_ms.has_value());
  EXPECT_EQ(p->ttl_ms, 16u);
}

TEST(FindScheduling, ReadsEveryTagAndPointsAtTheKey) {
  Properties in;
  in.correlation_id = "c";
  in.headers = {{"k", "v"}};
  in.delay_ms = 5000;
  in.due_ns = 1700000000000000000ull;
  in.ttl_ms = 60000;
  in.dedup_key = "job-7";
  const auto tlv = encode_properties(in);

  Scheduling s;
  EXPECT_EQ(find_scheduling(tlv, s), "");

  EXPECT_EQ(s.delay_ms, 5000u);
  EXPECT_EQ(s.due_ns, 1700000000000000000ull);
  EXPECT_EQ(s.ttl_ms, 60000u);
  EXPECT_EQ(s.dedup_key, "job-7");
  EXPECT_EQ(s.dedup_key_offset, tlv.size() - 5) << "the key is the last entry's value";
  EXPECT_EQ(static_cast<const void*>(s.dedup_key.data()),
            static_cast<const void*>(tlv.data() + s.dedup_key_offset));
}

TEST(FindScheduling, FindsNothingWhereThereIsNothing) {
  for (const char* hex : {"", "01 01 00 00 00 61  03 02 00 00 00 00 00  7f 00 00 00 00"}) {
    Scheduling s;
    EXPECT_EQ(find_scheduling(from_hex(hex), s), "") << hex;
    EXPECT_FALSE(s.delay_ms || s.due_ns || s.ttl_ms) << hex;
    EXPECT_TRUE(s.dedup_key.empty()) << hex;
  }
}

TEST(FindScheduling, RepeatedTagKeepsTheLast) {
  const auto tlv = from_hex(
      "04 08 00 00 00 01 00 00 00 00 00 00 00  07 01 00 00 00 61"
      "04 08 00 00 00 02 00 00 00 00 00 00 00  07 01 00 00 00 62");

  Scheduling s;
  EXPECT_EQ(find_scheduling(tlv, s), "");

  EXPECT_EQ(s.delay_ms, 2u);
  EXPECT_EQ(s.dedup_key, "b");
  EXPECT_EQ(s.dedup_key_offset, tlv.size() - 1);
  EXPECT_EQ(decode_properties(tlv)->dedup_key, "b") << "clients read the same key";
}

TEST(FindScheduling, NamesTheBadTag) {
  struct Case {
    Bytes tlv;
    const char* reason;
  };
  auto entry = [](uint8_t tag, std::size_t len) {
    Bytes b = from_hex("00 00 00 00 00");
    b[0] = static_cast<std::byte>(tag);
    const auto n = static_cast<uint32_t>(len);
    std::memcpy(b.data() + 1, &n, 4);
    b.resize(5 + len, std::byte{'x'});
    return b;
  };
  const Case cases[] = {
      {entry(4, 7), "property delay_ms (tag 4) must be 8 bytes, got 7"},
      {entry(4, 9), "property delay_ms (tag 4) must be 8 bytes, got 9"},
      {entry(5, 0), "property due_ns (tag 5) must be 8 bytes, got 0"},
      {entry(6, 4), "property ttl_ms (tag 6) must be 8 bytes, got 4"},
      {entry(7, 0), "property dedup_key (tag 7) must be 1..1024 bytes, got 0"},
      {entry(7, kMaxDedupKey + 1), "property dedup_key (tag 7) must be 1..1024 bytes, got 1025"},
  };
  for (const auto& c : cases) {
    ASSERT_TRUE(properties_well_formed(c.tlv)) << c.reason;
    Scheduling s;
    EXPECT_EQ(find_scheduling(c.tlv, s), c.reason);
  }
  Scheduling s;
  EXPECT_EQ(find_scheduling(entry(7, kMaxDedupKey), s), "") << "1024 bytes is the limit, allowed";
  EXPECT_EQ(s.dedup_key.size(), kMaxDedupKey);
}

TEST(FindScheduling, ABadTagAfterGoodOnesStillFails) {
  const auto tlv = from_hex("06 08 00 00 00 01 00 00 00 00 00 00 00  05 01 00 00 00 00");
  Scheduling s;
  EXPECT_EQ(find_scheduling(tlv, s), "property due_ns (tag 5) must be 8 bytes, got 1");
}

TEST(AppendHeader, IsTheHeaderEntryTheEncoderWrites) {
  Properties p;
  p.headers = {{"x-death-reason", "rejected"}};
  const auto expected = encode_properties(p);

  std::string out;
  append_header("x-death-reason", "rejected", out);

  EXPECT_EQ(test::to_hex(test::as_bytes(out)), test::to_hex(expected));
}

TEST(AppendHeader, AddsTheDeadLetterHistoryAfterTheSendersEntries) {
  Properties sent;
  sent.correlation_id = "c1";
  sent.headers = {{"k", "v"}};
  sent.dedup_key = "job-7";
  const auto tlv = encode_properties(sent);
  std::string section(test::as_text(tlv));

  append_header("x-death-queue", "jobs", section);
  append_header("x-death-reason", "max_deliveries", section);
  append_header("x-death-count", "3", section);
  append_header("x-death-time-ns", "1700000001000000000", section);
  append_header("x-first-enqueue-ns", "1700000000000000000", section);

  const auto bytes = test::as_bytes(section);
  EXPECT_EQ(test::to_hex(bytes.first(tlv.size())), test::to_hex(tlv)) << "sender's bytes unchanged";
  auto p = decode_properties(bytes);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->correlation_id, "c1");
  EXPECT_EQ(p->dedup_key, "job-7");
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"k", "v"},
      {"x-death-queue", "jobs"},
      {"x-death-reason", "max_deliveries"},
      {"x-death-count", "3"},
      {"x-death-time-ns", "1700000001000000000"},
      {"x-first-enqueue-ns", "1700000000000000000"},
  };
  EXPECT_EQ(p->headers, headers);
}

TEST(AppendHeader, EmptyKeyAndValueAreAnEntry) {
  std::string out("\x02\x00\x00\x00\x00", 5);  // an empty reply_to before it
  append_header("", "", out);
  EXPECT_EQ(test::to_hex(test::as_bytes(out)), "02 00 00 00 00 03 02 00 00 00 00 00");
  EXPECT_TRUE(properties_well_formed(test::as_bytes(out)));
}

TEST(Properties, RandomSectionsRoundTripAndScheduleConsistently) {
  const unsigned seed = 0x7a9;
  std::printf("Properties.RandomSections seed 0x%x\n", seed);
  std::mt19937_64 rng(seed);
  auto text = [&](std::size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  for (int round = 0; round < 1000; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Properties in;
    if (rng() % 2) in.correlation_id = text(40);
    if (rng() % 2) in.reply_to = text(20);
    for (auto n = rng() % 4; n > 0; --n) in.headers.emplace_back(text(10), text(30));
    if (rng() % 2) in.delay_ms = rng();
    if (rng() % 2) in.due_ns = rng();
    if (rng() % 2) in.ttl_ms = rng();
    if (rng() % 2) in.dedup_key = "k" + text(kMaxDedupKey - 1);
    ASSERT_TRUE(properties_encodable(in));
    const auto tlv = encode_properties(in);

    ASSERT_TRUE(properties_well_formed(tlv));
    auto out = decode_properties(tlv);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(out->correlation_id, in.correlation_id);
    EXPECT_EQ(out->reply_to, in.reply_to);
    EXPECT_EQ(out->headers, in.headers);
    EXPECT_EQ(out->delay_ms, in.delay_ms);
    EXPECT_EQ(out->due_ns, in.due_ns);
    EXPECT_EQ(out->ttl_ms, in.ttl_ms);
    EXPECT_EQ(out->dedup_key, in.dedup_key);
    Scheduling s;
    ASSERT_EQ(find_scheduling(tlv, s), "");
    EXPECT_EQ(s.delay_ms, in.delay_ms);
    EXPECT_EQ(s.due_ns, in.due_ns);
    EXPECT_EQ(s.ttl_ms, in.ttl_ms);
    EXPECT_EQ(s.dedup_key, in.dedup_key.value_or(""));
  }
}

}  // namespace
}  // namespace postbox::proto
