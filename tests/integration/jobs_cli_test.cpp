// The postbox CLI's job commands against a real postboxd: recv --ack and settling by tag from
// other processes, send --delay/--ttl/--key, declare's job flags, move, and consume streaming.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/process.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// README, "Exit statuses of postbox".
constexpr int kOk = 0, kUsage = 2, kNoMessage = 3, kNoSuchLease = 10;
/// How long a test waits for an observable condition before it fails.
constexpr auto kBound = std::chrono::seconds(10);

class JobsCli : public ::testing::Test {
 protected:
  std::vector<std::string> argv(std::vector<std::string> args) {
    std::vector<std::string> out{binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket()};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }
  RunResult pb(std::vector<std::string> args) { return run(argv(std::move(args))); }
  /// Runs a command that must succeed; its stdout without the last newline.
  std::string ok(std::vector<std::string> args) {
    RunResult r = pb(args);
    EXPECT_EQ(r.status, kOk) << args[0] << ": " << r.err;
    if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }
  json stat(const std::string& q) { return json::parse(ok({"stat", q, "--json"})); }
  /// recv --ack: the tag and payload of the TAG<tab>PAYLOAD line.
  std::pair<std::string, std::string> lease(const std::string& q,
                                            std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"recv", q, "--ack", "--nowait"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string line = ok(args);
    auto tab = line.find('\t');
    EXPECT_NE(tab, std::string::npos) << line;
    if (tab == std::string::npos) return {};
    return {line.substr(0, tab), line.substr(tab + 1)};
  }
  /// Polls `done` until it holds or kBound passes: the observable condition a
  /// test waits for instead of sleeping.
  static bool eventually(const std::function<bool()>& done) {
    const auto deadline = Clock::now() + kBound;
    while (Clock::now() < deadline)
      if (done()) return true;
    return done();
  }
  pid_t background(std::vector<std::string> args, const std::string& out_file) {
    return spawn(argv(std::move(args)), {}, out_file);
  }
  static int lines_in(const std::string& s) {
    return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
  }

  TestBroker broker_;
};

TEST_F(JobsCli, RecvAckPrintsTheTagAndAckFromAnotherProcessRemovesIt) {
  ok({"declare", "q"});
  ok({"send", "q", "job one"});
  auto [tag, payload] = lease("q");
  EXPECT_EQ(payload, "job one");
  // The lease outlived the recv process (detached).
  EXPECT_EQ(stat("q")["leased"], 1);
  EXPECT_EQ(pb({"recv", "q", "--nowait"}).status, kNoMessage);
  EXPECT_EQ(ok({"ack", tag}), "");
  auto s = stat("q");
  EXPECT_EQ(s["leased"], 0);
  EXPECT_EQ(s["acked_total"], 1);
  RunResult again = pb({"ack", tag});
  EXPECT_EQ(again.status, kNoSuchLease);
  EXPECT_EQ(again.err, "postbox: no lease with tag " + tag +
                           " (expired, settled already, or not yours to settle)\n");
}

TEST_F(JobsCli, RecvAckJsonCarriesTheTag) {
  ok({"declare", "q"});
  ok({"send", "q", "x"});
  auto j = json::parse(ok({"recv", "q", "--ack", "--nowait", "--json"}));
  ASSERT_TRUE(j.contains("tag"));
  EXPECT_EQ(j["tag"], j["delivery_tag"]);
  EXPECT_EQ(j["delivery_count"], 1);
  EXPECT_EQ(json::parse(ok({"ack", std::to_string(j["tag"].get<uint64_t>()), "--json"})),
            json::parse(R"({"settled":1})"));
}

TEST_F(JobsCli, NackWithDelayAndPriorityRedeliversLater) {
  ok({"declare", "q"});
  ok({"send", "q", "retry", "--priority", "1"});
  auto [tag, payload] = lease("q");
  const auto nacked_at = Clock::now();
  ok({"nack", tag, "--delay", "300", "--priority", "4"});
  EXPECT_EQ(pb({"recv", "q", "--nowait"}).status, kNoMessage);
  EXPECT_EQ(stat("q")["delayed"], 1);
  auto j = json::parse(ok({"recv", "q", "--timeout", "10000", "--json"}));
  EXPECT_GE(Clock::now() - nacked_at, std::chrono::milliseconds(300));
  EXPECT_EQ(j["payload"], "retry");
  EXPECT_EQ(j["priority"], 4);
  EXPECT_EQ(j["delivery_count"], 2);
}

TEST_F(JobsCli, TouchKeepsTheLeaseAliveAndMissingTagsFailWithTen) {
  ok({"declare", "q"});
  ok({"send", "q", "long"});
  auto [tag, payload] = lease("q", {"--lease", "300"});
  ok({"touch", tag, "--lease", "20000"});
  // Three times the original lease pass without the message coming back.
  EXPECT_EQ(pb({"recv", "q", "--timeout", "900"}).status, kNoMessage);
  EXPECT_EQ(stat("q")["lease_expired_total"], 0);
  ok({"ack", tag});
  RunResult missing = pb({"touch", tag, "1234567"});
  EXPECT_EQ(missing.status, kNoSuchLease);
  EXPECT_EQ(lines_in(missing.err), 1) << missing.err;
  EXPECT_NE(missing.err.find("tags " + tag + ", 1234567"), std::string::npos) << missing.err;
  EXPECT_EQ(pb({"ack", "0"}).status, kUsage);
}

TEST_F(JobsCli, RejectSendsToTheDeclaredDeadLetterQueue) {
  ok({"declare", "dead"});
  ok({"declare", "q", "--dead-letter", "dead", "--max-deliveries", "3", "--lease", "5000", "--ttl",
      "60000"});
  auto s = stat("q");
  EXPECT_EQ(s["dead_letter"], "dead");
  EXPECT_EQ(s["max_deliveries"], 3);
  EXPECT_EQ(s["lease_ms"], 5000);
  EXPECT_EQ(s["ttl_ms"], 60000);
  ok({"send", "q", "poison"});
  ok({"reject", lease("q").first});
  auto d = json::parse(ok({"recv", "dead", "--nowait", "--json"}));
  EXPECT_EQ(d["payload"], "poison");
  EXPECT_EQ(d["properties"]["headers"]["x-death-queue"], "q");
  EXPECT_EQ(d["properties"]["headers"]["x-death-reason"], "rejected");
  EXPECT_EQ(stat("q")["dead_lettered_total"], 1);
  auto text = ok({"stat", "q"});
  EXPECT_NE(text.find("dead_letter         dead\n"), std::string::npos) << text;
}

TEST_F(JobsCli, SendDelayHidesTheMessageUntilDue) {
  ok({"declare", "q"});
  const auto sent_at = Clock::now();
  ok({"send", "q", "later", "--delay", "300"});
  EXPECT_EQ(pb({"recv", "q", "--nowait"}).status, kNoMessage);
  EXPECT_EQ(ok({"recv", "q", "--timeout", "10000"}), "later");
  EXPECT_GE(Clock::now() - sent_at, std::chrono::milliseconds(300));
}

TEST_F(JobsCli, SendDueHidesTheMessageUntilThatTime) {
  ok({"declare", "q"});
  const auto sent_at = Clock::now();
  const auto due = std::chrono::system_clock::now() + std::chrono::milliseconds(300);
  const auto due_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(due.time_since_epoch()).count();
  ok({"send", "q", "at", "--due", std::to_string(due_ns)});
  EXPECT_EQ(pb({"recv", "q", "--nowait"}).status, kNoMessage);
  EXPECT_EQ(ok({"recv", "q", "--timeout", "10000"}), "at");
  // The realtime and steady clocks may disagree by a little; not by 100 ms.
  EXPECT_GE(Clock::now() - sent_at, std::chrono::milliseconds(200));
}

TEST_F(JobsCli, SendTtlExpiresTheMessageUnreceived) {
  ok({"declare", "q"});
  ok({"send", "q", "brief", "--ttl", "50"});
  ASSERT_TRUE(eventually([&] { return stat("q")["expired_total"] == 1; }));
  EXPECT_EQ(pb({"recv", "q", "--nowait"}).status, kNoMessage);
}

TEST_F(JobsCli, SendKeySaysWhenItWasADuplicate) {
  ok({"declare", "q"});
  const std::string id = ok({"send", "q", "one", "--key", "order-7"});
  EXPECT_EQ(ok({"send", "q", "two", "--key", "order-7"}), id + " duplicate");
  EXPECT_EQ(json::parse(ok({"send", "q", "three", "--key", "order-7", "--json"})),
            json({{"id", std::stoull(id)}, {"duplicate", true}}));
  EXPECT_EQ(json::parse(ok({"send", "q", "four", "--key", "order-8", "--json"}))["duplicate"],
            false);
  EXPECT_EQ(stat("q")["depth"], 2);
  EXPECT_EQ(stat("q")["deduplicated_total"], 2);
}

TEST_F(JobsCli, MoveReportsHowManyMoved) {
  ok({"declare", "a"});
  ok({"declare", "b"});
  for (const char* t : {"1", "2", "1"}) ok({"send", "a", std::string("t") + t, "--type", t});
  EXPECT_EQ(ok({"move", "a", "b", "--type", "1", "--count", "1"}),
            "moved 1 message from 'a' to 'b'");
  EXPECT_EQ(json::parse(ok({"move", "a", "b", "--json"})),
            json::parse(R"({"moved":2,"merged":0})"));
  EXPECT_EQ(ok({"recv", "b", "--count", "3", "--nowait"}), "t1\nt2\nt1");
}

TEST_F(JobsCli, MoveThatStopsAtAFullQueueFailsWithQueueFullAfterSayingWhatMoved) {
  ok({"declare", "a"});
  ok({"declare", "small", "--max-messages", "1"});
  ok({"send", "a", "1"});
  ok({"send", "a", "2"});
  RunResult r = pb({"move", "a", "small"});
  EXPECT_EQ(r.status, 4);  // queue full
  EXPECT_EQ(r.out, "moved 1 message from 'a' to 'small'\n");
  EXPECT_EQ(lines_in(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("queue_full"), std::string::npos) << r.err;
}

TEST_F(JobsCli, ConsumeStreamsUntilInterrupted) {
  ok({"declare", "q"});
  const std::string out = broker_.dir() + "/consume.out";
  pid_t consumer = background({"consume", "q"}, out);
  ASSERT_TRUE(eventually([&] { return stat("q")["consumers"].size() == 1; }));
  for (int i = 0; i < 3; ++i) ok({"send", "q", "m" + std::to_string(i)});
  ASSERT_TRUE(eventually([&] { return lines_in(slurp(out)) == 3; })) << slurp(out);
  ::kill(consumer, SIGINT);
  EXPECT_EQ(wait_status(consumer), kOk);
  EXPECT_EQ(slurp(out), "m0\nm1\nm2\n");
  EXPECT_TRUE(stat("q")["consumers"].empty());
  ok({"send", "q", "after"});
  EXPECT_EQ(stat("q")["depth"], 1);
}

TEST_F(JobsCli, ConsumeAckAcknowledgesWhatItPrintedAndStopsOnSigterm) {
  ok({"declare", "q"});
  for (int i = 0; i < 5; ++i) ok({"send", "q", "j" + std::to_string(i)});
  const std::string out = broker_.dir() + "/consume.out";
  pid_t consumer = background({"consume", "q", "--ack", "--prefetch", "2", "--json"}, out);
  ASSERT_TRUE(eventually([&] { return stat("q")["acked_total"] == 5; }));
  auto s = stat("q");
  ASSERT_EQ(s["consumers"].size(), 1u);
  EXPECT_EQ(s["consumers"][0]["ack"], true);
  EXPECT_EQ(s["consumers"][0]["prefetch"], 2);
  ::kill(consumer, SIGTERM);
  EXPECT_EQ(wait_status(consumer), kOk);
  std::istringstream lines(slurp(out));
  std::string line;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(json::parse(line)["payload"], "j" + std::to_string(i));
  }
  EXPECT_FALSE(std::getline(lines, line));
  EXPECT_EQ(stat("q")["leased"], 0);
}

TEST_F(JobsCli, ConsumeCountTakesExactlyThatManyAndLeavesTheRest) {
  ok({"declare", "q"});
  for (int i = 0; i < 5; ++i) ok({"send", "q", "c" + std::to_string(i)});
  EXPECT_EQ(ok({"consume", "q", "--count", "2"}), "c0\nc1");
  auto s = stat("q");
  EXPECT_EQ(s["depth"], 3);
  EXPECT_EQ(s["leased"], 0);
  EXPECT_EQ(s["redelivered_total"], 0);  // nothing was pushed beyond the two and handed back
  EXPECT_EQ(ok({"recv", "q", "--nowait"}), "c2");
}

}  // namespace
}  // namespace postbox::testing
