// Random and mutated bytes fed to every decoder: no crash, no read past the
// input, and consistent answers (an accepted body re-encodes to the same bytes).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

#include "proto/decoder.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"
#include "test_bytes.hpp"

namespace postbox::proto {
namespace {

using test::as_bytes;
using test::Bytes;

constexpr unsigned kSeed = 0xabcdef;
constexpr int kRounds = 4000;

bool inside(std::span<const std::byte> part, std::span<const std::byte> whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
bool inside(std::string_view part, std::span<const std::byte> whole) {
  return inside(as_bytes(part), whole);
}

/// Valid bodies of every kind, the seeds that mutation starts from.
std::vector<Bytes> valid_bodies() {
  std::vector<Bytes> all;
  auto body_of = [&](Bytes frame) { all.emplace_back(frame.begin() + kHeaderSize, frame.end()); };
  const auto props = encode_properties(Properties{"c", "r", {{"k", "v"}, {"", "x"}}});
  Bytes f;
  encode(Hello{1, "client"}, f, 1);
  body_of(f);
  f.clear();
  encode(HelloReply{1, 1024, 512, "v"}, f, 1);
  body_of(f);
  f.clear();
  encode(ErrorReply{Errc::too_big, "too big"}, f, 1);
  body_of(f);
  f.clear();
  auto at = begin_send(SendHeader{"q", 5, 3}, f, 1);
  append_outgoing({1, 2, props, as_bytes("payload")}, f);
  append_outgoing({2, 0, {}, {}}, f);
  append_outgoing({3, 9, props, as_bytes("x")}, f);
  finish_frame(f, at);
  body_of(f);
  f.clear();
  encode(SendReply{1, 3}, f, 1);
  body_of(f);
  f.clear();
  encode(ReceiveRequest{"q", -3, kReceiveTruncate, 10, 100, 4}, f, 1);
  body_of(f);
  f.clear();
  at = begin_receive_reply(f, 1);
  DeliveredMessage d;
  d.properties = props;
  d.payload = as_bytes("abc");
  append_delivered(d, f);
  append_delivered(d, f);
  finish_receive_reply(f, at, 2);
  body_of(f);
  all.push_back(props);
  return all;
}

Bytes mutate(const Bytes& in, std::mt19937& rng) {
  Bytes out = in;
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits; ++i) {
    switch (rng() % 5) {
      case 0:  // flip a bit
        if (!out.empty()) out[rng() % out.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
        break;
      case 1:  // overwrite a byte, often with a length-like extreme
        if (!out.empty())
          out[rng() % out.size()] = static_cast<std::byte>(rng() % 2 ? 0xff : rng());
        break;
      case 2:  // truncate
        if (!out.empty()) out.resize(rng() % out.size());
        break;
      case 3:  // insert a byte
        out.insert(out.begin() + static_cast<long>(rng() % (out.size() + 1)),
                   static_cast<std::byte>(rng()));
        break;
      case 4:  // drop a byte
        if (!out.empty()) out.erase(out.begin() + static_cast<long>(rng() % out.size()));
        break;
    }
  }
  return out;
}

Bytes random_bytes(std::mt19937& rng) {
  Bytes out(rng() % 96);
  for (auto& b : out) b = static_cast<std::byte>(rng());
  return out;
}

/// Re-encodes through `encode_frame` and checks the body comes back unchanged.
template <class F>
void expect_reencodes(const Bytes& body, F encode_frame) {
  Bytes frame;
  encode_frame(frame);
  ASSERT_GE(frame.size(), kHeaderSize);
  EXPECT_EQ(test::to_hex(test::body_of(frame)), test::to_hex(body));
}

void check_hello(const Bytes& b) {
  auto m = decode_hello(b);
  EXPECT_EQ(m.has_value(), decode_hello(b).has_value());
  if (!m) return;
  EXPECT_TRUE(inside(m->client_name, b));
  expect_reencodes(b, [&](Bytes& f) { encode(*m, f, 0); });
}

void check_hello_reply(const Bytes& b) {
  auto m = decode_hello_reply(b);
  if (!m) return;
  EXPECT_TRUE(inside(m->broker_version, b));
  expect_reencodes(b, [&](Bytes& f) { encode(*m, f, 0); });
}

void check_error(const Bytes& b) {
  auto m = decode_error(b);
  if (!m) return;
  EXPECT_NE(m->code, Errc::ok);
  EXPECT_TRUE(inside(m->message, b));
  expect_reencodes(b, [&](Bytes& f) { encode(*m, f, 0); });
}

void check_send(const Bytes& b) {
  SendReader r;
  bool opened = r.open(b);
  EXPECT_EQ(opened, !r.failed());
  std::vector<OutgoingMessage> got;
  OutgoingMessage m;
  while (r.next(m)) {
    EXPECT_TRUE(inside(m.properties, b));
    EXPECT_TRUE(inside(m.payload, b));
    EXPECT_TRUE(properties_well_formed(m.properties));
    got.push_back(m);
  }
  EXPECT_FALSE(r.next(m)) << "a finished reader stays finished";
  if (!opened || r.failed()) return;
  ASSERT_EQ(got.size(), r.header().count);
  expect_reencodes(b, [&](Bytes& f) {
    auto at = begin_send(r.header(), f, 0);
    for (const auto& g : got) append_outgoing(g, f);
    finish_frame(f, at);
  });
}

void check_send_reply(const Bytes& b) {
  auto m = decode_send_reply(b);
  EXPECT_EQ(m.has_value(), b.size() == 12);
  if (m) expect_reencodes(b, [&](Bytes& f) { encode(*m, f, 0); });
}

void check_receive(const Bytes& b) {
  auto m = decode_receive(b);
  if (!m) return;
  EXPECT_EQ(m->flags & ~kReceiveKnownFlags, 0);
  EXPECT_GE(m->max_count, 1u);
  EXPECT_TRUE(inside(m->queue, b));
  expect_reencodes(b, [&](Bytes& f) { encode(*m, f, 0); });
}

void check_receive_reply(const Bytes& b) {
  ReceiveReplyReader r;
  bool opened = r.open(b);
  EXPECT_EQ(opened, !r.failed());
  std::vector<DeliveredMessage> got;
  DeliveredMessage m;
  while (r.next(m)) {
    EXPECT_TRUE(inside(m.properties, b));
    EXPECT_TRUE(inside(m.payload, b));
    got.push_back(m);
  }
  EXPECT_FALSE(r.next(m));
  if (!opened || r.failed()) return;
  ASSERT_EQ(got.size(), r.count());
  expect_reencodes(b, [&](Bytes& f) {
    auto at = begin_receive_reply(f, 0);
    for (const auto& g : got) append_delivered(g, f);
    finish_receive_reply(f, at, r.count());
  });
}

void check_properties(const Bytes& b) {
  bool ok = properties_well_formed(b);
  auto p = decode_properties(b);
  EXPECT_EQ(ok, p.has_value());
}

void check_frame(const Bytes& b) {
  constexpr uint32_t kLimit = 64;
  auto r = decode_frame(b, kLimit);
  switch (r.status) {
    case DecodeStatus::frame: {
      EXPECT_LE(r.consumed, b.size());
      EXPECT_EQ(r.consumed, kHeaderSize + r.frame.body.size());
      EXPECT_LE(r.frame.body.size(), kLimit);
      EXPECT_TRUE(inside(r.frame.body, b));
      Bytes longer = b;
      longer.push_back(std::byte{0});
      EXPECT_EQ(decode_frame(longer, kLimit).consumed, r.consumed) << "more bytes, same frame";
      break;
    }
    case DecodeStatus::need_more:
      EXPECT_EQ(r.consumed, 0u);
      break;
    case DecodeStatus::error: {
      EXPECT_NE(r.error, nullptr);
      Bytes longer = b;
      longer.resize(b.size() + 100);
      EXPECT_EQ(decode_frame(longer, kLimit).status, DecodeStatus::error) << "errors are final";
      break;
    }
  }
}

void check_all(const Bytes& b) {
  check_hello(b);
  check_hello_reply(b);
  check_error(b);
  check_send(b);
  check_send_reply(b);
  check_receive(b);
  check_receive_reply(b);
  check_properties(b);
  check_frame(b);
}

TEST(Robustness, ValidSeedsAreAcceptedByTheirDecoder) {
  auto seeds = valid_bodies();
  ASSERT_EQ(seeds.size(), 8u);
  EXPECT_TRUE(decode_hello(seeds[0]).has_value());
  EXPECT_TRUE(decode_hello_reply(seeds[1]).has_value());
  EXPECT_TRUE(decode_error(seeds[2]).has_value());
  SendReader s;
  EXPECT_TRUE(s.open(seeds[3]));
  EXPECT_TRUE(decode_send_reply(seeds[4]).has_value());
  EXPECT_TRUE(decode_receive(seeds[5]).has_value());
  ReceiveReplyReader rr;
  EXPECT_TRUE(rr.open(seeds[6]));
  EXPECT_TRUE(properties_well_formed(seeds[7]));
}

TEST(Robustness, MutatedBodiesNeverCrashAndFailConsistently) {
  std::printf("Robustness seed 0x%x, %d rounds\n", kSeed, kRounds);
  std::mt19937 rng(kSeed);
  const auto seeds = valid_bodies();
  for (int i = 0; i < kRounds; ++i) {
    const Bytes b = mutate(seeds[rng() % seeds.size()], rng);
    SCOPED_TRACE("round " + std::to_string(i) + ": " + test::to_hex(b));
    check_all(b);
    if (HasFailure()) break;  // one replayable failure is enough
  }
}

TEST(Robustness, RandomBytesNeverCrashAndFailConsistently) {
  std::printf("Robustness seed 0x%x, %d rounds\n", kSeed + 1, kRounds);
  std::mt19937 rng(kSeed + 1);
  for (int i = 0; i < kRounds; ++i) {
    const Bytes b = random_bytes(rng);
    SCOPED_TRACE("round " + std::to_string(i) + ": " + test::to_hex(b));
    check_all(b);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace postbox::proto
