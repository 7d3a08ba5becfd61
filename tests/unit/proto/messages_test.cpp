// Tests for proto/messages.cpp against the worked examples of proto/PROTOCOL.md.
//
// Each example's bytes are kept here as well, so that a change to the encoder
// or to the document fails one of the two checks: the code must produce these
// bytes, and the document must show these bytes.
#include "proto/messages.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "proto/decoder.hpp"
#include "proto/jobs.hpp"
#include "proto/properties.hpp"
#include "proto/topics.hpp"
#include "test_bytes.hpp"

namespace postbox::proto {
namespace {

using test::as_bytes;
using test::as_text;
using test::body_of;
using test::Bytes;
using test::from_hex;
using test::to_hex;

// --- The examples, as in PROTOCOL.md ------------------------------------------

constexpr const char* kHello =
    "0a 00 00 00 01 00 00 00 01 00 00 00"
    "50 42 4f 58 02 00 03 63 6c 69";
constexpr const char* kHelloOk =
    "10 00 00 00 01 80 00 00 01 00 00 00"
    "02 00 00 00 00 01 00 00 10 00 05 30 2e 31 2e 30";
constexpr const char* kError =
    "18 00 00 00 ff ff 00 00 02 00 00 00"
    "08 00 14 00 71 75 65 75 65 20 27 6a 6f 62 73 27 20 69 73 20 66 75 6c 6c";
constexpr const char* kSend =
    "40 00 00 00 10 00 00 00 02 00 00 00"
    "04 6a 6f 62 73 00 00 00 00 02 00 00 00"
    "01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 68 69"
    "05 00 00 00 00 00 00 00 09 00 00 00 07 00 00 00 02 00 00 00"
    "01 02 00 00 00 63 31 79 6f";
constexpr const char* kSendOk =
    "10 00 00 00 10 80 00 00 02 00 00 00"
    "29 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00";
constexpr const char* kSendOkV1 =
    "0c 00 00 00 10 80 00 00 02 00 00 00"
    "29 00 00 00 00 00 00 00 02 00 00 00";
constexpr const char* kSendOkDuplicate =
    "1c 00 00 00 10 80 00 00 02 00 00 00"
    "29 00 00 00 00 00 00 00 02 00 00 00 01 00 00 00"
    "01 00 00 00 11 00 00 00 00 00 00 00";
constexpr const char* kReceive =
    "1b 00 00 00 11 00 00 00 03 00 00 00"
    "04 6a 6f 62 73 fb ff ff ff ff ff ff ff 00 00 e8 03 00 00 ff ff ff ff 01 00 00 00";
constexpr const char* kReceiveLeased =
    "1f 00 00 00 11 00 00 00 08 00 00 00"
    "04 6a 6f 62 73 00 00 00 00 00 00 00 00 08 00 00 00 00 00 ff ff ff ff 0a 00 00 00"
    "60 ea 00 00";
constexpr const char* kReceiveOk =
    "45 00 00 00 11 80 00 00 03 00 00 00"
    "01 00 00 00"
    "2a 00 00 00 00 00 00 00 05 00 00 00 00 00 00 00 09 00 00 00"
    "d2 04 00 00 e8 03 00 00 00 00 2a 36 fe 9c 97 17 00 00 00 00 00 00 00 00"
    "01 00 00 00 07 00 00 00 02 00 00 00 01 02 00 00 00 63 31 79 6f";
constexpr const char* kProperties =
    "01 02 00 00 00 63 31"
    "02 07 00 00 00 72 65 70 6c 69 65 73"
    "03 04 00 00 00 01 00 6b 76";
constexpr const char* kDeclare =
    "24 00 00 00 02 00 00 00 04 00 00 00"
    "7b 22 71 75 65 75 65 22 3a 22 6a 6f 62 73 22 2c 22 6d 61 78 5f 6d 65 73"
    "73 61 67 65 73 22 3a 31 30 30 30 7d";
constexpr const char* kDeleteOk = "02 00 00 00 03 80 00 00 06 00 00 00 7b 7d";
constexpr const char* kPurge =
    "10 00 00 00 04 00 00 00 05 00 00 00"
    "7b 22 71 75 65 75 65 22 3a 22 6a 6f 62 73 22 7d";
constexpr const char* kPurgeOk =
    "0c 00 00 00 04 80 00 00 05 00 00 00"
    "7b 22 70 75 72 67 65 64 22 3a 33 7d";
constexpr const char* kList = "02 00 00 00 06 00 00 00 07 00 00 00 7b 7d";
constexpr const char* kMove =
    "2b 00 00 00 07 00 00 00 0b 00 00 00"
    "7b 22 73 6f 75 72 63 65 22 3a 22 6a 6f 62 73 2e 64 65 61 64 22 2c"
    "22 64 65 73 74 69 6e 61 74 69 6f 6e 22 3a 22 6a 6f 62 73 22 7d";
constexpr const char* kMoveOk =
    "0b 00 00 00 07 80 00 00 0b 00 00 00 7b 22 6d 6f 76 65 64 22 3a 32 7d";
constexpr const char* kAck =
    "1a 00 00 00 12 00 00 00 09 00 00 00"
    "00 00 00 00 ff ff 02 00 00 00 01 10 00 00 00 00 00 00 02 10 00 00 00 00 00 00";
constexpr const char* kAckOk =
    "10 00 00 00 12 80 00 00 09 00 00 00"
    "01 00 00 00 01 00 00 00 02 10 00 00 00 00 00 00";
constexpr const char* kNack =
    "12 00 00 00 13 00 00 00 0a 00 00 00"
    "88 13 00 00 03 00 01 00 00 00 03 10 00 00 00 00 00 00";
constexpr const char* kConsume =
    "1b 00 00 00 16 00 00 00 0c 00 00 00"
    "04 6a 6f 62 73 00 00 00 00 00 00 00 00 08 00 0a 00 00 00 00 00 00 00 ff ff ff ff";
constexpr const char* kConsumeOk = "00 00 00 00 16 80 00 00 0c 00 00 00";
constexpr const char* kCancel = "04 00 00 00 17 00 00 00 0d 00 00 00 0c 00 00 00";
constexpr const char* kCancelOk = "00 00 00 00 17 80 00 00 0d 00 00 00";
constexpr const char* kDeliver =
    "3e 00 00 00 18 80 00 00 0c 00 00 00"
    "01 00 00 00"
    "2b 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 05 00 00 00"
    "d2 04 00 00 e8 03 00 00 00 00 2a 36 fe 9c 97 17 04 10 00 00 00 00 00 00"
    "02 00 00 00 00 00 00 00 02 00 00 00 67 6f";
constexpr const char* kBind =
    "1d 00 00 00 08 00 00 00 0e 00 00 00"
    "7b 22 70 61 74 74 65 72 6e 22 3a 22 61 2e 2a 22 2c 22 71 75 65 75 65 22 3a 22 71 22 7d";
constexpr const char* kPublish =
    "22 00 00 00 19 00 00 00 05 00 00 00"
    "03 61 2e 62 00 00 00 00 01 00 00 00"
    "01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 68 69";
constexpr const char* kPublishOk =
    "0c 00 00 00 19 80 00 00 05 00 00 00 02 00 00 00 01 00 00 00 00 00 00 00";
constexpr const char* kPropertiesScheduling =
    "04 08 00 00 00 88 13 00 00 00 00 00 00"
    "07 05 00 00 00 6a 6f 62 2d 37";

const std::map<std::string, const char*>& examples() {
  static const std::map<std::string, const char*> all = {
      {"hello", kHello},
      {"hello_ok", kHelloOk},
      {"error", kError},
      {"send", kSend},
      {"send_ok", kSendOk},
      {"send_ok_v1", kSendOkV1},
      {"send_ok_duplicate", kSendOkDuplicate},
      {"receive", kReceive},
      {"receive_ack", kReceiveLeased},
      {"receive_ok", kReceiveOk},
      {"properties", kProperties},
      {"properties_scheduling", kPropertiesScheduling},
      {"declare", kDeclare},
      {"delete_ok", kDeleteOk},
      {"purge", kPurge},
      {"purge_ok", kPurgeOk},
      {"list", kList},
      {"move", kMove},
      {"move_ok", kMoveOk},
      {"ack", kAck},
      {"ack_ok", kAckOk},
      {"nack", kNack},
      {"consume", kConsume},
      {"consume_ok", kConsumeOk},
      {"cancel", kCancel},
      {"cancel_ok", kCancelOk},
      {"deliver", kDeliver},
      {"bind", kBind},
      {"publish", kPublish},
      {"publish_ok", kPublishOk},
  };
  return all;
}

/// The correlation id "c1" that the SEND and RECEIVE examples carry.
constexpr const char* kCorrelationC1 = "01 02 00 00 00 63 31";

/// Decodes `frame` as exactly one frame of `kind` and returns its body.
std::span<const std::byte> only_frame(const Bytes& frame, Kind kind) {
  auto r = decode_frame(frame, kDefaultMaxFrameBody);
  EXPECT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(r.consumed, frame.size());
  EXPECT_EQ(r.frame.header.kind, kind);
  EXPECT_EQ(r.frame.header.flags, 0);
  return r.frame.body;
}

// --- Encoding produces the document's bytes ------------------------------------

TEST(WorkedExample, Hello) {
  Bytes out;
  encode(Hello{kVersion, "cli"}, out, 1);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kHello)));

  auto m = decode_hello(only_frame(out, Kind::hello));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->version, 2);
  EXPECT_EQ(m->client_name, "cli");
}

TEST(WorkedExample, HelloOk) {
  Bytes out;
  encode(HelloReply{kVersion, 16u << 20, 1u << 20, "0.1.0"}, out, 1);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kHelloOk)));

  auto m = decode_hello_reply(only_frame(out, reply_kind(Kind::hello)));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->version, 2);
  EXPECT_EQ(m->max_frame_body, 16u << 20);
  EXPECT_EQ(m->max_message_size, 1u << 20);
  EXPECT_EQ(m->broker_version, "0.1.0");
}

TEST(WorkedExample, Error) {
  Bytes out;
  encode(ErrorReply{Errc::queue_full, "queue 'jobs' is full"}, out, 2);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kError)));

  auto m = decode_error(only_frame(out, Kind::error));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->code, Errc::queue_full);
  EXPECT_EQ(m->message, "queue 'jobs' is full");
}

TEST(WorkedExample, Send) {
  const auto props = from_hex(kCorrelationC1);
  Bytes out;
  auto body = begin_send(SendHeader{"jobs", 0, 2}, out, 2);
  append_outgoing(OutgoingMessage{1, 0, {}, as_bytes("hi")}, out);
  append_outgoing(OutgoingMessage{5, 9, props, as_bytes("yo")}, out);
  finish_frame(out, body);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kSend)));

  SendReader sut;
  ASSERT_TRUE(sut.open(only_frame(out, Kind::send)));
  EXPECT_EQ(sut.header().queue, "jobs");
  EXPECT_EQ(sut.header().timeout_ms, 0u);
  EXPECT_EQ(sut.header().count, 2u);
  OutgoingMessage m;
  ASSERT_TRUE(sut.next(m));
  EXPECT_EQ(m.type, 1);
  EXPECT_EQ(m.priority, 0);
  EXPECT_TRUE(m.properties.empty());
  EXPECT_EQ(as_text(m.payload), "hi");
  ASSERT_TRUE(sut.next(m));
  EXPECT_EQ(m.type, 5);
  EXPECT_EQ(m.priority, 9);
  auto decoded = decode_properties(m.properties);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->correlation_id, "c1");
  EXPECT_EQ(as_text(m.payload), "yo");
  EXPECT_FALSE(sut.next(m));
  EXPECT_FALSE(sut.failed());
}

TEST(WorkedExample, SendOk) {
  Bytes out;
  encode(SendReply{41, 2, {}}, out, 2);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kSendOk)));

  auto m = decode_send_reply(only_frame(out, reply_kind(Kind::send)));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first_id, 41u);
  EXPECT_EQ(m->count, 2u);
  EXPECT_TRUE(m->duplicates.empty());
}

TEST(WorkedExample, SendOkVersion1) {
  Bytes out;
  encode(SendReply{41, 2, {}}, out, 2, 1);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kSendOkV1)));

  auto m = decode_send_reply(only_frame(out, reply_kind(Kind::send)), 1);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first_id, 41u);
  EXPECT_EQ(m->count, 2u);
  EXPECT_TRUE(m->duplicates.empty());
}

TEST(WorkedExample, SendOkWithADuplicate) {
  Bytes out;
  encode(SendReply{41, 2, {{1, 17}}}, out, 2);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kSendOkDuplicate)));

  auto m = decode_send_reply(only_frame(out, reply_kind(Kind::send)));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first_id, 41u);
  EXPECT_EQ(m->count, 2u);
  ASSERT_EQ(m->duplicates.size(), 1u);
  EXPECT_EQ(m->duplicates[0].index, 1u);
  EXPECT_EQ(m->duplicates[0].existing_id, 17u);
}

TEST(WorkedExample, Receive) {
  Bytes out;
  encode(ReceiveRequest{"jobs", -5, 0, 1000, kNoSizeLimit, 1}, out, 3);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kReceive)));

  auto m = decode_receive(only_frame(out, Kind::receive));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->queue, "jobs");
  EXPECT_EQ(m->type, -5);
  EXPECT_EQ(m->flags, 0);
  EXPECT_EQ(m->timeout_ms, 1000u);
  EXPECT_EQ(m->max_size, kNoSizeLimit);
  EXPECT_EQ(m->max_count, 1u);
}

TEST(WorkedExample, ReceiveWithAck) {
  Bytes out;
  encode(ReceiveRequest{"jobs", 0, kReceiveAck, 0, kNoSizeLimit, 10, 60000}, out, 8);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kReceiveLeased)));

  auto m = decode_receive(only_frame(out, Kind::receive));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->queue, "jobs");
  EXPECT_EQ(m->type, 0);
  EXPECT_EQ(m->flags, kReceiveAck);
  EXPECT_EQ(m->timeout_ms, 0u);
  EXPECT_EQ(m->max_count, 10u);
  EXPECT_EQ(m->lease_ms, 60000u);
}

TEST(WorkedExample, ReceiveOk) {
  constexpr uint64_t kEnqueued = 1700000000000000000ull;  // 2023-11-14T22:13:20Z
  const auto props = from_hex(kCorrelationC1);
  DeliveredMessage in;
  in.id = 42;
  in.type = 5;
  in.priority = 9;
  in.sender_pid = 1234;
  in.sender_uid = 1000;
  in.enqueue_time_ns = kEnqueued;
  in.delivery_tag = 0;
  in.delivery_count = 1;
  in.properties = props;
  in.payload = as_bytes("yo");
  Bytes out;
  auto body = begin_receive_reply(out, 3);
  append_delivered(in, out);
  finish_receive_reply(out, body, 1);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kReceiveOk)));

  ReceiveReplyReader sut;
  ASSERT_TRUE(sut.open(only_frame(out, reply_kind(Kind::receive))));
  EXPECT_EQ(sut.count(), 1u);
  DeliveredMessage m;
  ASSERT_TRUE(sut.next(m));
  EXPECT_EQ(m.id, 42u);
  EXPECT_EQ(m.type, 5);
  EXPECT_EQ(m.priority, 9);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.sender_pid, 1234u);
  EXPECT_EQ(m.sender_uid, 1000u);
  EXPECT_EQ(m.enqueue_time_ns, kEnqueued);
  EXPECT_EQ(m.delivery_tag, 0u);
  EXPECT_EQ(m.delivery_count, 1u);
  EXPECT_EQ(to_hex(m.properties), kCorrelationC1);
  EXPECT_EQ(as_text(m.payload), "yo");
  EXPECT_FALSE(sut.next(m));
  EXPECT_FALSE(sut.failed());
}

TEST(WorkedExample, Properties) {
  Properties p;
  p.correlation_id = "c1";
  p.reply_to = "replies";
  p.headers = {{"k", "v"}};
  EXPECT_EQ(to_hex(encode_properties(p)), to_hex(from_hex(kProperties)));
}

TEST(WorkedExample, PropertiesWithScheduling) {
  Properties p;
  p.delay_ms = 5000;
  p.dedup_key = "job-7";
  const auto tlv = encode_properties(p);
  EXPECT_EQ(to_hex(tlv), to_hex(from_hex(kPropertiesScheduling)));

  Scheduling s;
  EXPECT_EQ(find_scheduling(tlv, s), "");
  EXPECT_EQ(s.delay_ms, 5000u);
  EXPECT_FALSE(s.due_ns.has_value());
  EXPECT_FALSE(s.ttl_ms.has_value());
  EXPECT_EQ(s.dedup_key, "job-7");
}

TEST(WorkedExample, Ack) {
  const uint64_t tags[] = {0x1001, 0x1002};
  Bytes out;
  encode_settle(Kind::ack, 0, kKeepPriority, tags, out, 9);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kAck)));

  auto m = decode_settle(Kind::ack, only_frame(out, Kind::ack));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->ms, 0u);
  EXPECT_EQ(m->priority, kKeepPriority);
  ASSERT_EQ(m->count(), 2u);
  EXPECT_EQ(m->tag_at(0), 0x1001u);
  EXPECT_EQ(m->tag_at(1), 0x1002u);
}

TEST(WorkedExample, AckOkWithAMissingTag) {
  Bytes out;
  encode(Kind::ack, SettleReply{1, {0x1002}}, out, 9);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kAckOk)));

  auto m = decode_settle_reply(only_frame(out, reply_kind(Kind::ack)));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->settled, 1u);
  EXPECT_EQ(m->missing, std::vector<uint64_t>{0x1002});
}

TEST(WorkedExample, NackWithDelayAndPriority) {
  const uint64_t tags[] = {0x1003};
  Bytes out;
  encode_settle(Kind::nack, 5000, 3, tags, out, 10);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kNack)));

  auto m = decode_settle(Kind::nack, only_frame(out, Kind::nack));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->ms, 5000u);
  EXPECT_EQ(m->priority, 3);
  ASSERT_EQ(m->count(), 1u);
  EXPECT_EQ(m->tag_at(0), 0x1003u);
}

TEST(WorkedExample, Consume) {
  Bytes out;
  encode(ConsumeRequest{"jobs", 0, kReceiveAck, 10, 0, kNoSizeLimit}, out, 12);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kConsume)));

  auto m = decode_consume(only_frame(out, Kind::consume));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->queue, "jobs");
  EXPECT_EQ(m->type, 0);
  EXPECT_EQ(m->flags, kReceiveAck);
  EXPECT_EQ(m->prefetch, 10u);
  EXPECT_EQ(m->lease_ms, 0u);
  EXPECT_EQ(m->max_size, kNoSizeLimit);
}

TEST(WorkedExample, CancelAndTheEmptyReplies) {
  Bytes out;
  encode(CancelRequest{12}, out, 13);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kCancel)));
  auto m = decode_cancel(only_frame(out, Kind::cancel));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->consumer, 12u);

  out.clear();
  encode_empty_reply(Kind::consume, out, 12);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kConsumeOk)));
  EXPECT_TRUE(only_frame(out, reply_kind(Kind::consume)).empty());

  out.clear();
  encode_empty_reply(Kind::cancel, out, 13);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kCancelOk)));
  EXPECT_TRUE(only_frame(out, reply_kind(Kind::cancel)).empty());
}

TEST(WorkedExample, DeliverWithADeliveryTag) {
  constexpr uint64_t kEnqueued = 1700000000000000000ull;
  DeliveredMessage in;
  in.id = 43;
  in.type = 1;
  in.priority = 5;
  in.sender_pid = 1234;
  in.sender_uid = 1000;
  in.enqueue_time_ns = kEnqueued;
  in.delivery_tag = 0x1004;
  in.delivery_count = 2;
  in.payload = as_bytes("go");
  Bytes out;
  auto body = begin_receive_reply(out, 12, Kind::deliver);
  append_delivered(in, out);
  finish_receive_reply(out, body, 1);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kDeliver)));

  ReceiveReplyReader sut;
  ASSERT_TRUE(sut.open(only_frame(out, Kind::deliver)));
  ASSERT_EQ(sut.count(), 1u);
  DeliveredMessage m;
  ASSERT_TRUE(sut.next(m));
  EXPECT_EQ(m.id, 43u);
  EXPECT_EQ(m.priority, 5);
  EXPECT_EQ(m.enqueue_time_ns, kEnqueued);
  EXPECT_EQ(m.delivery_tag, 0x1004u);
  EXPECT_EQ(m.delivery_count, 2u);
  EXPECT_TRUE(m.properties.empty());
  EXPECT_EQ(as_text(m.payload), "go");
  EXPECT_FALSE(sut.next(m));
  EXPECT_FALSE(sut.failed());
}

// PUBLISH is a SEND body under another kind.
TEST(WorkedExample, PublishAndItsReply) {
  Bytes out;
  auto body = begin_send({"a.b", 0, 1}, out, 5, Kind::publish);
  append_outgoing({1, 0, {}, std::as_bytes(std::span("hi", 2))}, out);
  finish_frame(out, body);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kPublish)));
  SendReader r;
  ASSERT_TRUE(r.open(only_frame(out, Kind::publish)));
  EXPECT_EQ(r.header().queue, "a.b");

  out.clear();
  encode(PublishReply{2, 1, 0}, out, 5);
  EXPECT_EQ(to_hex(out), to_hex(from_hex(kPublishOk)));
  auto m = decode_publish_reply(only_frame(out, reply_kind(Kind::publish)));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->queues, 2u);
  EXPECT_EQ(m->denied, 1u);
  EXPECT_EQ(m->dropped, 0u);
  const Bytes reply = from_hex(kPublishOk);
  EXPECT_FALSE(decode_publish_reply(std::span(reply).subspan(12, 8)).has_value())
      << "the reply has all three counts";
}

TEST(WorkedExample, AdminJsonFrames) {
  struct Case {
    const char* example;
    Kind kind;
    uint32_t request_id;
    const char* json;
  };
  const Case cases[] = {
      {kDeclare, Kind::declare, 4, R"({"queue":"jobs","max_messages":1000})"},
      {kDeleteOk, reply_kind(Kind::remove), 6, "{}"},
      {kPurge, Kind::purge, 5, R"({"queue":"jobs"})"},
      {kPurgeOk, reply_kind(Kind::purge), 5, R"({"purged":3})"},
      {kList, Kind::list, 7, "{}"},
      {kMove, Kind::move, 11, R"({"source":"jobs.dead","destination":"jobs"})"},
      {kMoveOk, reply_kind(Kind::move), 11, R"({"moved":2})"},
      {kBind, Kind::bind, 14, R"({"pattern":"a.*","queue":"q"})"},
  };
  for (const auto& c : cases) {
    Bytes out;
    encode_json(c.kind, c.json, out, c.request_id);
    EXPECT_EQ(to_hex(out), to_hex(from_hex(c.example))) << c.json;
    EXPECT_EQ(as_text(only_frame(out, c.kind)), c.json);
  }
}

// --- The document shows the same bytes -----------------------------------------

/// Every "# example: NAME" block of PROTOCOL.md: the hex before each ';'.
std::map<std::string, Bytes> examples_in_document() {
  std::ifstream in(POSTBOX_PROTOCOL_MD);
  EXPECT_TRUE(in.good()) << "cannot read " << POSTBOX_PROTOCOL_MD;
  std::map<std::string, Bytes> found;
  const std::string marker = "# example: ";
  std::string line, name, hex;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line.rfind(marker, 0) == 0) {
      name = line.substr(marker.size());
      hex.clear();
      inside = true;
    } else if (inside && line.rfind("```", 0) == 0) {
      EXPECT_EQ(found.count(name), 0u) << "example '" << name << "' appears twice";
      found[name] = from_hex(hex);
      inside = false;
    } else if (inside) {
      hex += line.substr(0, line.find(';'));
      hex += ' ';
    }
  }
  EXPECT_FALSE(inside) << "example '" << name << "' is not closed";
  return found;
}

TEST(ProtocolDocument, ShowsExactlyTheExamplesCheckedHere) {
  auto documented = examples_in_document();

  for (const auto& [name, hex] : examples()) {
    auto it = documented.find(name);
    ASSERT_NE(it, documented.end()) << "PROTOCOL.md lacks example '" << name << "'";
    EXPECT_EQ(to_hex(it->second), to_hex(from_hex(hex))) << "example '" << name << "'";
  }
  for (const auto& [name, bytes] : documented)
    EXPECT_EQ(examples().count(name), 1u) << "PROTOCOL.md example '" << name << "' is not tested";
}

TEST(ProtocolDocument, FrameExamplesDeclareTheirBodySize) {
  // Every example but the bare properties sections is a whole frame.
  for (const auto& [name, hex] : examples()) {
    if (name.rfind("properties", 0) == 0) continue;
    const auto frame = from_hex(hex);
    auto r = decode_frame(frame, kDefaultMaxFrameBody);
    EXPECT_EQ(r.status, DecodeStatus::frame) << name;
    EXPECT_EQ(r.consumed, frame.size()) << name;
  }
}

}  // namespace
}  // namespace postbox::proto
