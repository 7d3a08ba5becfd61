// Tests for proto/jobs.cpp: settle requests and replies, CONSUME, CANCEL and
// the empty replies, each round-tripped at its extremes and refused when malformed.
#include "proto/jobs.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "proto/decoder.hpp"
#include "proto/messages.hpp"
#include "proto/wire.hpp"
#include "test_bytes.hpp"

namespace postbox::proto {
namespace {

using test::Bytes;

constexpr Kind kSettleKinds[] = {Kind::ack, Kind::nack, Kind::touch, Kind::reject};

/// The single frame in `out`, checked for kind and request id.
std::span<const std::byte> body_checked(const Bytes& out, Kind kind, uint32_t request_id) {
  auto r = decode_frame(out, kMaxFrameBodyCeiling);
  EXPECT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(r.consumed, out.size());
  EXPECT_EQ(r.frame.header.kind, kind);
  EXPECT_EQ(r.frame.header.request_id, request_id);
  return r.frame.body;
}

Bytes body(const std::function<void(Writer&)>& fill) {
  Bytes out;
  Writer w(out);
  fill(w);
  return out;
}

/// A settle body as the fields say, whether or not they agree.
Bytes settle(uint32_t ms, uint16_t priority, uint32_t count, std::vector<uint64_t> tags) {
  return body([&](Writer& w) {
    w.u32(ms);
    w.u16(priority);
    w.u32(count);
    for (uint64_t t : tags) w.u64(t);
  });
}

struct Case {
  const char* why;
  Bytes body;
};

// --- ACK, NACK, TOUCH, REJECT ----------------------------------------------------

TEST(Settle, KindsHaveTheirWireValues) {
  EXPECT_EQ(static_cast<uint16_t>(Kind::move), 0x0007);
  EXPECT_EQ(static_cast<uint16_t>(Kind::ack), 0x0012);
  EXPECT_EQ(static_cast<uint16_t>(Kind::nack), 0x0013);
  EXPECT_EQ(static_cast<uint16_t>(Kind::touch), 0x0014);
  EXPECT_EQ(static_cast<uint16_t>(Kind::reject), 0x0015);
  EXPECT_EQ(static_cast<uint16_t>(Kind::consume), 0x0016);
  EXPECT_EQ(static_cast<uint16_t>(Kind::cancel), 0x0017);
  EXPECT_EQ(static_cast<uint16_t>(Kind::deliver), 0x8018);
  EXPECT_TRUE(is_reply(Kind::deliver)) << "a client sending DELIVER sends a reply kind";
}

TEST(Settle, RoundTripKeepsTagsInOrderForEveryKind) {
  const std::vector<uint64_t> tags = {1, 0xFFFFFFFFFFFFFFFFull, 42, 42, 0};
  for (Kind k : kSettleKinds) {
    const uint32_t ms = (k == Kind::nack || k == Kind::touch) ? 0xFFFFFFFFu : 0;
    const uint16_t priority = k == Kind::nack ? 255 : kKeepPriority;
    Bytes out;
    encode_settle(k, ms, priority, tags, out, 0xFFFFFFFF);
    auto m = decode_settle(k, body_checked(out, k, 0xFFFFFFFF));
    ASSERT_TRUE(m.has_value()) << static_cast<int>(k);
    EXPECT_EQ(m->ms, ms);
    EXPECT_EQ(m->priority, priority);
    ASSERT_EQ(m->count(), tags.size());
    for (uint32_t i = 0; i < m->count(); ++i) EXPECT_EQ(m->tag_at(i), tags[i]) << i;
  }
}

TEST(Settle, NackTakesEveryPriorityOrKeep) {
  const uint64_t tag[] = {9};
  for (uint16_t priority : {uint16_t{0}, uint16_t{1}, uint16_t{255}, kKeepPriority}) {
    Bytes out;
    encode_settle(Kind::nack, 0, priority, tag, out, 1);
    auto m = decode_settle(Kind::nack, body_checked(out, Kind::nack, 1));
    ASSERT_TRUE(m.has_value()) << priority;
    EXPECT_EQ(m->priority, priority);
    EXPECT_EQ(m->ms, 0u) << "delay 0: ready again at once";
  }
}

TEST(Settle, ManyTagsDecodeWithoutCopying) {
  std::vector<uint64_t> tags(100000);
  for (std::size_t i = 0; i < tags.size(); ++i) tags[i] = i * 0x100000001ull;
  Bytes out;
  encode_settle(Kind::ack, 0, kKeepPriority, tags, out, 2);
  auto b = body_checked(out, Kind::ack, 2);
  auto m = decode_settle(Kind::ack, b);
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->count(), tags.size());
  EXPECT_EQ(m->tags.data(), b.data() + 10) << "a view into the body";
  EXPECT_EQ(m->tag_at(99999), tags[99999]);
}

TEST(MalformedSettle, StructureIsRejectedForEveryKind) {
  const Case cases[] = {
      {"empty", {}},
      {"cut inside the header", body([](Writer& w) {
         w.u32(0);
         w.u16(kKeepPriority);
         w.u16(1);
       })},
      {"count 0", settle(0, kKeepPriority, 0, {})},
      {"count 2, one tag", settle(0, kKeepPriority, 2, {1})},
      {"count 1, two tags", settle(0, kKeepPriority, 1, {1, 2})},
      {"tag cut short",
       [] {
         Bytes b = settle(0, kKeepPriority, 1, {1});
         b.pop_back();
         return b;
       }()},
      {"trailing byte",
       [] {
         Bytes b = settle(0, kKeepPriority, 1, {1});
         b.push_back(std::byte{0});
         return b;
       }()},
      {"forged huge count", settle(0, kKeepPriority, 0xFFFFFFFF, {1})},
      {"priority 256", settle(0, 256, 1, {1})},
      {"priority 0xFFFE", settle(0, 0xFFFE, 1, {1})},
  };
  for (Kind k : kSettleKinds) {
    for (const auto& c : cases)
      EXPECT_FALSE(decode_settle(k, c.body).has_value()) << static_cast<int>(k) << ": " << c.why;
  }
}

TEST(MalformedSettle, FieldsAKindDoesNotTakeAreRejected) {
  struct KindCase {
    Kind kind;
    bool takes_ms;
    bool takes_priority;
  };
  const KindCase kinds[] = {
      {Kind::ack, false, false},
      {Kind::nack, true, true},
      {Kind::touch, true, false},
      {Kind::reject, false, false},
  };
  for (const auto& k : kinds) {
    SCOPED_TRACE(static_cast<int>(k.kind));
    EXPECT_TRUE(decode_settle(k.kind, settle(0, kKeepPriority, 1, {1})).has_value());
    EXPECT_EQ(decode_settle(k.kind, settle(1, kKeepPriority, 1, {1})).has_value(), k.takes_ms);
    EXPECT_EQ(decode_settle(k.kind, settle(0, 0, 1, {1})).has_value(), k.takes_priority)
        << "priority 0 is a priority, not 'none'";
    EXPECT_EQ(decode_settle(k.kind, settle(0, 255, 1, {1})).has_value(), k.takes_priority);
  }
}

TEST(SettleReply, RoundTripKeepsCountsAndMissingTagsForEveryKind) {
  const SettleReply cases[] = {
      {0, {}},
      {0xFFFFFFFF, {}},
      {3, {0xFFFFFFFFFFFFFFFFull, 0, 7}},
  };
  for (Kind k : kSettleKinds) {
    for (const auto& in : cases) {
      Bytes out;
      encode(k, in, out, 4);
      auto m = decode_settle_reply(body_checked(out, reply_kind(k), 4));
      ASSERT_TRUE(m.has_value());
      EXPECT_EQ(m->settled, in.settled);
      EXPECT_EQ(m->missing, in.missing);
    }
  }
}

TEST(MalformedSettleReply, IsRejected) {
  auto reply = [](uint32_t declared, std::vector<uint64_t> missing) {
    return body([&](Writer& w) {
      w.u32(1);
      w.u32(declared);
      for (uint64_t t : missing) w.u64(t);
    });
  };
  const Case cases[] = {
      {"empty", {}},
      {"no missing count", body([](Writer& w) { w.u32(1); })},
      {"missing 1, no tag", reply(1, {})},
      {"missing 1, two tags", reply(1, {1, 2})},
      {"tag cut short",
       [&] {
         Bytes b = reply(1, {1});
         b.pop_back();
         return b;
       }()},
      {"forged huge count", reply(0xFFFFFFFF, {1})},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_settle_reply(c.body).has_value()) << c.why;
}

// --- CONSUME, CANCEL, empty replies -------------------------------------------------

TEST(Consume, RoundTripKeepsEveryField) {
  const std::string longest(255, 'q');
  const ConsumeRequest cases[] = {
      {"q", 0, 0, 0, 0, kNoSizeLimit},
      {"jobs.high_1-a", std::numeric_limits<int64_t>::min(), kReceiveExcept | kReceiveTruncate, 0,
       0, 0},
      {longest, std::numeric_limits<int64_t>::max(),
       kReceiveAck | kReceiveExcept | kReceiveTruncate, 0xFFFFFFFF, 0xFFFFFFFF, 1},
      {"q", -1, kReceiveAck, 1, 0, kNoSizeLimit},
  };
  for (const auto& in : cases) {
    Bytes out;
    encode(in, out, 12);
    auto b = body_checked(out, Kind::consume, 12);
    EXPECT_EQ(b.size(), 1 + in.queue.size() + 22);
    auto m = decode_consume(b);
    ASSERT_TRUE(m.has_value()) << in.queue;
    EXPECT_EQ(m->queue, in.queue);
    EXPECT_EQ(m->type, in.type);
    EXPECT_EQ(m->flags, in.flags);
    EXPECT_EQ(m->prefetch, in.prefetch);
    EXPECT_EQ(m->lease_ms, in.lease_ms);
    EXPECT_EQ(m->max_size, in.max_size);
  }
}

TEST(MalformedConsume, IsRejected) {
  auto consume = [](uint16_t flags, uint32_t prefetch, uint32_t lease_ms, bool trailing = false) {
    return body([=](Writer& w) {
      w.str8("q");
      w.i64(0);
      w.u16(flags);
      w.u32(prefetch);
      w.u32(lease_ms);
      w.u32(kNoSizeLimit);
      if (trailing) w.u8(0);
    });
  };
  const Case cases[] = {
      {"empty", {}},
      {"cut short",
       [&] {
         Bytes b = consume(kReceiveAck, 1, 0);
         b.pop_back();
         return b;
       }()},
      {"trailing byte", consume(kReceiveAck, 1, 0, true)},
      {"queue name past the body", body([](Writer& w) { w.u8(200); })},
      {"peek", consume(kReceivePeek, 0, 0)},
      {"detached", consume(kReceiveAck | kReceiveDetached, 1, 0)},
      {"unknown flag bit 5", consume(1 << 5, 0, 0)},
      {"unknown flag bit 15", consume(kReceiveAck | (1 << 15), 1, 0)},
      {"ack with prefetch 0", consume(kReceiveAck, 0, 0)},
      {"ack with prefetch 0 and a lease", consume(kReceiveAck, 0, 100)},
      {"no ack with a prefetch", consume(0, 1, 0)},
      {"no ack with a lease", consume(kReceiveTruncate, 0, 100)},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_consume(c.body).has_value()) << c.why;
  EXPECT_TRUE(decode_consume(consume(kReceiveAck, 1, 100)).has_value());
  EXPECT_TRUE(decode_consume(consume(kReceiveExcept | kReceiveTruncate, 0, 0)).has_value());
}

TEST(Cancel, RoundTripKeepsTheConsumer) {
  for (uint32_t consumer : {0u, 12u, 0xFFFFFFFFu}) {
    Bytes out;
    encode(CancelRequest{consumer}, out, 13);
    auto m = decode_cancel(body_checked(out, Kind::cancel, 13));
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->consumer, consumer);
  }
}

TEST(MalformedCancel, IsRejected) {
  const Case cases[] = {
      {"empty", {}},
      {"cut short", test::from_hex("0c 00 00")},
      {"trailing byte", test::from_hex("0c 00 00 00 00")},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_cancel(c.body).has_value()) << c.why;
}

TEST(EmptyReply, HasNoBodyAndTheReplyKind) {
  for (Kind k : {Kind::consume, Kind::cancel}) {
    Bytes out = test::from_hex("aa");
    encode_empty_reply(k, out, 77);
    ASSERT_EQ(out.size(), 1 + kHeaderSize) << "appended after what was there";
    const Bytes frame(out.begin() + 1, out.end());
    EXPECT_TRUE(body_checked(frame, reply_kind(k), 77).empty());
  }
}

TEST(Deliver, SharesTheReceiveReplyBody) {
  DeliveredMessage in;
  in.id = 5;
  in.delivery_tag = 0xFFFFFFFFFFFFFFFFull;
  in.delivery_count = 0xFFFFFFFF;
  Bytes deliver;
  auto at = begin_receive_reply(deliver, 16, Kind::deliver);
  append_delivered(in, deliver);
  finish_receive_reply(deliver, at, 1);
  Bytes reply;
  at = begin_receive_reply(reply, 16);
  append_delivered(in, reply);
  finish_receive_reply(reply, at, 1);

  EXPECT_EQ(test::to_hex(body_checked(deliver, Kind::deliver, 16)),
            test::to_hex(body_checked(reply, reply_kind(Kind::receive), 16)));
  ReceiveReplyReader r;
  ASSERT_TRUE(r.open(test::body_of(deliver)));
  DeliveredMessage m;
  ASSERT_TRUE(r.next(m));
  EXPECT_EQ(m.delivery_tag, in.delivery_tag);
  EXPECT_EQ(m.delivery_count, in.delivery_count);
}

TEST(Settle, RandomRequestsRoundTrip) {
  const unsigned seed = 0x5e771e;
  std::printf("Settle.RandomRequestsRoundTrip seed 0x%x\n", seed);
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 500; ++round) {
    const Kind k = kSettleKinds[rng() % 4];
    std::vector<uint64_t> tags(1 + rng() % 64);
    for (auto& t : tags) t = rng();
    const uint32_t ms = (k == Kind::nack || k == Kind::touch) ? static_cast<uint32_t>(rng()) : 0;
    const uint16_t priority =
        k == Kind::nack && rng() % 2 ? static_cast<uint16_t>(rng() % 256) : kKeepPriority;
    Bytes out;
    encode_settle(k, ms, priority, tags, out, static_cast<uint32_t>(round));
    auto m = decode_settle(k, body_checked(out, k, static_cast<uint32_t>(round)));
    ASSERT_TRUE(m.has_value()) << "round " << round;
    EXPECT_EQ(m->ms, ms);
    EXPECT_EQ(m->priority, priority);
    ASSERT_EQ(m->count(), tags.size());
    for (uint32_t i = 0; i < m->count(); ++i) ASSERT_EQ(m->tag_at(i), tags[i]);
  }
}

}  // namespace
}  // namespace postbox::proto
