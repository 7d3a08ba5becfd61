// Durable queues in libpostbox and the CLI without a broker: the DECLARE key, the STAT, LIST and
// STATUS keys read from replies, their text and --json forms, --durable and `postbox status`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_args.hpp"
#include "client/admin_json.hpp"
#include "client/cli/exit_status.hpp"
#include "client/cli/output.hpp"
#include "postbox/error.hpp"

namespace postbox {
namespace {

using nlohmann::json;

// A STAT reply with the keys the decoder requires and the durable ones.
json stat_reply() {
  return json::parse(
      R"({"name": "jobs", "depth": 2, "bytes": 4, "max_messages": 1000, "max_bytes": 268435456,
 "max_message_size": 1048576, "mode": 384, "overflow": "reject", "owner_uid": 1000,
 "owner_gid": 1000, "created_ns": 1700000000000000000, "last_send_pid": 1234,
 "last_send_ns": 1700000001000000000, "last_receive_pid": 0, "last_receive_ns": 0,
 "sent_total": 2, "received_total": 0, "dropped_total": 0, "purged_total": 0,
 "blocked_senders": 0, "blocked_receivers": 0, "depth_per_priority": {"0": 2},
 "durable": true, "log_bytes": 172, "log_share": 0.25})");
}

json status_reply() {
  return json::parse(R"({"version": "0.1.0", "pid": 4242, "uptime_ms": 93784005,
 "connections": 3, "queues": 5, "durable_queues": 2,
 "log": {"data_dir": "/var/lib/postbox", "fsync": "interval", "fsync_interval_ms": 1000,
         "segment_size": 67108864, "disk_free_limit": 67108864, "free_bytes": 5000000000,
         "bytes": 8192, "segments": 2, "live_bytes": 4096,
         "records_total": 40, "writes_total": 30, "syncs_total": 20,
         "recovered_messages": 7, "recovery_ms": 3, "state": "ok", "error": ""}})");
}

void expect_protocol_error(const std::function<void()>& f, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "no error for " << what;
  } catch (const Error& e) {
    EXPECT_EQ(e.errc(), Errc::protocol_error) << what;
  }
}

TEST(DurableJson, DeclareSendsDurableOnlyWhenAskedAndNeedsVersion2) {
  QueueOptions o;
  EXPECT_FALSE(json::parse(detail::declare_request("jobs", o)).contains("durable"));
  o.durable = true;
  EXPECT_EQ(json::parse(detail::declare_request("jobs", o)),
            json({{"queue", "jobs"}, {"durable", true}}));
  EXPECT_TRUE(detail::declare_needs_jobs(o));
}

TEST(DurableJson, StatReadsDurableLogBytesAndShare) {
  const QueueStat s = detail::parse_stat_reply(stat_reply().dump());
  EXPECT_TRUE(s.durable);
  EXPECT_EQ(s.log_bytes, 172u);
  EXPECT_DOUBLE_EQ(s.log_share, 0.25);
  // An integer share (the empty log's 0, or a lone queue's 1) is a number too.
  json whole = stat_reply();
  whole["log_share"] = 1;
  EXPECT_DOUBLE_EQ(detail::parse_stat_reply(whole.dump()).log_share, 1.0);
}

TEST(DurableJson, StatOfABrokerWithoutALogIsNotDurable) {
  json old = stat_reply();
  for (const char* key : {"durable", "log_bytes", "log_share"}) old.erase(key);
  const QueueStat s = detail::parse_stat_reply(old.dump());
  EXPECT_FALSE(s.durable);
  EXPECT_EQ(s.log_bytes, 0u);
  EXPECT_EQ(s.log_share, 0.0);
}

TEST(DurableJson, MistypedDurableKeysAreProtocolErrors) {
  const std::pair<const char*, json> bad[] = {
      {"durable", "yes"}, {"log_bytes", -1}, {"log_share", "half"}, {"log_share", 1.5}};
  for (const auto& [key, value] : bad) {
    json j = stat_reply();
    j[key] = value;
    expect_protocol_error([&] { detail::parse_stat_reply(j.dump()); }, j.dump());
  }
}

TEST(DurableJson, ListRowsAreMarkedDurableAndTheLogSizeIsKept) {
  const QueueList l = detail::parse_queue_list_reply(
      R"({"queues": [{"name": "a", "depth": 1, "bytes": 2, "bindings": 0, "durable": true},
                     {"name": "b", "depth": 0, "bytes": 0, "bindings": 1, "durable": false}],
          "log": {"bytes": 8192, "segments": 2}})");
  ASSERT_EQ(l.queues.size(), 2u);
  EXPECT_TRUE(l.queues[0].durable);
  EXPECT_FALSE(l.queues[1].durable);
  ASSERT_TRUE(l.log);
  EXPECT_EQ(*l.log, (LogSize{8192, 2}));
  // list() keeps its rows, durable included.
  EXPECT_TRUE(detail::parse_list_reply(R"({"queues": [{"name": "a", "depth": 1, "bytes": 2,
      "durable": true}], "log": {"bytes": 1, "segments": 1}})")[0]
                  .durable);
}

TEST(DurableJson, ListWithoutALogHasNone) {
  const QueueList l =
      detail::parse_queue_list_reply(R"({"queues": [{"name": "a", "depth": 1, "bytes": 2}]})");
  EXPECT_FALSE(l.log);
  EXPECT_FALSE(l.queues.at(0).durable);
  expect_protocol_error([] { detail::parse_queue_list_reply(R"({"queues": [], "log": 5})"); },
                        "log not an object");
  expect_protocol_error(
      [] { detail::parse_queue_list_reply(R"({"queues": [], "log": {"bytes": 1}})"); },
      "log without segments");
}

TEST(DurableJson, StatusReadsEveryKey) {
  EXPECT_EQ(detail::status_request(), "{}");
  const BrokerStatus s = detail::parse_status_reply(status_reply().dump());
  EXPECT_EQ(s.version, "0.1.0");
  EXPECT_EQ(s.pid, 4242u);
  EXPECT_EQ(s.uptime_ms, 93784005u);
  EXPECT_EQ(s.connections, 3u);
  EXPECT_EQ(s.queues, 5u);
  EXPECT_EQ(s.durable_queues, 2u);
  const LogStatus& l = s.log;
  EXPECT_EQ(l.data_dir, "/var/lib/postbox");
  EXPECT_EQ(l.fsync, "interval");
  EXPECT_EQ(l.fsync_interval_ms, 1000u);
  EXPECT_EQ(l.segment_size, 67108864u);
  EXPECT_EQ(l.disk_free_limit, 67108864u);
  EXPECT_EQ(l.free_bytes, 5000000000u);
  EXPECT_EQ(l.bytes, 8192u);
  EXPECT_EQ(l.segments, 2u);
  EXPECT_EQ(l.live_bytes, 4096u);
  EXPECT_EQ(l.records_total, 40u);
  EXPECT_EQ(l.writes_total, 30u);
  EXPECT_EQ(l.syncs_total, 20u);
  EXPECT_EQ(l.recovered_messages, 7u);
  EXPECT_EQ(l.recovery_ms, 3u);
  EXPECT_EQ(l.state, "ok");
  EXPECT_EQ(l.error, "");
}

TEST(DurableJson, StatusNeedsEveryKeyWithItsType) {
  // STATUS came with the log: a reply without one of its keys is malformed.
  for (const char* key :
       {"version", "pid", "uptime_ms", "connections", "queues", "durable_queues", "log"}) {
    json j = status_reply();
    j.erase(key);
    expect_protocol_error([&] { detail::parse_status_reply(j.dump()); }, key);
  }
  const json reply = status_reply();  // a temporary's member would die before the loop
  for (const auto& [key, value] : reply["log"].items()) {
    json j = status_reply();
    j["log"].erase(key);
    expect_protocol_error([&] { detail::parse_status_reply(j.dump()); }, "log." + key);
    j = status_reply();
    j["log"][key] = value.is_string() ? json(1) : json("x");
    expect_protocol_error([&] { detail::parse_status_reply(j.dump()); }, "mistyped log." + key);
  }
  json extra = status_reply();
  extra["log"]["added_later"] = 1;
  EXPECT_EQ(detail::parse_status_reply(extra.dump()).log.syncs_total, 20u);
}

TEST(StorageError, IsCodeFourteenWithItsOwnExitStatus) {
  EXPECT_EQ(static_cast<int>(Errc::storage_error), 14);
  EXPECT_EQ(to_string(Errc::storage_error), "storage_error");
  EXPECT_EQ(cli::exit_status(Errc::storage_error), 11);
  EXPECT_EQ(cli::kExitStorage, 11);
}

// --- CLI output ---------------------------------------------------------------

QueueStat durable_stat() {
  return detail::parse_stat_reply(stat_reply().dump());
}

TEST(DurableOutput, StatJsonHasTheWireKeys) {
  const json j = json::parse(cli::stat_json(durable_stat()));
  EXPECT_EQ(j["durable"], true);
  EXPECT_EQ(j["log_bytes"], 172);
  EXPECT_DOUBLE_EQ(j["log_share"].get<double>(), 0.25);
  // A version 1 broker has no log either.
  EXPECT_FALSE(json::parse(cli::stat_json(durable_stat(), false)).contains("durable"));
}

TEST(DurableOutput, StatTextShowsDurableAndTheShareInPercent) {
  const std::string text = cli::stat_text(durable_stat());
  EXPECT_NE(text.find("durable             yes\n"), std::string::npos) << text;
  EXPECT_NE(text.find("log_bytes           172\n"), std::string::npos) << text;
  EXPECT_NE(text.find("log_share           25.0%\n"), std::string::npos) << text;
  QueueStat plain = durable_stat();
  plain.durable = false;
  EXPECT_NE(cli::stat_text(plain).find("durable             no\n"), std::string::npos);
}

QueueList sample_list() {
  QueueList l;
  l.queues = {{"jobs", 2, 4, 0, true}, {"a-much-longer-name", 12345, 0, 3, false}};
  l.log = LogSize{8192, 2};
  return l;
}

TEST(DurableOutput, ListMarksDurableQueuesAndEndsWithTheLogSize) {
  EXPECT_EQ(cli::queue_list_text(sample_list()),
            "NAME                DEPTH  BYTES  BINDINGS  DURABLE\n"
            "jobs                    2  4      0         yes\n"
            "a-much-longer-name  12345  0      3         no\n"
            "log  8192 bytes in 2 segments\n");
  QueueList one_segment;
  one_segment.log = LogSize{1, 1};
  EXPECT_EQ(cli::queue_list_text(one_segment),
            "NAME  DEPTH  BYTES  BINDINGS  DURABLE\n"
            "log  1 byte in 1 segment\n");
}

TEST(DurableOutput, ListJsonPassesDurableAndTheLogThrough) {
  EXPECT_EQ(json::parse(cli::queue_list_json(sample_list())),
            json::parse(R"({"queues":[)"
                        R"({"name":"jobs","depth":2,"bytes":4,"bindings":0,"durable":true},)"
                        R"({"name":"a-much-longer-name","depth":12345,"bytes":0,"bindings":3,)"
                        R"("durable":false}],"log":{"bytes":8192,"segments":2}})"));
}

TEST(DurableOutput, ListOfABrokerWithoutALogLooksAsBefore) {
  QueueList l = sample_list();
  l.log.reset();
  EXPECT_EQ(cli::queue_list_text(l), cli::list_text(l.queues));
  EXPECT_EQ(cli::queue_list_json(l), cli::list_json(l.queues));
}

TEST(DurableOutput, StatusJsonRoundTripsTheReply) {
  const BrokerStatus s = detail::parse_status_reply(status_reply().dump());
  EXPECT_EQ(json::parse(cli::status_json(s)), status_reply());
}

TEST(DurableOutput, StatusTextNamesEverything) {
  BrokerStatus s = detail::parse_status_reply(status_reply().dump());
  std::string text = cli::status_text(s);
  for (const char* line :
       {"version             0.1.0\n", "pid                 4242\n",
        "uptime              1d 02h 03m 04.005s\n", "connections         3\n",
        "queues              5\n", "durable_queues      2\n",
        "data_dir            /var/lib/postbox\n", "fsync               interval (every 1000 ms)\n",
        "segment_size        67108864\n", "disk_free           5000000000 bytes (limit 67108864)\n",
        "log_bytes           8192\n", "log_segments        2\n", "live_bytes          4096\n",
        "records_total       40\n", "writes_total        30\n", "syncs_total         20\n",
        "recovered           7 messages in 3 ms\n", "state               ok\n",
        "error               none\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  s.uptime_ms = 4005;
  s.log.fsync = "always";
  s.log.state = "failing";
  s.log.error = "durable log: cannot write /d/segment-1.wal: No space left on device";
  text = cli::status_text(s);
  EXPECT_NE(text.find("uptime              4.005s\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fsync               always\n"), std::string::npos) << text;
  EXPECT_NE(text.find("state               failing\n"
                      "error               durable log: cannot write /d/segment-1.wal: No space "
                      "left on device\n"),
            std::string::npos)
      << text;
}

// --- CLI parsing ----------------------------------------------------------------

TEST(DurableArgs, DeclareTakesDurable) {
  EXPECT_TRUE(cli::testing::parse_ok({"declare", "q", "--durable"}).declare.durable);
  EXPECT_FALSE(cli::testing::parse_ok({"declare", "q"}).declare.durable);
}

TEST(DurableArgs, StatusTakesNoQueue) {
  const cli::Invocation inv = cli::testing::parse_ok({"status", "--json"});
  EXPECT_EQ(inv.command, cli::Command::status);
  EXPECT_TRUE(inv.global.json);
  EXPECT_EQ(cli::testing::parse_args({"status", "q"}).exit_status, cli::kExitUsage);
}

}  // namespace
}  // namespace postbox
