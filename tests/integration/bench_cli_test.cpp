// `postbox bench` against a real postboxd: every mode and transport completes and reports, bad
// flags fail clearly.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "postbox/client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using nlohmann::json;

constexpr int kOk = 0, kOther = 1, kUsage = 2;

class BenchCli : public ::testing::Test {
 protected:
  RunResult bench(std::vector<std::string> args) {
    std::vector<std::string> argv{binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket(),
                                  "bench"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  json bench_json(std::vector<std::string> args) {
    args.push_back("--json");
    RunResult r = bench(std::move(args));
    EXPECT_EQ(r.status, kOk) << r.err;
    return json::parse(r.out);
  }
  /// The queues left on the broker, as `postbox list --json` shows them.
  json queues() {
    RunResult r =
        run({binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket(), "list", "--json"});
    EXPECT_EQ(r.status, kOk) << r.err;
    return json::parse(r.out)["queues"];
  }
  /// A queue's counters, read with the library (they say what the consumers did).
  QueueStat stat(const std::string& queue) {
    Client c(broker_.socket());
    return c.stat(queue);
  }
  void declare(const std::string& queue) {
    ASSERT_EQ(run({binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket(), "declare", queue})
                  .status,
              kOk);
  }

  TestBroker broker_;
};

TEST_F(BenchCli, ThroughputReceivesEveryMessageAndLeavesNoQueue) {
  const json sut = bench_json({"--count", "20000", "--batch", "16", "--pipeline", "4"});
  EXPECT_EQ(sut["transport"], "postbox");
  EXPECT_EQ(sut["mode"], "throughput");
  EXPECT_EQ(sut["count"], 20000);
  EXPECT_GT(sut["msgs_per_s"].get<double>(), 0);
  EXPECT_LE(sut["latency_us"]["p50"].get<double>(), sut["latency_us"]["p999"].get<double>());
  EXPECT_TRUE(queues().empty());
}

TEST_F(BenchCli, SeveralProducersAndConsumersAllStop) {
  const json sut = bench_json({"--count", "30001", "--producers", "3", "--consumers", "3"});
  EXPECT_EQ(sut["producers"], 3);
  EXPECT_EQ(sut["consumers"], 3);
  EXPECT_TRUE(queues().empty());
}

TEST_F(BenchCli, UnpipelinedThroughputCompletes) {
  const json sut = bench_json({"--count", "2000", "--batch", "1", "--pipeline", "1"});
  EXPECT_EQ(sut["batch"], 1);
  EXPECT_EQ(sut["pipeline"], 1);
}

TEST_F(BenchCli, EveryConsumeModeTakesEveryMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string consume;
    bool ack;
  };
  const Case cases[] = {
      {{"--consume", "receive"}, "receive", false},
      {{"--consume", "receive", "--ack"}, "receive", true},
      {{"--consume", "push"}, "push", false},
      {{"--consume", "push", "--ack"}, "push", true},
      {{"--consume", "batch", "--ack"}, "batch", true},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--count", "3000"});
    const json sut = bench_json(args);
    EXPECT_EQ(sut["consume"], c.consume) << sut;
    EXPECT_EQ(sut["ack"], c.ack) << sut;
    EXPECT_EQ(sut["count"], 3000) << sut;
    EXPECT_GT(sut["msgs_per_s"].get<double>(), 0) << sut;
    EXPECT_EQ(sut.contains("prefetch"), c.consume == "push" && c.ack) << sut;
  }
  EXPECT_TRUE(queues().empty());
}

TEST_F(BenchCli, AckingConsumersAckEachMessageOnceAndLeaveNothingLeased) {
  declare("mine");
  const std::vector<std::string> setups[] = {
      {"--consume", "receive", "--ack", "--consumers", "2"},
      {"--consume", "push", "--ack", "--consumers", "3", "--prefetch", "16"},
      {"--consume", "push", "--ack", "--prefetch", "1"},
      {"--consume", "batch", "--ack", "--consumers", "2"},
  };
  for (const auto& setup : setups) {
    const QueueStat before = stat("mine");
    std::vector<std::string> args = setup;
    args.insert(args.end(), {"--queue", "mine", "--count", "4001"});
    bench_json(args);
    const QueueStat after = stat("mine");
    // End markers are not acked (they go back, are redelivered and drained),
    // so the acks are exactly the data messages.
    EXPECT_EQ(after.acked_total - before.acked_total, 4001u) << args[1];
    EXPECT_EQ(after.leased, 0u) << args[1];
    EXPECT_EQ(after.depth, 0u) << args[1];  // the end markers were taken back too
  }
}

TEST_F(BenchCli, PushConsumersWithoutAckTakeEveryMessageOnce) {
  declare("mine");
  bench_json({"--queue", "mine", "--consume", "push", "--consumers", "3", "--count", "6001"});
  const QueueStat after = stat("mine");
  EXPECT_EQ(after.received_total, 6001u);  // no end markers: push consumers watch the count
  EXPECT_EQ(after.depth, 0u);
}

// Every subscriber receives every publication (the bench fails otherwise), and
// their temporary queues leave with them.
TEST_F(BenchCli, FanOutDeliversEveryPublicationToEverySubscriber) {
  for (const std::vector<std::string>& setup :
       {std::vector<std::string>{"--subscribers", "3"},
        std::vector<std::string>{"--subscribers", "2", "--ack", "--producers", "2"}}) {
    std::vector<std::string> args = setup;
    args.insert(args.end(), {"--count", "3001"});
    const json sut = bench_json(args);
    EXPECT_EQ(sut["subscribers"], std::stoi(setup[1])) << sut;
    EXPECT_GT(sut["publications_per_s"].get<double>(), 0) << sut;
    EXPECT_NEAR(sut["deliveries_per_s"].get<double>(),
                sut["publications_per_s"].get<double>() * std::stoi(setup[1]), 1.0)
        << sut;
  }
  EXPECT_TRUE(queues().empty());
}

TEST_F(BenchCli, PingPongReportsRoundTrips) {
  const json sut = bench_json({"--mode", "pingpong", "--count", "500"});
  EXPECT_GT(sut["round_trips_per_s"].get<double>(), 0);
  EXPECT_GT(sut["rtt_us"]["p50"].get<double>(), 0);
  EXPECT_TRUE(queues().empty());
}

TEST_F(BenchCli, SysvTransportRunsBothModes) {
  EXPECT_EQ(
      bench_json({"--transport", "sysv", "--count", "20000", "--consumers", "2"})["transport"],
      "sysv");
  EXPECT_EQ(bench_json({"--transport", "sysv", "--mode", "pingpong", "--count", "500"})["mode"],
            "pingpong");
}

TEST_F(BenchCli, NamedExistingQueueIsKeptAndLeftEmpty) {
  declare("mine");
  bench_json({"--queue", "mine", "--count", "5000", "--consumers", "2"});
  const json left = queues();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["name"], "mine");
  EXPECT_EQ(left[0]["depth"], 0);  // the end markers were taken back
}

TEST_F(BenchCli, SendsOnlyCountsAcknowledgedSendsAndLeavesNothingQueued) {
  const json sut = bench_json({"--consumers", "0", "--producers", "2", "--count", "3001", "--batch",
                               "1", "--pipeline", "1"});
  EXPECT_EQ(sut["consumers"], 0);
  EXPECT_EQ(sut["durable"], false);
  EXPECT_FALSE(sut.contains("fsyncs_per_send"));
  EXPECT_GT(sut["msgs_per_s"].get<double>(), 0);
  EXPECT_GT(sut["latency_us"]["p50"].get<double>(), 0);  // send to acknowledgement
  EXPECT_TRUE(queues().empty());

  declare("mine");  // a queue of the user's is emptied after the run
  bench_json({"--queue", "mine", "--consumers", "0", "--count", "500"});
  EXPECT_EQ(queues().at(0)["depth"], 0);
}

TEST_F(BenchCli, DurableRunReportsFsyncsPerAcknowledgedSend) {
  // fsync always (the broker's default): every send is acknowledged after a
  // sync, and a sync covers the sends that arrived meanwhile, so there is at
  // most about one per send (plus the consumer's removals when one runs).
  const json sut = bench_json({"--durable", "--consumers", "0", "--producers", "4", "--count",
                               "400", "--batch", "1", "--pipeline", "1"});
  EXPECT_EQ(sut["durable"], true);
  EXPECT_EQ(sut["acked_sends"], 400);
  EXPECT_GT(sut["fsyncs"].get<uint64_t>(), 0u);
  EXPECT_GT(sut["fsyncs_per_send"].get<double>(), 0.0);
  EXPECT_LE(sut["fsyncs_per_send"].get<double>(), 1.1);
  EXPECT_EQ(sut["log_state"], "ok");
  EXPECT_EQ(sut["log_error"], "");
  EXPECT_TRUE(queues().empty());

  const json drained = bench_json({"--durable", "--count", "2000"});
  EXPECT_EQ(drained["consumers"], 1);
  EXPECT_GT(drained["fsyncs"].get<uint64_t>(), 0u);
  EXPECT_TRUE(queues().empty());

  RunResult r = bench({"--durable", "--consumers", "0", "--count", "100"});
  ASSERT_EQ(r.status, kOk) << r.err;
  EXPECT_NE(r.out.find("64 B x 100  durable  batch 64 pipeline 8  1 producer / no consumers:"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" acked sends/s "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" fsyncs/send ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("), log ok"), std::string::npos) << r.out;
}

// --connections: every connection of every producer process sends its share,
// and the consumers take them all.
TEST_F(BenchCli, ConnectionsPerProducerSendEveryMessage) {
  declare("mine");
  const QueueStat before = stat("mine");
  const json sut = bench_json({"--queue", "mine", "--producers", "2", "--connections", "5",
                               "--count", "4001", "--batch", "3", "--pipeline", "2"});
  EXPECT_EQ(sut["producers"], 2);
  EXPECT_EQ(sut["connections"], 5);
  const QueueStat after = stat("mine");
  // One consumer stops at the count (no end markers): nothing more was sent.
  EXPECT_EQ(after.received_total - before.received_total, 4001u);
  EXPECT_EQ(after.depth, 0u);

  // Sends only on a durable queue: each connection is a producer the group
  // commit serves, so a sync covers several of them.
  const json durable = bench_json({"--durable", "--consumers", "0", "--connections", "8", "--count",
                                   "800", "--batch", "1", "--pipeline", "1"});
  EXPECT_EQ(durable["acked_sends"], 800);
  EXPECT_GT(durable["fsyncs"].get<uint64_t>(), 0u);
  EXPECT_LE(durable["fsyncs_per_send"].get<double>(), 1.1);
  EXPECT_EQ(durable["log_state"], "ok");

  RunResult r = bench({"--consumers", "0", "--connections", "3", "--count", "300"});
  ASSERT_EQ(r.status, kOk) << r.err;
  EXPECT_NE(r.out.find("1 producer x 3 connections / no consumers:"), std::string::npos) << r.out;
  EXPECT_TRUE(queues().size() == 1u && queues().at(0)["depth"] == 0) << queues();
}

TEST_F(BenchCli, DurableRunsNeedADurableQueueAndDurableQueuesADurableRun) {
  declare("plain");
  RunResult r = bench({"--durable", "--queue", "plain", "--count", "100"});
  EXPECT_EQ(r.status, kOther);
  EXPECT_NE(r.err.find("'plain'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not durable"), std::string::npos) << r.err;

  ASSERT_EQ(run({binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket(), "declare", "kept",
                 "--durable"})
                .status,
            kOk);
  r = bench({"--queue", "kept", "--count", "100"});
  EXPECT_EQ(r.status, kOther);
  EXPECT_NE(r.err.find("queue 'kept' is durable: add --durable"), std::string::npos) << r.err;
  EXPECT_EQ(bench_json({"--durable", "--queue", "kept", "--count", "100"})["durable"], true);
}

TEST_F(BenchCli, TextOutputIsOneLineNamingTheSetup) {
  RunResult r = bench({"--count", "1000"});
  ASSERT_EQ(r.status, kOk) << r.err;
  EXPECT_NE(
      r.out.find("postbox  throughput  64 B x 1000  batch 64 pipeline 8  1 producer / 1 consumer:"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" msgs/s "), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);

  r = bench({"--count", "1000", "--consume", "push", "--ack", "--prefetch", "32"});
  ASSERT_EQ(r.status, kOk) << r.err;
  EXPECT_NE(r.out.find("batch 64 pipeline 8  consume push ack prefetch 32  1 producer"),
            std::string::npos)
      << r.out;
}

TEST_F(BenchCli, BadFlagsAreUsageErrorsNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  const Case cases[] = {
      {{"--size", "4"}, "--size"},
      {{"--mode", "fast"}, "--mode"},
      {{"--transport", "tcp"}, "--transport"},
      {{"--count", "0"}, "--count"},
      {{"--mode", "pingpong", "--pipeline", "4"}, "--pipeline"},
      {{"--transport", "sysv", "--batch", "4"}, "--batch"},
      {{"--consume", "pull"}, "--consume"},
      {{"--consume", "push", "--prefetch", "8"}, "--prefetch"},  // credit needs --ack
      {{"--consume", "receive", "--ack", "--prefetch", "8"}, "--prefetch"},
      {{"--consume", "push", "--ack", "--prefetch", "0"}, "--prefetch"},
      {{"--mode", "pingpong", "--ack"}, "--ack"},
      {{"--transport", "sysv", "--consume", "push"}, "--consume"},
      {{"--subscribers", "0"}, "--subscribers"},
      {{"--subscribers", "2", "--consumers", "2"}, "--consumers"},
      {{"--subscribers", "2", "--consume", "batch"}, "--consume"},
      {{"--mode", "pingpong", "--subscribers", "2"}, "--subscribers"},
      {{"--durable", "--subscribers", "2"}, "--durable"},
      {{"--transport", "sysv", "--durable"}, "--durable"},
      {{"--consumers", "0", "--consume", "push"}, "--consume"},
      {{"--consumers", "0", "--ack"}, "--ack"},
      {{"--transport", "sysv", "--consumers", "0"}, "--consumers"},
      {{"--mode", "pingpong", "--consumers", "0"}, "--consumers"},
      {{"--consumers", "0", "--size", "1000000", "--count", "1000"}, "--consumers 0"},
      {{"--connections", "0"}, "--connections"},
      {{"--connections", "257"}, "--connections"},
      {{"--mode", "pingpong", "--connections", "2"}, "--connections"},
      {{"--transport", "sysv", "--connections", "2"}, "--connections"},
      {{"--subscribers", "2", "--connections", "2"}, "--connections"},
  };
  for (const Case& c : cases) {
    RunResult r = bench(c.args);
    EXPECT_EQ(r.status, kUsage) << c.names;
    EXPECT_NE(r.err.find(c.names), std::string::npos) << r.err;
  }
}

TEST_F(BenchCli, LimitsThatCannotBeMetFailBeforeStarting) {
  RunResult r = bench({"--size", "2000000", "--batch", "64"});
  EXPECT_EQ(r.status, kOther);
  EXPECT_NE(r.err.find("frame limit"), std::string::npos) << r.err;
  r = bench({"--transport", "sysv", "--size", "100000"});
  EXPECT_EQ(r.status, kOther);
  EXPECT_NE(r.err.find("msgmax"), std::string::npos) << r.err;
}

TEST_F(BenchCli, StoppedBrokerFailsTheRunWithoutHanging) {
  broker_.stop();
  RunResult r = bench({"--count", "1000"});
  EXPECT_NE(r.status, kOk);
  EXPECT_NE(r.err.find("postbox: bench:"), std::string::npos) << r.err;
}

TEST_F(BenchCli, BrokerDyingMidRunFailsTheRunWithoutHanging) {
  RunResult r;
  std::thread runner([&] {
    RunOptions o;
    o.limit = std::chrono::milliseconds(30'000);  // a hang shows as status 137
    r = run({binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket(), "bench", "--count",
             "100000000", "--batch", "1", "--pipeline", "1"},
            o);
  });
  // The run's queue appearing is the sign that it has started.
  bool started = false;
  for (int i = 0; i < 5000 && !started; ++i) started = !queues().empty();
  broker_.stop(SIGKILL);
  runner.join();
  EXPECT_TRUE(started);
  EXPECT_NE(r.status, kOk);
  EXPECT_NE(r.status, 137) << "the bench hung after the broker died";
  EXPECT_NE(r.err.find("postbox: bench:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace postbox::testing
