// Tests client/admin_json.cpp: request bodies and reply parsing of the admin requests.
#include "client/admin_json.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "postbox/error.hpp"

namespace postbox::detail {
namespace {

using nlohmann::json;

// The stat example of PROTOCOL.md 7.4.
constexpr const char* kStat =
    R"({"name": "jobs", "depth": 2, "bytes": 4, "max_messages": 1000, "max_bytes": 268435456,
 "max_message_size": 1048576, "mode": 384, "overflow": "reject", "owner_uid": 1000,
 "owner_gid": 1000, "created_ns": 1700000000000000000, "last_send_pid": 1234,
 "last_send_ns": 1700000001000000000, "last_receive_pid": 0, "last_receive_ns": 0,
 "sent_total": 2, "received_total": 0, "dropped_total": 0, "purged_total": 0,
 "blocked_senders": 0, "blocked_receivers": 0, "depth_per_priority": {"0": 1, "9": 1}})";

TEST(AdminJson, DeclareRequestHasOnlyTheOptionsSet) {
  EXPECT_EQ(json::parse(declare_request("jobs", {})), json({{"queue", "jobs"}}));
  QueueOptions o;
  o.exclusive = true;
  o.max_messages = 1000;
  o.mode = 0640;
  o.overflow = Overflow::drop_oldest;
  EXPECT_EQ(json::parse(declare_request("jobs", o)),
            json::parse(R"({"queue":"jobs","exclusive":true,"max_messages":1000,"mode":416,)"
                        R"("overflow":"drop-oldest"})"));
}

TEST(AdminJson, DeclareRequestCarriesTheVersion2Keys) {
  QueueOptions o;
  o.max_deliveries = 5;
  o.dead_letter = "jobs.dead";
  o.lease = std::chrono::seconds(30);
  o.ttl = std::chrono::milliseconds(0);
  EXPECT_FALSE(declare_needs_jobs({}));
  EXPECT_TRUE(declare_needs_jobs(o));
  EXPECT_EQ(json::parse(declare_request("jobs", o)),
            json::parse(R"({"queue":"jobs","max_deliveries":5,"dead_letter":"jobs.dead",)"
                        R"("lease_ms":30000,"ttl_ms":0})"));
}

TEST(AdminJson, MoveRequestHasCountAndTypeOnlyWhenSet) {
  EXPECT_EQ(json::parse(move_request("a", "b", {})),
            json::parse(R"({"source":"a","destination":"b"})"));
  EXPECT_EQ(json::parse(move_request("a", "b", {.count = 3, .type = -2})),
            json::parse(R"({"source":"a","destination":"b","count":3,"type":-2})"));
  const MoveResult all = parse_move_reply(R"({"moved": 7, "merged": 1})");
  EXPECT_EQ(all.moved, 7u);
  EXPECT_EQ(all.merged, 1u);
  EXPECT_EQ(all.stopped, "");
  EXPECT_EQ(parse_move_reply(R"({"moved": 2, "merged": 0, "stopped": "queue_full"})").stopped,
            "queue_full");
}

TEST(AdminJson, StatReplyOfAVersion2BrokerParsesTheNewKeysAndConsumers) {
  json j = json::parse(kStat);
  j.update(json::parse(R"({"max_deliveries": 3, "dead_letter": "dlq", "lease_ms": 30000,
    "ttl_ms": 0, "leased": 2, "delayed": 1, "acked_total": 10, "nacked_total": 4,
    "redelivered_total": 4, "lease_expired_total": 1, "expired_total": 2,
    "dead_lettered_total": 3, "discarded_total": 1, "deduplicated_total": 6,
    "moved_in_total": 7, "moved_out_total": 8,
    "consumers": [{"consumer": 3, "connection": 9, "pid": 1234, "type": -5, "except": false,
                   "ack": true, "prefetch": 16, "unacked": 2}]})"));
  QueueStat s = parse_stat_reply(j.dump());
  EXPECT_EQ(s.max_deliveries, 3u);
  EXPECT_EQ(s.dead_letter, "dlq");
  EXPECT_EQ(s.lease_ms, 30000u);
  EXPECT_EQ(s.leased, 2u);
  EXPECT_EQ(s.delayed, 1u);
  EXPECT_EQ(s.acked_total, 10u);
  EXPECT_EQ(s.lease_expired_total, 1u);
  EXPECT_EQ(s.dead_lettered_total, 3u);
  EXPECT_EQ(s.deduplicated_total, 6u);
  EXPECT_EQ(s.moved_out_total, 8u);
  EXPECT_EQ(s.consumers, (std::vector<ConsumerStat>{{3, 9, 1234, -5, false, true, 16, 2}}));
  // A version 1 broker sends none of them.
  QueueStat old = parse_stat_reply(kStat);
  EXPECT_EQ(old.leased, 0u);
  EXPECT_TRUE(old.consumers.empty());
  // Present but mistyped is still malformed.
  j["consumers"][0]["ack"] = 1;
  EXPECT_THROW(parse_stat_reply(j.dump()), Error);
}

TEST(AdminJson, StatReplyOfTheSpecParses) {
  QueueStat s = parse_stat_reply(kStat);
  EXPECT_EQ(s.name, "jobs");
  EXPECT_EQ(s.depth, 2u);
  EXPECT_EQ(s.mode, 0600u);
  EXPECT_EQ(s.overflow, Overflow::reject);
  EXPECT_EQ(s.created_ns, 1700000000000000000u);
  EXPECT_EQ(s.last_send_pid, 1234u);
  EXPECT_EQ(s.depth_per_priority, (std::map<unsigned, uint64_t>{{0, 1}, {9, 1}}));
}

TEST(AdminJson, UnknownReplyKeysAreIgnored) {
  json j = json::parse(kStat);
  j["added_in_a_later_version"] = "x";
  EXPECT_EQ(parse_stat_reply(j.dump()).name, "jobs");
}

TEST(AdminJson, MalformedRepliesAreProtocolErrors) {
  json missing = json::parse(kStat);
  missing.erase("depth");
  json negative = json::parse(kStat);
  negative["depth"] = -1;
  json bad_prio = json::parse(kStat);
  bad_prio["depth_per_priority"] = {{"256", 1}};
  json bad_overflow = json::parse(kStat);
  bad_overflow["overflow"] = "explode";
  for (const std::string& text : {std::string("not json"), std::string("[]"), missing.dump(),
                                  negative.dump(), bad_prio.dump(), bad_overflow.dump()}) {
    try {
      parse_stat_reply(text);
      ADD_FAILURE() << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.errc(), Errc::protocol_error) << text;
    }
  }
}

TEST(AdminJson, DeclareListAndPurgeReplies) {
  auto d = parse_declare_reply(std::string(R"({"created": true, "queue": )") + kStat + "}");
  EXPECT_TRUE(d.created);
  EXPECT_EQ(d.queue.name, "jobs");
  auto l = parse_list_reply(R"({"queues": [{"name": "jobs", "depth": 2, "bytes": 4}]})");
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].name, "jobs");
  EXPECT_EQ(l[0].bytes, 4u);
  EXPECT_EQ(parse_purge_reply(R"({"purged": 3})"), 3u);
  EXPECT_NO_THROW(parse_delete_reply("{}"));
}

}  // namespace
}  // namespace postbox::detail
