// Raw frames against a real postboxd: ordering rules, malformed input, pipelining, out-of-order
// replies.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "proto/messages.hpp"
#include "tests/support/raw_conn.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using proto::Errc;
using proto::Kind;
using Bytes = std::vector<std::byte>;

Bytes json_frame(Kind kind, std::string_view json, uint32_t rid) {
  Bytes out;
  proto::encode_json(kind, json, out, rid);
  return out;
}

/// A SEND of `count` copies of `payload`.
Bytes send_copies(std::string_view queue, std::string_view payload, uint32_t count, uint32_t rid,
                  uint32_t timeout_ms, int64_t type = 1) {
  Bytes out;
  auto body = proto::begin_send({queue, timeout_ms, count}, out, rid);
  for (uint32_t i = 0; i < count; ++i) {
    proto::OutgoingMessage m;
    m.type = type;
    m.payload = std::as_bytes(std::span(payload.data(), payload.size()));
    proto::append_outgoing(m, out);
  }
  proto::finish_frame(out, body);
  return out;
}

Bytes send_frame(std::string_view queue, std::string_view payload, uint32_t rid, int64_t type = 1) {
  return send_copies(queue, payload, 1, rid, 0, type);
}

Bytes send_frame_timeout(std::string_view queue, uint32_t count, uint32_t rid, uint32_t timeout_ms,
                         int64_t type = 1, std::size_t payload_size = 1) {
  return send_copies(queue, std::string(payload_size, 'p'), count, rid, timeout_ms, type);
}

Bytes receive_frame(std::string_view queue, uint32_t rid, uint32_t timeout_ms, int64_t type = 0) {
  Bytes out;
  proto::ReceiveRequest r;
  r.queue = queue;
  r.type = type;
  r.timeout_ms = timeout_ms;
  proto::encode(r, out, rid);
  return out;
}

Errc error_code_of(const RawFrame& f) {
  EXPECT_EQ(f.header.kind, Kind::error);
  auto e = proto::decode_error(f.body);
  return e ? e->code : Errc::internal_error;
}

/// The broker answers (request `rid`, if given) with protocol_error and then closes.
void expect_protocol_error_and_close(RawConn& c, std::optional<uint32_t> rid = std::nullopt) {
  auto f = c.expect();
  ASSERT_TRUE(f);
  if (rid) {
    EXPECT_EQ(f->header.request_id, *rid);
  }
  EXPECT_EQ(error_code_of(*f), Errc::protocol_error);
  EXPECT_TRUE(c.closed_by_peer());
}

class Protocol : public ::testing::Test {
 protected:
  TestBroker broker_;
};

TEST_F(Protocol, RequestBeforeHelloIsAProtocolErrorAndCloses) {
  RawConn c(broker_.socket());
  c.send(json_frame(Kind::list, "{}", 7));
  expect_protocol_error_and_close(c, 7);
}

TEST_F(Protocol, HelloWithWrongMagicIsRefused) {
  RawConn c(broker_.socket());
  Bytes out;
  proto::encode(proto::Hello{}, out, 1);
  out[proto::kHeaderSize] = std::byte{'X'};
  c.send(out);
  expect_protocol_error_and_close(c);
}

TEST_F(Protocol, HelloNegotiatesVersionAndAnnouncesLimits) {
  RawConn c(broker_.socket());
  Bytes out;
  proto::encode(proto::Hello{7, "future-client"}, out, 1);
  c.send(out);
  auto f = c.expect();
  ASSERT_TRUE(f);
  ASSERT_EQ(f->header.kind, proto::reply_kind(Kind::hello));
  auto h = proto::decode_hello_reply(f->body);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, proto::kVersion);
  EXPECT_GT(h->max_frame_body, 4096u);
  EXPECT_GT(h->max_message_size, 0u);
  EXPECT_LT(h->max_message_size, h->max_frame_body);
}

TEST_F(Protocol, OversizedFrameIsRefusedFromItsHeaderAlone) {
  RawConn c(broker_.socket());
  c.hello();
  Bytes header(proto::kHeaderSize);
  proto::encode_header({proto::kMaxFrameBodyCeiling, Kind::send, 0, 9}, header.data());
  c.send(header);  // no body follows: the broker must not wait for 256 MiB
  expect_protocol_error_and_close(c, 9);
}

TEST_F(Protocol, TruncatedSendBodyIsAProtocolError) {
  RawConn c(broker_.socket());
  c.hello();
  c.send(json_frame(Kind::declare, R"({"queue":"q"})", 2));
  ASSERT_TRUE(c.expect());
  Bytes f = send_frame("q", "hello", 3);
  // Claim two messages while carrying one.
  const std::size_t count_at = proto::kHeaderSize + 1 + 1 + 4;
  uint32_t two = 2;
  std::memcpy(f.data() + count_at, &two, 4);
  c.send(f);
  expect_protocol_error_and_close(c);
}

TEST_F(Protocol, UnknownRequestKindIsRefusedButTheConnectionStays) {
  RawConn c(broker_.socket());
  c.hello();
  Bytes f(proto::kHeaderSize);
  proto::encode_header({0, static_cast<Kind>(0x0042), 0, 5}, f.data());
  c.send(f);
  auto r = c.expect();
  ASSERT_TRUE(r);
  EXPECT_EQ(error_code_of(*r), Errc::invalid_argument);
  c.send(json_frame(Kind::list, "{}", 6));
  auto l = c.expect();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->header.kind, proto::reply_kind(Kind::list));
}

TEST_F(Protocol, RandomGarbageNeverCrashesTheBroker) {
  const unsigned seed = 20261202;
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  for (int round = 0; round < 200; ++round) {
    RawConn c(broker_.socket());
    if (round % 2) c.hello();
    Bytes junk(1 + rng() % 300);
    for (auto& b : junk) b = static_cast<std::byte>(rng());
    c.send(junk);
    // Each round ends either in an error + close, or the broker waiting for more.
    (void)c.expect(std::chrono::milliseconds(round % 10 == 0 ? 200 : 1));
  }
  RawConn after(broker_.socket());
  after.hello();
  after.send(json_frame(Kind::list, "{}", 2));
  auto l = after.expect();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->header.kind, proto::reply_kind(Kind::list));
}

TEST_F(Protocol, ManyFramesInOneWriteAreAllAnswered) {
  RawConn c(broker_.socket());
  c.hello();
  Bytes batch = json_frame(Kind::declare, R"({"queue":"pipe"})", 1);
  constexpr uint32_t kSends = 500;
  for (uint32_t i = 0; i < kSends; ++i) {
    auto f = send_frame("pipe", "m" + std::to_string(i), 100 + i);
    batch.insert(batch.end(), f.begin(), f.end());
  }
  c.send(batch);
  auto d = c.expect();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->header.request_id, 1u);
  uint64_t last_id = 0;
  for (uint32_t i = 0; i < kSends; ++i) {
    auto r = c.expect();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header.request_id, 100 + i);
    auto s = proto::decode_send_reply(r->body);
    ASSERT_TRUE(s);
    EXPECT_GT(s->first_id, last_id);
    last_id = s->first_id;
  }
}

TEST_F(Protocol, SplitIntoSingleBytesStillParses) {
  RawConn c(broker_.socket());
  Bytes all;
  proto::encode(proto::Hello{}, all, 1);
  auto l = json_frame(Kind::list, "{}", 2);
  all.insert(all.end(), l.begin(), l.end());
  for (std::byte b : all) c.send({b});
  auto h = c.expect();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header.kind, proto::reply_kind(Kind::hello));
  auto r = c.expect();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header.kind, proto::reply_kind(Kind::list));
}

TEST_F(Protocol, BlockedReceiveDoesNotStallLaterRequests) {
  RawConn c(broker_.socket());
  c.hello();
  c.send(json_frame(Kind::declare, R"({"queue":"wait"})", 1));
  ASSERT_TRUE(c.expect());
  c.send(receive_frame("wait", 10, proto::kWaitForever));
  c.send(json_frame(Kind::stat, R"({"queue":"wait"})", 11));
  auto stat = c.expect();
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->header.request_id, 11u);  // answered while 10 still waits

  RawConn producer(broker_.socket());
  producer.hello();
  producer.send(send_frame("wait", "wake", 1));
  ASSERT_TRUE(producer.expect());
  auto got = c.expect();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->header.request_id, 10u);
  proto::ReceiveReplyReader rr;
  ASSERT_TRUE(rr.open(got->body));
  proto::DeliveredMessage m;
  ASSERT_TRUE(rr.next(m));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size()), "wake");
}

TEST_F(Protocol, ReceiveTimesOutWithNoMessage) {
  RawConn c(broker_.socket());
  c.hello();
  c.send(json_frame(Kind::declare, R"({"queue":"empty"})", 1));
  ASSERT_TRUE(c.expect());
  c.send(receive_frame("empty", 2, 50));
  auto r = c.expect();
  ASSERT_TRUE(r);
  EXPECT_EQ(error_code_of(*r), Errc::no_message);
}

TEST_F(Protocol, MalformedJsonBodyIsAnInvalidArgument) {
  RawConn c(broker_.socket());
  c.hello();
  c.send(json_frame(Kind::declare, "{not json", 3));
  auto r = c.expect();
  ASSERT_TRUE(r);
  EXPECT_EQ(error_code_of(*r), Errc::invalid_argument);
  c.send(json_frame(Kind::declare, R"({"queue":"q","colour":"red"})", 4));
  r = c.expect();
  ASSERT_TRUE(r);
  EXPECT_EQ(error_code_of(*r), Errc::invalid_argument);
  auto e = proto::decode_error(r->body);
  ASSERT_TRUE(e);
  EXPECT_NE(std::string(e->message).find("colour"), std::string::npos);
}

TEST(Limits, ConnectionBeyondMaxConnectionsIsToldWhyAndClosed) {
  TestBroker::Options opts;
  opts.config_json = R"({"max_connections": 2})";
  TestBroker broker(opts);
  RawConn a(broker.socket()), b(broker.socket());
  a.hello();
  b.hello();
  RawConn third(broker.socket());
  auto f = third.expect();
  ASSERT_TRUE(f);
  EXPECT_EQ(error_code_of(*f), Errc::resource_limit);
  EXPECT_TRUE(third.closed_by_peer());
  a.send(json_frame(Kind::list, "{}", 2));  // the first two are unaffected
  ASSERT_TRUE(a.expect());
}

TEST(Backpressure, BrokerStopsReadingFromAClientThatDoesNotReadItsReplies) {
  TestBroker::Options opts;
  opts.config_json = R"({"max_pending_output": 65536})";
  TestBroker broker(opts);
  RawConn flood(broker.socket());
  flood.hello();
  flood.send(json_frame(Kind::declare, R"({"queue":"q"})", 1));
  ASSERT_TRUE(flood.expect());
  // Requests whose replies are ~25x larger, never read: without backpressure
  // the broker would buffer every reply (gigabytes for the cap below).
  const Bytes stat = json_frame(Kind::stat, R"({"queue":"q"})", 2);
  constexpr std::size_t kCap = 64u << 20;
  const std::size_t sent = flood.send_until_blocked(stat, kCap);
  EXPECT_LT(sent * stat.size(), kCap / 8) << "the broker kept reading";

  RawConn other(broker.socket());  // the loop itself is not blocked
  other.hello();
  other.send(json_frame(Kind::list, "{}", 9));
  auto l = other.expect();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->header.kind, proto::reply_kind(Kind::list));

  // Reading resumes the flow: every request is answered, none lost.
  for (std::size_t i = 0; i < sent; ++i) {
    auto r = flood.expect();
    ASSERT_TRUE(r) << "reply " << i << " of " << sent;
    ASSERT_EQ(r->header.kind, proto::reply_kind(Kind::stat));
  }
}

nlohmann::json stat_of(RawConn& c, std::string_view queue) {
  c.send(json_frame(Kind::stat, R"({"queue":")" + std::string(queue) + R"("})", 77));
  auto f = c.expect();
  if (!f || f->header.kind != proto::reply_kind(Kind::stat)) return {};
  return nlohmann::json::parse(
      std::string(reinterpret_cast<const char*>(f->body.data()), f->body.size()));
}

TEST_F(Protocol, ReceiveReplyStaysWholeWhenItAdmitsAParkedSendOfTheSameConnection) {
  RawConn c(broker_.socket());
  c.hello();
  c.send(json_frame(Kind::declare, R"({"queue":"one","max_messages":1})", 1));
  ASSERT_TRUE(c.expect());
  c.send(send_frame_timeout("one", 1, 2, 0));
  ASSERT_TRUE(c.expect());
  c.send(send_frame_timeout("one", 1, 3, proto::kWaitForever));  // parks: the queue is full
  c.send(receive_frame("one", 4, 0));                            // frees room, admitting request 3
  auto r = c.expect();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->header.request_id, 4u);
  proto::ReceiveReplyReader rr;
  proto::DeliveredMessage m;
  ASSERT_TRUE(rr.open(r->body));
  EXPECT_EQ(rr.count(), 1u);
  EXPECT_TRUE(rr.next(m));
  EXPECT_FALSE(rr.next(m));
  EXPECT_FALSE(rr.failed()) << "another reply was encoded inside the RECEIVE_OK";
  auto sent = c.expect();
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->header.request_id, 3u);
  EXPECT_EQ(sent->header.kind, proto::reply_kind(Kind::send));
}

TEST_F(Protocol, ClosingConnectionNeitherQueuesItsSendsNorSwallowsOthersMessages) {
  RawConn admin(broker_.socket());
  admin.hello();
  admin.send(json_frame(Kind::declare, R"({"queue":"two","max_messages":2})", 1));
  ASSERT_TRUE(admin.expect());
  admin.send(send_frame_timeout("two", 1, 2, 0));
  ASSERT_TRUE(admin.expect());
  RawConn other(broker_.socket());
  other.hello();
  {
    RawConn leaving(broker_.socket());
    leaving.hello();
    leaving.send(send_frame_timeout("two", 2, 2, proto::kWaitForever));  // 1 + 2 > 2: parks
    leaving.send(send_frame_timeout("two", 1, 3, proto::kWaitForever));  // parks behind it
    leaving.send(receive_frame("two", 4, proto::kWaitForever, 2));       // waits for type 2
    ASSERT_EQ(stat_of(leaving, "two")["blocked_receivers"], 1);
    other.send(send_frame_timeout("two", 1, 5, proto::kWaitForever, 2));  // parks third
    ASSERT_EQ(stat_of(admin, "two")["blocked_senders"], 3);
  }  // leaving closes with two sends and a receive parked
  auto admitted = other.expect();
  ASSERT_TRUE(admitted);
  EXPECT_EQ(admitted->header.kind, proto::reply_kind(Kind::send));
  auto st = stat_of(admin, "two");
  EXPECT_EQ(st["depth"], 2) << "the closed connection's sends were cancelled, other's admitted";
  EXPECT_EQ(st["received_total"], 0) << "no message went to the closed connection's receive";
  admin.send(receive_frame("two", 9, 0, 2));
  auto got = admin.expect();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->header.kind, proto::reply_kind(Kind::receive));
}

TEST(Backpressure, ParkedReceivesOfAClientThatDoesNotReadStopTakingMessages) {
  TestBroker::Options opts;
  opts.config_json = R"({"max_pending_output": 1048576})";
  TestBroker broker(opts);
  RawConn slow(broker.socket());
  slow.hello();
  slow.send(json_frame(Kind::declare, R"({"queue":"big"})", 1));
  ASSERT_TRUE(slow.expect());
  constexpr uint32_t kReceives = 20;
  for (uint32_t i = 0; i < kReceives; ++i)
    slow.send(receive_frame("big", 100 + i, proto::kWaitForever));
  RawConn producer(broker.socket());
  producer.hello();
  ASSERT_EQ(stat_of(producer, "big")["blocked_receivers"], kReceives);
  for (uint32_t i = 0; i < kReceives; ++i) {
    producer.send(send_frame_timeout("big", 1, 10 + i, 0, 1, 512 * 1024));
    ASSERT_TRUE(producer.expect());
  }
  // 10 MiB sent; a client that reads nothing may hold about 1 MiB of replies
  // plus what the socket buffers: the rest waits in the queue.
  EXPECT_GE(stat_of(producer, "big")["depth"].get<int>(), 10);
  for (uint32_t i = 0; i < kReceives; ++i) {  // reading resumes delivery: nothing is lost
    auto r = slow.expect();
    ASSERT_TRUE(r) << "reply " << i;
    ASSERT_EQ(r->header.kind, proto::reply_kind(Kind::receive));
  }
  EXPECT_EQ(stat_of(producer, "big")["depth"], 0);
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(Limits, AnnouncedLargeFrameDoesNotAllocateBeforeItsBytesArrive) {
  TestBroker broker;
  const long before = rss_kib(broker.pid());
  std::vector<std::unique_ptr<RawConn>> conns;
  Bytes header(proto::kHeaderSize);
  proto::encode_header({proto::kDefaultMaxFrameBody, Kind::send, 0, 1}, header.data());
  for (int i = 0; i < 20; ++i) {
    conns.push_back(std::make_unique<RawConn>(broker.socket()));
    conns.back()->hello();
    conns.back()->send(header);  // 16 MiB announced, never sent
  }
  RawConn probe(broker.socket());  // every header above has been read once this answers
  probe.hello();
  probe.send(json_frame(Kind::list, "{}", 2));
  ASSERT_TRUE(probe.expect());
  EXPECT_LT(rss_kib(broker.pid()) - before, 64 * 1024)
      << "KiB grown for 20 announced 16 MiB frames";
}

}  // namespace
}  // namespace postbox::testing
