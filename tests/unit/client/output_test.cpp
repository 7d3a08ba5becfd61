// Tests client/cli/output.cpp: UTF-8 detection, base64, the JSON shapes and the error lines.
#include "client/cli/output.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace postbox::cli {
namespace {

using nlohmann::json;

TEST(Utf8, AcceptsWellFormedAndRejectsIllFormedSequences) {
  struct Case {
    std::string bytes;
    bool valid;
  };
  const Case cases[] = {
      {"", true},
      {"plain ascii", true},
      {"caf\xC3\xA9", true},           // 2 bytes
      {"\xE2\x82\xAC", true},          // euro sign, 3 bytes
      {"\xF0\x9F\x98\x80", true},      // emoji, 4 bytes
      {"\xF4\x8F\xBF\xBF", true},      // U+10FFFF, the last code point
      {std::string("a\0b", 3), true},  // NUL is valid UTF-8
      {"\xC3", false},                 // truncated
      {"\xC0\xAF", false},             // overlong '/'
      {"\xE0\x80\xAF", false},         // overlong, 3 bytes
      {"\xED\xA0\x80", false},         // surrogate U+D800
      {"\xF4\x90\x80\x80", false},     // above U+10FFFF
      {"\xFF\xFE", false},             // never valid
      {"\x80", false},                 // lone continuation
  };
  for (const auto& c : cases)
    EXPECT_EQ(is_valid_utf8(c.bytes), c.valid) << json(c.valid).dump() << " " << c.bytes.size();
}

TEST(Base64, EncodesRfc4648TestVectors) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {{"", ""},
                        {"f", "Zg=="},
                        {"fo", "Zm8="},
                        {"foo", "Zm9v"},
                        {"foob", "Zm9vYg=="},
                        {"fooba", "Zm9vYmE="},
                        {"foobar", "Zm9vYmFy"}};
  for (const auto& c : cases) EXPECT_EQ(base64(c.in), c.out) << c.in;
  EXPECT_EQ(base64(std::string("\xFF\xFE\x00", 3)), "//4A");
}

Message sample() {
  Message m;
  m.id = 42;
  m.type = 5;
  m.priority = 9;
  m.payload = "yo";
  m.correlation_id = "c1";
  m.headers = {{"k", "v"}};
  m.sender_pid = 1234;
  m.sender_uid = 1000;
  m.enqueue_time_ns = 1700000000000000000;
  return m;
}

TEST(MessageJson, TextPayloadHasEveryDocumentedKey) {
  auto j = json::parse(message_json(sample()));
  EXPECT_EQ(j["id"], 42);
  EXPECT_EQ(j["type"], 5);
  EXPECT_EQ(j["priority"], 9);
  EXPECT_EQ(j["payload"], "yo");
  EXPECT_FALSE(j.contains("encoding"));
  EXPECT_EQ(j["properties"]["correlation_id"], "c1");
  EXPECT_TRUE(j["properties"]["reply_to"].is_null());
  EXPECT_EQ(j["properties"]["headers"], json({{"k", "v"}}));
  EXPECT_EQ(j["sender_pid"], 1234);
  EXPECT_EQ(j["sender_uid"], 1000);
  EXPECT_EQ(j["enqueue_time_ns"], 1700000000000000000ull);
  EXPECT_EQ(j["truncated"], false);
  EXPECT_EQ(j["delivery_count"], 1);
}

TEST(MessageJson, LeasedMessageCarriesItsTagAsTag) {
  EXPECT_FALSE(json::parse(message_json(sample())).contains("tag"));  // auto-acked: no lease
  Message m = sample();
  m.delivery_tag = 77;
  m.delivery_count = 2;
  auto j = json::parse(message_json(m));
  EXPECT_EQ(j["tag"], 77);
  EXPECT_EQ(j["delivery_tag"], 77);
  EXPECT_EQ(j["delivery_count"], 2);
}

TEST(SendOutput, SaysDuplicateOnlyWhenAKeyWasGiven) {
  const SendResult added{10, 1, {}};
  const SendResult duplicate{11, 1, {{0, 4}}};
  EXPECT_EQ(send_text(added, false), "10");
  EXPECT_EQ(send_json(added, false), R"({"id":10})");
  EXPECT_EQ(send_text(added, true), "10");
  EXPECT_EQ(send_json(added, true), R"({"id":10,"duplicate":false})");
  EXPECT_EQ(send_text(duplicate, true), "4 duplicate");  // the held message's id
  EXPECT_EQ(send_json(duplicate, true), R"({"id":4,"duplicate":true})");
}

TEST(SettleOutput, NamesTheMissingTagsAndHowManySettled) {
  EXPECT_EQ(missing_leases_text({5}, 1),
            "no lease with tag 5 (expired, settled already, or not yours to settle)");
  EXPECT_EQ(missing_leases_text({5, 7}, 3),
            "no lease with tags 5, 7 (expired, settled already, or not yours to settle); 1 of 3 "
            "settled");
}

TEST(MoveOutput, CountsTheMovedMessages) {
  EXPECT_EQ(move_text({1, 0, ""}, "a", "b"), "moved 1 message from 'a' to 'b'");
  EXPECT_EQ(move_text({3, 1, ""}, "a", "b"),
            "moved 3 messages from 'a' to 'b', 1 merged into a message holding its key");
  EXPECT_EQ(move_json({3, 0, ""}), R"({"moved":3,"merged":0})");
  EXPECT_EQ(move_json({2, 0, "queue_full"}), R"({"moved":2,"merged":0,"stopped":"queue_full"})");
}

TEST(MessageJson, IsOneLine) {
  Message m = sample();
  m.payload = "line one\nline two";
  EXPECT_EQ(message_json(m).find('\n'), std::string::npos);
}

TEST(MessageJson, BinaryPayloadIsBase64WithEncodingKey) {
  Message m = sample();
  m.payload = std::string("\xFF\xFE\x00", 3);
  auto j = json::parse(message_json(m));
  EXPECT_EQ(j["payload"], "//4A");
  EXPECT_EQ(j["encoding"], "base64");
}

TEST(MessageJson, RepeatedHeaderKeyBecomesAnArrayInSendOrder) {
  Message m = sample();
  m.headers = {{"k", "v"}, {"other", "x"}, {"k", "w"}};
  auto j = json::parse(message_json(m));
  EXPECT_EQ(j["properties"]["headers"]["k"], json({"v", "w"}));
  EXPECT_EQ(j["properties"]["headers"]["other"], "x");
}

QueueStat sample_stat() {
  QueueStat s;
  s.name = "jobs";
  s.depth = 2;
  s.bytes = 4;
  s.mode = 0640;
  s.overflow = Overflow::drop_oldest;
  s.depth_per_priority = {{0, 1}, {9, 1}};
  return s;
}

TEST(StatJson, UsesTheWireKeys) {
  auto j = json::parse(stat_json(sample_stat()));
  for (const char* key : {"name",
                          "depth",
                          "bytes",
                          "max_messages",
                          "max_bytes",
                          "max_message_size",
                          "mode",
                          "overflow",
                          "owner_uid",
                          "owner_gid",
                          "created_ns",
                          "last_send_pid",
                          "last_send_ns",
                          "last_receive_pid",
                          "last_receive_ns",
                          "sent_total",
                          "received_total",
                          "dropped_total",
                          "purged_total",
                          "blocked_senders",
                          "blocked_receivers",
                          "depth_per_priority",
                          "max_deliveries",
                          "dead_letter",
                          "lease_ms",
                          "ttl_ms",
                          "leased",
                          "delayed",
                          "acked_total",
                          "nacked_total",
                          "redelivered_total",
                          "lease_expired_total",
                          "expired_total",
                          "dead_lettered_total",
                          "discarded_total",
                          "deduplicated_total",
                          "moved_in_total",
                          "moved_out_total",
                          "consumers"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["mode"], 0640);
  EXPECT_EQ(j["overflow"], "drop-oldest");
  EXPECT_EQ(j["depth_per_priority"], json({{"0", 1}, {"9", 1}}));
}

TEST(StatJson, ListsConsumersWithTheWireKeys) {
  QueueStat s = sample_stat();
  s.consumers = {{3, 9, 1234, -5, true, true, 16, 2}};
  auto j = json::parse(stat_json(s));
  EXPECT_EQ(j["consumers"], json::parse(R"([{"consumer":3,"connection":9,"pid":1234,"type":-5,)"
                                        R"("except":true,"ack":true,"prefetch":16,"unacked":2}])"));
}

TEST(StatOutput, LeavesTheVersion2KeysOutForAVersion1Broker) {
  auto j = json::parse(stat_json(sample_stat(), /*jobs=*/false));
  EXPECT_TRUE(j.contains("depth_per_priority"));
  for (const char* key : {"leased", "dead_letter", "consumers", "acked_total"})
    EXPECT_FALSE(j.contains(key)) << key;
  auto text = stat_text(sample_stat(), false);
  EXPECT_EQ(text.find("leased"), std::string::npos) << text;
  EXPECT_NE(text.find("depth_per_priority"), std::string::npos) << text;
}

TEST(StatText, ShowsTheJobSettingsAndOneLinePerConsumer) {
  QueueStat s = sample_stat();
  s.dead_letter = "jobs.dead";
  s.lease_ms = 30000;
  s.leased = 2;
  s.consumers = {{3, 9, 1234, 0, false, true, 16, 2}, {4, 9, 1234, 7, true, false, 0, 0}};
  auto text = stat_text(s);
  EXPECT_NE(text.find("max_deliveries      unlimited\n"), std::string::npos) << text;
  EXPECT_NE(text.find("dead_letter         jobs.dead\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ttl_ms              none\n"), std::string::npos) << text;
  EXPECT_NE(text.find("leased              2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("consumers           2\n"
                      "  consumer 3: pid 1234, connection 9, type 0, ack, prefetch 16, unacked 2\n"
                      "  consumer 4: pid 1234, connection 9, type 7 except, auto-ack\n"),
            std::string::npos)
      << text;
}

TEST(StatText, ShowsModeInOctalAndNeverForZeroTimes) {
  auto text = stat_text(sample_stat());
  EXPECT_NE(text.find("mode                0640\n"), std::string::npos) << text;
  EXPECT_NE(text.find("last_send           never (pid none)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("depth_per_priority  0:1 9:1\n"), std::string::npos) << text;
}

TEST(ListOutput, JsonAndAlignedTable) {
  std::vector<QueueSummary> queues = {{"jobs", 2, 4, 0}, {"a-much-longer-name", 12345, 0, 3}};
  EXPECT_EQ(json::parse(list_json(queues)),
            json::parse(R"({"queues":[{"name":"jobs","depth":2,"bytes":4,"bindings":0},)"
                        R"({"name":"a-much-longer-name","depth":12345,"bytes":0,"bindings":3}]})"));
  EXPECT_EQ(list_text(queues),
            "NAME                DEPTH  BYTES  BINDINGS\n"
            "jobs                    2  4      0\n"
            "a-much-longer-name  12345  0      3\n");
  EXPECT_EQ(list_text({}), "NAME  DEPTH  BYTES  BINDINGS\n");
}

TEST(ListOutput, AVersionOneBrokerHasNoBindingsColumn) {
  std::vector<QueueSummary> queues = {{"jobs", 2, 4, 0}};
  EXPECT_EQ(json::parse(list_json(queues, /*jobs=*/false)),
            json::parse(R"({"queues":[{"name":"jobs","depth":2,"bytes":4}]})"));
  EXPECT_EQ(list_text(queues, false),
            "NAME  DEPTH  BYTES\n"
            "jobs      2  4\n");
}

TEST(DeclareOutput, SaysWhetherTheQueueWasCreated) {
  DeclareResult r{true, sample_stat()};
  EXPECT_EQ(declare_text(r), "queue 'jobs' created");
  r.created = false;
  EXPECT_EQ(declare_text(r), "queue 'jobs' exists");
  auto j = json::parse(declare_json(r));
  EXPECT_EQ(j["created"], false);
  EXPECT_EQ(j["queue"]["name"], "jobs");
}

TEST(FailureText, PrefersTheBrokersMessage) {
  EXPECT_EQ(failure_text(Errc::queue_full, "queue 'jobs' is full (max_messages 3)", "jobs"),
            "queue 'jobs' is full (max_messages 3)");
}

TEST(FailureText, NamesTheQueueWhenTheBrokerSentNoMessage) {
  struct Case {
    Errc code;
    const char* text;
  };
  const Case cases[] = {
      {Errc::queue_full, "queue 'jobs' is full"},
      {Errc::no_such_queue, "no such queue 'jobs'"},
      {Errc::no_message, "no message in queue 'jobs'"},
      {Errc::queue_exists, "queue 'jobs' already exists"},
      {Errc::permission_denied, "permission denied on queue 'jobs'"},
      {Errc::too_big, "message too big for queue 'jobs'"},
      {Errc::internal_error, "internal broker error"},
  };
  for (const auto& c : cases) EXPECT_EQ(failure_text(c.code, "", "jobs"), c.text);
  EXPECT_EQ(failure_text(Error(Errc::queue_full, ""), "jobs"), "queue 'jobs' is full");
  EXPECT_EQ(failure_text(Error(Errc::queue_full, "full!"), "jobs"), "full!");
}

}  // namespace
}  // namespace postbox::cli
