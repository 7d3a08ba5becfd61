// The postbox CLI against a real postboxd with durable queues: declare --durable, what stat, list
// and status show (text and --json), and a message sent with the CLI received after a restart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "postbox/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using nlohmann::json;

// README, "Exit statuses of postbox".
constexpr int kOk = 0, kOther = 1, kStorage = 11;

class DurableCli : public ::testing::Test {
 protected:
  RunResult pb(std::vector<std::string> args) {
    std::vector<std::string> argv{binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  /// Runs a command that must succeed; its stdout.
  std::string ok(std::vector<std::string> args) {
    RunResult r = pb(args);
    EXPECT_EQ(r.status, kOk) << args[0] << ": " << r.err;
    return r.out;
  }
  json ok_json(std::vector<std::string> args) {
    args.push_back("--json");
    return json::parse(ok(std::move(args)));
  }

  TestBroker broker_;
};

TEST_F(DurableCli, DeclareDurableShowsInStatAndList) {
  EXPECT_EQ(ok_json({"declare", "d", "--durable"})["queue"]["durable"], true);
  EXPECT_EQ(ok({"declare", "m"}), "queue 'm' created\n");
  ok({"send", "d", "hello"});

  const json d = ok_json({"stat", "d"});
  EXPECT_EQ(d["durable"], true);
  EXPECT_GT(d["log_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(d["log_share"].get<double>(), 0.0);
  EXPECT_EQ(ok_json({"stat", "m"})["durable"], false);
  const std::string text = ok({"stat", "d"});
  EXPECT_NE(text.find("durable             yes\n"), std::string::npos) << text;
  EXPECT_NE(text.find("log_share           "), std::string::npos) << text;

  const json list = ok_json({"list"});
  ASSERT_EQ(list["queues"].size(), 2u);
  for (const json& q : list["queues"]) EXPECT_EQ(q["durable"], q["name"] == "d") << q;
  EXPECT_GT(list["log"]["bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(list["log"]["segments"].get<uint64_t>(), 1u);
  const std::string table = ok({"list"});
  EXPECT_EQ(table.rfind("NAME  DEPTH  BYTES  BINDINGS  DURABLE\n", 0), 0u) << table;
  EXPECT_NE(table.find("\nd         1  5      0         yes\n"), std::string::npos) << table;
  EXPECT_NE(table.find("\nm         0  0      0         no\n"), std::string::npos) << table;
  EXPECT_NE(
      table.find("\nlog  " + std::to_string(list["log"]["bytes"].get<uint64_t>()) + " bytes in "),
      std::string::npos)
      << table;
}

TEST_F(DurableCli, StatusJsonHasEveryKey) {
  ok({"declare", "d", "--durable"});
  const json s = ok_json({"status"});
  for (const char* key :
       {"version", "pid", "uptime_ms", "connections", "queues", "durable_queues", "log"})
    EXPECT_TRUE(s.contains(key)) << key;
  for (const char* key :
       {"data_dir", "fsync", "fsync_interval_ms", "segment_size", "disk_free_limit", "free_bytes",
        "bytes", "segments", "live_bytes", "records_total", "writes_total", "syncs_total",
        "recovered_messages", "recovery_ms", "state", "error"})
    EXPECT_TRUE(s["log"].contains(key)) << key;
  EXPECT_EQ(s["pid"], broker_.pid());
  EXPECT_EQ(s["durable_queues"], 1);
  EXPECT_EQ(s["log"]["data_dir"], broker_.data_dir());
  EXPECT_EQ(s["log"]["state"], "ok");
}

TEST_F(DurableCli, StatusTextShowsTheLog) {
  const std::string text = ok({"status"});
  for (const std::string& line :
       {"pid                 " + std::to_string(broker_.pid()) + "\n",
        "data_dir            " + broker_.data_dir() + "\n",
        std::string("fsync               always\n"), std::string("state               ok\n"),
        std::string("error               none\n")})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  for (const char* key : {"version ", "uptime ", "connections ", "durable_queues ", "log_bytes ",
                          "log_segments ", "live_bytes ", "syncs_total ", "recovered "})
    EXPECT_NE(("\n" + text).find(std::string("\n") + key), std::string::npos) << key << text;
}

TEST_F(DurableCli, DurabilityCannotChangeOnAnExistingQueue) {
  ok({"declare", "m"});
  RunResult r = pb({"declare", "m", "--durable"});
  EXPECT_EQ(r.status, kOther);
  EXPECT_NE(r.err.find("durab"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(DurableCli, AMessageSentWithTheCliIsReceivedAfterARestart) {
  ok({"declare", "d", "--durable"});
  ok({"send", "d", "survives", "--type", "3", "--header", "a=b"});
  ok({"declare", "m"});
  ASSERT_EQ(broker_.stop(SIGTERM), 0) << broker_.log();
  broker_.restart();

  const json m = ok_json({"recv", "d", "--nowait"});
  EXPECT_EQ(m["payload"], "survives");
  EXPECT_EQ(m["type"], 3);
  EXPECT_EQ(m["properties"]["headers"], json({{"a", "b"}}));
  EXPECT_EQ(ok_json({"list"})["queues"].size(), 1u);  // m was not durable
  EXPECT_EQ(ok_json({"status"})["log"]["recovered_messages"], 1);
}

// A log that cannot be written: the CLI's durable requests fail with status 11 and the
// broker's one-line reason, status shows the log failing, and a non-durable queue still works.
TEST_F(DurableCli, WriteErrorsOfTheLogAreExitStatus11) {
  constexpr char kStrace[] = "/usr/bin/strace";
  if (::access(kStrace, X_OK) != 0) GTEST_SKIP() << kStrace << " is missing (install-deps.sh)";
  ok({"declare", "d", "--durable"});
  // From the 50th write of the log on, every one fails with ENOSPC (the first ones open the
  // fresh segment and take the first sends).
  ASSERT_EQ(broker_.kill(), 128 + SIGKILL);
  broker_.restart({.wrapper = {kStrace, "-f", "-qq", "-o", "/dev/null", "-e",
                               "inject=pwrite64:error=ENOSPC:when=50+"}});
  ok({"declare", "m"});

  // One send at a time until one is held: the broker keeps a send whose write failed until a
  // retry succeeds, so this thread ends when the broker is killed below.
  std::thread producer([socket = broker_.socket()] {
    try {
      Client c(socket);
      for (int i = 0;; ++i) c.send("d", "message " + std::to_string(i));
    } catch (const Error&) {
    }
  });
  const bool failing = eventually([&] {
    RunResult r = pb({"status", "--json"});
    return r.status == kOk && json::parse(r.out)["log"]["state"] == "failing";
  });
  EXPECT_TRUE(failing) << broker_.log();
  if (failing) {
    RunOptions bounded;
    bounded.limit = std::chrono::seconds(10);  // a held send would hang: 137 instead
    std::vector<std::string> send{
        binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket(), "send", "d", "refused"};
    RunResult r = run(send, bounded);
    EXPECT_EQ(r.status, kStorage) << r.err;
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(pb({"declare", "d2", "--durable"}).status, kStorage);

    const std::string text = ok({"status"});
    EXPECT_NE(text.find("state               failing\n"), std::string::npos) << text;
    EXPECT_NE(text.find("No space left on device\n"), std::string::npos) << text;
    ok({"send", "m", "in memory"});
    EXPECT_EQ(ok({"recv", "m", "--nowait"}), "in memory\n");
  }
  broker_.kill();
  producer.join();
}

}  // namespace
}  // namespace postbox::testing
