// The rejection rules of every body decoder (proto/messages.cpp): each malformed shape fails.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "proto/messages.hpp"
#include "proto/wire.hpp"
#include "test_bytes.hpp"

namespace postbox::proto {
namespace {

using test::Bytes;
using test::from_hex;

/// A body built field by field, so each case shows exactly what is wrong.
Bytes body(const std::function<void(Writer&)>& fill) {
  Bytes out;
  Writer w(out);
  fill(w);
  return out;
}

void outgoing(Writer& w, uint8_t flags = 0, uint16_t reserved = 0, uint32_t props_len = 0,
              uint32_t payload_len = 2, std::string_view rest = "hi") {
  w.i64(1);
  w.u8(0);
  w.u8(flags);
  w.u16(reserved);
  w.u32(props_len);
  w.u32(payload_len);
  w.str(rest);
}

void send_header(Writer& w, uint32_t count) {
  w.str8("q");
  w.u32(0);
  w.u32(count);
}

bool send_body_valid(const Bytes& b) {
  SendReader r;
  if (!r.open(b)) return false;
  OutgoingMessage m;
  uint32_t n = 0;
  while (r.next(m)) ++n;
  return !r.failed() && n == r.header().count;
}

bool receive_reply_valid(const Bytes& b) {
  ReceiveReplyReader r;
  if (!r.open(b)) return false;
  DeliveredMessage m;
  uint32_t n = 0;
  while (r.next(m)) ++n;
  return !r.failed() && n == r.count();
}

void delivered(Writer& w, uint8_t flags = 0, uint16_t reserved = 0, std::string_view props = "") {
  w.u64(1);
  w.i64(1);
  w.u8(0);
  w.u8(flags);
  w.u16(reserved);
  w.u32(1);
  w.u32(2);
  w.u64(3);
  w.u64(0);
  w.u32(1);
  w.u32(static_cast<uint32_t>(props.size()));
  w.u32(1);
  w.str(props);
  w.str("p");
}

struct Case {
  const char* why;
  Bytes body;
};

TEST(MalformedHello, IsRejected) {
  const Case cases[] = {
      {"empty", {}},
      {"wrong magic", from_hex("50 42 4f 59 01 00 00")},
      {"magic big-endian", from_hex("58 4f 42 50 01 00 00")},
      {"name runs past the body", from_hex("50 42 4f 58 01 00 03 61 62")},
      {"trailing byte", from_hex("50 42 4f 58 01 00 00 00")},
      {"no name length", from_hex("50 42 4f 58 01 00")},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_hello(c.body).has_value()) << c.why;
  EXPECT_TRUE(decode_hello(from_hex("50 42 4f 58 01 00 00")).has_value()) << "empty name is fine";
}

TEST(MalformedHelloReply, IsRejected) {
  const Case cases[] = {
      {"empty", {}},
      {"no version string", from_hex("01 00 00 00 00 01 00 00 10 00")},
      {"trailing byte", from_hex("01 00 00 00 00 01 00 00 10 00 00 ff")},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_hello_reply(c.body).has_value()) << c.why;
}

TEST(MalformedError, IsRejected) {
  const Case cases[] = {
      {"code 0 is not an error", from_hex("00 00 00 00")},
      {"message past the body", from_hex("08 00 05 00 61")},
      {"trailing byte", from_hex("08 00 00 00 00")},
      {"only a code", from_hex("08 00")},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_error(c.body).has_value()) << c.why;
}

TEST(MalformedSend, IsRejected) {
  const Case cases[] = {
      {"empty", {}},
      {"header cut short", body([](Writer& w) {
         w.str8("q");
         w.u32(0);
       })},
      {"count 0", body([](Writer& w) { send_header(w, 0); })},
      {"count 2, one message", body([](Writer& w) {
         send_header(w, 2);
         outgoing(w);
       })},
      {"count 1, trailing byte", body([](Writer& w) {
         send_header(w, 1);
         outgoing(w);
         w.u8(0);
       })},
      {"count 1, two messages", body([](Writer& w) {
         send_header(w, 1);
         outgoing(w);
         outgoing(w);
       })},
      {"payload past the body", body([](Writer& w) {
         send_header(w, 1);
         outgoing(w, 0, 0, 0, 3);
       })},
      {"props past the body", body([](Writer& w) {
         send_header(w, 1);
         outgoing(w, 0, 0, 9, 0);
       })},
      {"flags set", body([](Writer& w) {
         send_header(w, 1);
         outgoing(w, 1);
       })},
      {"reserved set", body([](Writer& w) {
         send_header(w, 1);
         outgoing(w, 0, 0x100);
       })},
      {"malformed properties", body([](Writer& w) {
         send_header(w, 1);
         outgoing(w, 0, 0, 2, 0, "\x01\x05");  // tag 1 with a cut length
       })},
      {"forged huge count", body([](Writer& w) {
         send_header(w, 0xFFFFFFFF);
         outgoing(w);
       })},
  };
  for (const auto& c : cases) EXPECT_FALSE(send_body_valid(c.body)) << c.why;
  EXPECT_TRUE(send_body_valid(body([](Writer& w) {
    send_header(w, 1);
    outgoing(w);
  })));
}

TEST(MalformedSend, ForgedCountFailsAtOpen) {
  // The broker can refuse before iterating or allocating anything.
  const Bytes forged = body([](Writer& w) {
    send_header(w, 1000);
    outgoing(w);
  });
  SendReader sut;
  EXPECT_FALSE(sut.open(forged));
  EXPECT_TRUE(sut.failed());
}

TEST(MalformedSend, LastMessageFailsWhenTrailingBytesFollow) {
  // A caller that saw `count` successful next() calls may trust the whole body.
  const Bytes trailing = body([](Writer& w) {
    send_header(w, 2);
    outgoing(w);
    outgoing(w);
    w.u8(7);
  });
  SendReader sut;
  ASSERT_TRUE(sut.open(trailing));
  OutgoingMessage m;
  EXPECT_TRUE(sut.next(m));
  EXPECT_FALSE(sut.next(m));
  EXPECT_TRUE(sut.failed());
  EXPECT_FALSE(sut.next(m)) << "stays failed";
}

TEST(MalformedSendReply, Version1IsRejected) {
  const Case cases[] = {
      {"cut short", from_hex("01 00 00 00 00 00 00 00 01 00 00")},
      {"trailing byte", from_hex("01 00 00 00 00 00 00 00 01 00 00 00 00")},
      {"a v2 body: the duplicates count is trailing", from_hex("01 00 00 00 00 00 00 00 01 00 00 00"
                                                               "00 00 00 00")},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_send_reply(c.body, 1).has_value()) << c.why;
  EXPECT_TRUE(decode_send_reply(from_hex("01 00 00 00 00 00 00 00 01 00 00 00"), 1).has_value());
}

TEST(MalformedSendReply, Version2IsRejected) {
  auto reply = [](uint32_t count, std::vector<std::pair<uint32_t, uint64_t>> dups,
                  int declared = -1) {
    return body([=](Writer& w) {
      w.u64(100);
      w.u32(count);
      w.u32(declared < 0 ? static_cast<uint32_t>(dups.size()) : static_cast<uint32_t>(declared));
      for (auto [index, id] : dups) {
        w.u32(index);
        w.u64(id);
      }
    });
  };
  const Case cases[] = {
      {"a v1 body: no duplicates count", from_hex("01 00 00 00 00 00 00 00 01 00 00 00")},
      {"duplicates count cut short", from_hex("01 00 00 00 00 00 00 00 01 00 00 00 00 00")},
      {"count 1 declared, none present", reply(2, {}, 1)},
      {"count 1 declared, two present", reply(3, {{0, 1}, {1, 2}}, 1)},
      {"entry cut short",
       [&] {
         Bytes b = reply(2, {{0, 1}});
         b.pop_back();
         return b;
       }()},
      {"trailing byte",
       [&] {
         Bytes b = reply(2, {{0, 1}});
         b.push_back(std::byte{0});
         return b;
       }()},
      {"more duplicates than messages", reply(1, {{0, 1}, {1, 2}})},
      {"index past the batch", reply(2, {{2, 1}})},
      {"index repeated", reply(3, {{1, 1}, {1, 1}})},
      {"indexes out of batch order", reply(3, {{2, 1}, {0, 1}})},
      {"forged huge count", reply(0xFFFFFFFF, {{0, 1}}, 0x10000000)},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_send_reply(c.body).has_value()) << c.why;
  EXPECT_TRUE(decode_send_reply(reply(3, {{0, 7}, {2, 7}})).has_value());
  EXPECT_TRUE(decode_send_reply(reply(0, {})).has_value()) << "what a count means is the broker's";
}

/// A RECEIVE body; `lease` bytes of lease_ms follow max_count (4 is the field, whole).
Bytes receive(uint16_t flags, uint32_t max_count, bool trailing, std::size_t lease = 0) {
  return body([=](Writer& w) {
    w.str8("q");
    w.i64(0);
    w.u16(flags);
    w.u32(0);
    w.u32(kNoSizeLimit);
    w.u32(max_count);
    for (std::size_t i = 0; i < lease; ++i) w.u8(0x10);
    if (trailing) w.u8(0);
  });
}

TEST(MalformedReceive, IsRejected) {
  const Case cases[] = {
      {"empty", {}},
      {"unknown flag bit 5", receive(1 << 5, 1, false)},
      {"unknown flag bit 15", receive(1 << 15, 1, false)},
      {"max_count 0", receive(0, 0, false)},
      {"trailing byte", receive(0, 1, true)},
      {"cut short", from_hex("01 71 00 00 00 00 00 00 00 00 00 00")},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_receive(c.body).has_value()) << c.why;
  EXPECT_TRUE(decode_receive(receive(kReceiveKnownFlagsV1, 1, false)).has_value());
}

TEST(MalformedReceive, LeaseFieldIsThereExactlyWithAck) {
  const Case cases[] = {
      {"ack without lease_ms", receive(kReceiveAck, 1, false)},
      {"ack with lease_ms cut short", receive(kReceiveAck, 1, false, 3)},
      {"ack with a byte after lease_ms", receive(kReceiveAck, 1, true, 4)},
      {"lease_ms without ack", receive(kReceiveTruncate, 1, false, 4)},
      {"detached without ack", receive(kReceiveDetached, 1, false)},
      {"detached without ack, with lease_ms", receive(kReceiveDetached, 1, false, 4)},
      {"ack with peek", receive(kReceiveAck | kReceivePeek, 1, false, 4)},
      {"ack, detached and peek",
       receive(kReceiveAck | kReceiveDetached | kReceivePeek, 1, false, 4)},
      {"ack with max_count 0", receive(kReceiveAck, 0, false, 4)},
  };
  for (const auto& c : cases) EXPECT_FALSE(decode_receive(c.body).has_value()) << c.why;

  auto m = decode_receive(receive(kReceiveAck | kReceiveDetached | kReceiveExcept, 1, false, 4));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->lease_ms, 0x10101010u);
}

TEST(MalformedReceiveReply, IsRejected) {
  const Case cases[] = {
      {"empty", {}},
      {"count 1, no message", body([](Writer& w) { w.u32(1); })},
      {"count 0, trailing byte", body([](Writer& w) {
         w.u32(0);
         w.u8(0);
       })},
      {"trailing byte after the last", body([](Writer& w) {
         w.u32(1);
         delivered(w);
         w.u8(0);
       })},
      {"unknown delivered flag", body([](Writer& w) {
         w.u32(1);
         delivered(w, 2);
       })},
      {"reserved set", body([](Writer& w) {
         w.u32(1);
         delivered(w, 0, 1);
       })},
      {"malformed properties", body([](Writer& w) {
         w.u32(1);
         delivered(w, 0, 0, "\x03");
       })},
      {"forged count", body([](Writer& w) {
         w.u32(0x10000000);
         delivered(w);
       })},
  };
  for (const auto& c : cases) EXPECT_FALSE(receive_reply_valid(c.body)) << c.why;
  EXPECT_TRUE(receive_reply_valid(body([](Writer& w) {
    w.u32(1);
    delivered(w, kDeliveredTruncated);
  })));
}

}  // namespace
}  // namespace postbox::proto
