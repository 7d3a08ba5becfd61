// Random and mutated bytes fed to every decoder: no crash, no read past the
// input, and consistent answers (an accepted body re-encodes to the same bytes).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

#include "proto/decoder.hpp"
#include "proto/jobs.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"
#include "test_bytes.hpp"

namespace postbox::proto {
namespace {

using test::as_bytes;
using test::Bytes;

constexpr unsigned kSeed = 0xabcdef;
constexpr int kRounds = 20000;  // about a thousand per seed kind

bool inside(std::span<const std::byte> part, std::span<const std::byte> whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
bool inside(std::string_view part, std::span<const std::byte> whole) {
  return inside(as_bytes(part), whole);
}

/// A valid body and the decoder that must accept it.
struct Seed {
  const char* name;
  Bytes body;
  bool (*accepts)(const Bytes&);
};

bool send_opens(const Bytes& b) {
  SendReader r;
  return r.open(b);
}
bool receive_reply_opens(const Bytes& b) {
  ReceiveReplyReader r;
  return r.open(b);
}

/// Valid bodies of every kind, the seeds that mutation starts from.
std::vector<Seed> valid_bodies() {
  std::vector<Seed> all;
  Bytes f;
  auto add = [&](const char* name, bool (*accepts)(const Bytes&)) {
    all.push_back({name, Bytes(f.begin() + kHeaderSize, f.end()), accepts});
    f.clear();
  };
  Properties p;
  p.correlation_id = "c";
  p.reply_to = "r";
  p.headers = {{"k", "v"}, {"", "x"}};
  const auto props = encode_properties(p);
  p.delay_ms = 100;
  p.due_ns = 1700000000000000000ull;
  p.ttl_ms = 0;
  p.dedup_key = "key";
  const auto scheduled = encode_properties(p);

  encode(Hello{kVersion, "client"}, f, 1);
  add("hello", [](const Bytes& b) { return decode_hello(b).has_value(); });
  encode(HelloReply{kVersion, 1024, 512, "v"}, f, 1);
  add("hello_ok", [](const Bytes& b) { return decode_hello_reply(b).has_value(); });
  encode(ErrorReply{Errc::too_big, "too big"}, f, 1);
  add("error", [](const Bytes& b) { return decode_error(b).has_value(); });
  auto at = begin_send(SendHeader{"q", 5, 3}, f, 1);
  append_outgoing({1, 2, props, as_bytes("payload")}, f);
  append_outgoing({2, 0, {}, {}}, f);
  append_outgoing({3, 9, scheduled, as_bytes("x")}, f);
  finish_frame(f, at);
  add("send", send_opens);
  encode(SendReply{1, 3, {}}, f, 1, 1);
  add("send_ok v1", [](const Bytes& b) { return decode_send_reply(b, 1).has_value(); });
  encode(SendReply{1, 3, {{0, 9}, {2, 10}}}, f, 1);
  add("send_ok v2", [](const Bytes& b) { return decode_send_reply(b).has_value(); });
  encode(ReceiveRequest{"q", -3, kReceiveTruncate, 10, 100, 4, 0}, f, 1);
  add("receive", [](const Bytes& b) { return decode_receive(b).has_value(); });
  encode(ReceiveRequest{"q", 2, kReceiveAck | kReceiveDetached, 10, 100, 4, 30000}, f, 1);
  add("receive ack", [](const Bytes& b) { return decode_receive(b).has_value(); });
  at = begin_receive_reply(f, 1);
  DeliveredMessage d;
  d.properties = props;
  d.payload = as_bytes("abc");
  append_delivered(d, f);
  d.delivery_tag = 77;
  d.properties = scheduled;
  append_delivered(d, f);
  finish_receive_reply(f, at, 2);
  add("receive_ok", receive_reply_opens);
  const uint64_t tags[] = {1, 0xFFFFFFFFFFFFFFFFull};
  encode_settle(Kind::ack, 0, kKeepPriority, tags, f, 1);
  add("ack", [](const Bytes& b) { return decode_settle(Kind::ack, b).has_value(); });
  encode_settle(Kind::nack, 250, 7, tags, f, 1);
  add("nack", [](const Bytes& b) { return decode_settle(Kind::nack, b).has_value(); });
  encode_settle(Kind::touch, 1000, kKeepPriority, std::span(tags, 1), f, 1);
  add("touch", [](const Bytes& b) { return decode_settle(Kind::touch, b).has_value(); });
  encode(Kind::reject, SettleReply{1, {5, 6}}, f, 1);
  add("settle reply", [](const Bytes& b) { return decode_settle_reply(b).has_value(); });
  encode(ConsumeRequest{"q", -4, kReceiveAck | kReceiveExcept, 8, 500, 64}, f, 1);
  add("consume ack", [](const Bytes& b) { return decode_consume(b).has_value(); });
  encode(ConsumeRequest{"q", 0, kReceiveTruncate, 0, 0, kNoSizeLimit}, f, 1);
  add("consume", [](const Bytes& b) { return decode_consume(b).has_value(); });
  encode(CancelRequest{3}, f, 1);
  add("cancel", [](const Bytes& b) { return decode_cancel(b).has_value(); });
  all.push_back({"properties", props, [](const Bytes& b) { return properties_well_formed(b); }});
  all.push_back({"scheduled properties", scheduled, [](const Bytes& b) {
                   Scheduling s;
                   return properties_well_formed(b) && find_scheduling(b, s).empty();
                 }});
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
  auto v1 = decode_send_reply(b, 1);
  EXPECT_EQ(v1.has_value(), b.size() == 12) << "version 1: exactly first_id and count";
  if (v1) {
    EXPECT_TRUE(v1->duplicates.empty());
    expect_reencodes(b, [&](Bytes& f) { encode(*v1, f, 0, 1); });
  }
  auto m = decode_send_reply(b);
  if (!m) return;
  EXPECT_EQ(b.size(), 16 + 12 * m->duplicates.size());
  for (std::size_t i = 0; i < m->duplicates.size(); ++i) {
    EXPECT_LT(m->duplicates[i].index, m->count);
    if (i > 0) {
      EXPECT_GT(m->duplicates[i].index, m->duplicates[i - 1].index);
    }
  }
  expect_reencodes(b, [&](Bytes& f) { encode(*m, f, 0); });
}

void check_receive(const Bytes& b) {
  auto m = decode_receive(b);
  if (!m) return;
  EXPECT_EQ(m->flags & ~kReceiveKnownFlags, 0);
  EXPECT_GE(m->max_count, 1u);
  EXPECT_TRUE(inside(m->queue, b));
  const bool ack = (m->flags & kReceiveAck) != 0;
  EXPECT_TRUE(ack || !(m->flags & kReceiveDetached)) << "detached needs ack";
  EXPECT_FALSE(ack && (m->flags & kReceivePeek)) << "a peek leases nothing";
  EXPECT_EQ(b.size(), 1 + m->queue.size() + 22 + (ack ? 4 : 0));
  if (!ack) {
    EXPECT_EQ(m->lease_ms, 0u);
  }
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

void check_settle(const Bytes& b) {
  const Kind kinds[] = {Kind::ack, Kind::nack, Kind::touch, Kind::reject};
  bool accepted[4];
  for (int k = 0; k < 4; ++k) {
    auto m = decode_settle(kinds[k], b);
    accepted[k] = m.has_value();
    if (!m) continue;
    ASSERT_GE(m->count(), 1u);
    EXPECT_EQ(b.size(), 10 + 8 * std::size_t{m->count()});
    EXPECT_TRUE(inside(m->tags, b));
    EXPECT_TRUE(m->priority <= 255 || m->priority == kKeepPriority);
    std::vector<uint64_t> tags;
    for (uint32_t i = 0; i < m->count(); ++i) tags.push_back(m->tag_at(i));
    expect_reencodes(b, [&](Bytes& f) { encode_settle(kinds[k], m->ms, m->priority, tags, f, 0); });
  }
  // ACK and REJECT take nothing but tags; TOUCH adds ms; NACK adds priority too.
  EXPECT_EQ(accepted[0], accepted[3]);
  if (accepted[0]) {
    EXPECT_TRUE(accepted[2]);
  }
  if (accepted[2]) {
    EXPECT_TRUE(accepted[1]);
  }
}

void check_settle_reply(const Bytes& b) {
  auto m = decode_settle_reply(b);
  if (!m) return;
  EXPECT_EQ(b.size(), 8 + 8 * m->missing.size());
  expect_reencodes(b, [&](Bytes& f) { encode(Kind::touch, *m, f, 0); });
}

void check_consume(const Bytes& b) {
  auto m = decode_consume(b);
  if (!m) return;
  EXPECT_EQ(m->flags & ~(kReceiveExcept | kReceiveTruncate | kReceiveAck), 0);
  if (m->flags & kReceiveAck) {
    EXPECT_GE(m->prefetch, 1u);
  } else {
    EXPECT_EQ(m->prefetch, 0u);
    EXPECT_EQ(m->lease_ms, 0u);
  }
  EXPECT_TRUE(inside(m->queue, b));
  expect_reencodes(b, [&](Bytes& f) { encode(*m, f, 0); });
}

void check_cancel(const Bytes& b) {
  auto m = decode_cancel(b);
  EXPECT_EQ(m.has_value(), b.size() == 4);
  if (m) expect_reencodes(b, [&](Bytes& f) { encode(*m, f, 0); });
}

void check_properties(const Bytes& b) {
  bool ok = properties_well_formed(b);
  auto p = decode_properties(b);
  EXPECT_EQ(ok, p.has_value());
  if (!p) return;
  Scheduling s;
  const std::string why = find_scheduling(b, s);
  if (!why.empty()) {
    EXPECT_EQ(why.rfind("property ", 0), 0u) << why;
    EXPECT_TRUE(
        why.find("(tag 4)") != std::string::npos || why.find("(tag 5)") != std::string::npos ||
        why.find("(tag 6)") != std::string::npos || why.find("(tag 7)") != std::string::npos)
        << "names the bad tag: " << why;
    return;
  }
  // What the broker acts on is what a client decodes.
  EXPECT_EQ(s.delay_ms, p->delay_ms);
  EXPECT_EQ(s.due_ns, p->due_ns);
  EXPECT_EQ(s.ttl_ms, p->ttl_ms);
  EXPECT_EQ(s.dedup_key, p->dedup_key.value_or(""));
  if (!s.dedup_key.empty()) {
    EXPECT_LE(s.dedup_key.size(), kMaxDedupKey);
    EXPECT_TRUE(inside(s.dedup_key, b));
    EXPECT_EQ(static_cast<const void*>(b.data() + s.dedup_key_offset),
              static_cast<const void*>(s.dedup_key.data()));
  }
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
  check_settle(b);
  check_settle_reply(b);
  check_consume(b);
  check_cancel(b);
  check_properties(b);
  check_frame(b);
}

TEST(Robustness, ValidSeedsAreAcceptedByTheirDecoder) {
  const auto seeds = valid_bodies();
  ASSERT_EQ(seeds.size(), 18u);
  for (const auto& seed : seeds) {
    EXPECT_TRUE(seed.accepts(seed.body)) << seed.name;
    check_all(seed.body);
  }
}

TEST(Robustness, MutatedBodiesNeverCrashAndFailConsistently) {
  std::printf("Robustness seed 0x%x, %d rounds\n", kSeed, kRounds);
  std::mt19937 rng(kSeed);
  const auto seeds = valid_bodies();
  for (int i = 0; i < kRounds; ++i) {
    const Bytes b = mutate(seeds[rng() % seeds.size()].body, rng);
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
