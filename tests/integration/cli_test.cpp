// The postbox CLI against a real postboxd: every subcommand, its output and its exit status.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/process.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using nlohmann::json;

// The exit statuses users script against (README, "Exit statuses of postbox").
constexpr int kOk = 0, kOther = 1, kUsage = 2, kNoMessage = 3, kQueueFull = 4, kNoSuchQueue = 5,
              kQueueExists = 6, kPermissionDenied = 7, kUnreachable = 8, kTooBig = 9;
constexpr uid_t kNobody = 65534;

class Cli : public ::testing::Test {
 protected:
  RunResult pb(std::vector<std::string> args, RunOptions opts = {}) {
    std::vector<std::string> argv{binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, opts);
  }
  RunResult pb_as(uid_t uid, std::vector<std::string> args) {
    RunOptions o;
    o.uid = uid;
    o.gid = uid;
    return pb(std::move(args), o);
  }
  RunResult pb_in(std::vector<std::string> args, std::string input) {
    RunOptions o;
    o.input = std::move(input);
    return pb(std::move(args), o);
  }
  json stat(const std::string& q) {
    auto r = pb({"stat", q, "--json"});
    EXPECT_EQ(r.status, kOk) << r.err;
    return json::parse(r.out);
  }
  /// Waits (bounded) until `q` has `n` blocked receivers: the observable
  /// sign that a background `recv` is parked, not a guess with a sleep.
  void await_blocked_receivers(const std::string& q, uint64_t n) {
    for (int i = 0; i < 2000; ++i) {
      if (stat(q)["blocked_receivers"].get<uint64_t>() == n) return;
    }
    FAIL() << "queue " << q << " never had " << n << " blocked receivers";
  }
  pid_t background(std::vector<std::string> args, const std::string& out_file) {
    std::vector<std::string> argv{binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return spawn(argv, {}, out_file);
  }
  static int lines_in(const std::string& s) {
    return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
  }

  TestBroker broker_;
};

TEST_F(Cli, SendThenReceiveRoundTripsThePayload) {
  ASSERT_EQ(pb({"declare", "jobs"}).status, kOk);
  ASSERT_EQ(pb({"send", "jobs", "hello world"}).status, kOk);
  auto r = pb({"recv", "jobs", "--nowait"});
  EXPECT_EQ(r.status, kOk) << r.err;
  EXPECT_EQ(r.out, "hello world\n");
}

TEST_F(Cli, PayloadComesFromStdinOrAFile) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  ASSERT_EQ(pb_in({"send", "q"}, "from stdin").status, kOk);
  const std::string file = broker_.dir() + "/payload.bin";
  std::ofstream(file, std::ios::binary) << std::string("from\0file", 9);
  ASSERT_EQ(pb({"send", "q", "--file", file}).status, kOk);
  EXPECT_EQ(pb({"recv", "q", "--nowait"}).out, "from stdin\n");
  EXPECT_EQ(pb({"recv", "q", "--nowait"}).out, std::string("from\0file\n", 10));
}

TEST_F(Cli, HigherPriorityIsReceivedFirstThenArrivalOrder) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  pb({"send", "q", "low-1"});
  pb({"send", "q", "high", "--priority", "9"});
  pb({"send", "q", "low-2"});
  auto r = pb({"recv", "q", "--count", "3", "--nowait"});
  EXPECT_EQ(r.status, kOk) << r.err;
  EXPECT_EQ(r.out, "high\nlow-1\nlow-2\n");
}

TEST_F(Cli, TypeSelectionFollowsMsgrcv) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  pb({"send", "q", "t3", "--type", "3"});
  pb({"send", "q", "t2", "--type", "2"});
  pb({"send", "q", "t5", "--type", "5"});
  EXPECT_EQ(pb({"recv", "q", "--type", "5", "--nowait"}).out, "t5\n");
  EXPECT_EQ(pb({"recv", "q", "--type", "3", "--except", "--nowait"}).out, "t2\n");
  pb({"send", "q", "t1", "--type", "1"});
  EXPECT_EQ(pb({"recv", "q", "--type", "-4", "--nowait"}).out, "t1\n");
  EXPECT_EQ(pb({"recv", "q", "--type", "-2", "--nowait"}).status, kNoMessage);
  EXPECT_EQ(pb({"recv", "q", "--nowait"}).out, "t3\n");
}

TEST_F(Cli, LinesSendsOneMessagePerLineInOrder) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "line " + std::to_string(i) + "\n";
  auto s = pb_in({"send", "q", "--lines"}, input);
  ASSERT_EQ(s.status, kOk) << s.err;
  EXPECT_EQ(stat("q")["depth"], 2000);
  auto r = pb({"recv", "q", "--count", "2000", "--nowait"});
  EXPECT_EQ(r.status, kOk) << r.err;
  EXPECT_EQ(r.out, input);
}

TEST_F(Cli, JsonOutputCarriesMetadataAndProperties) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  ASSERT_EQ(pb({"send", "q", "data", "--type", "7", "--priority", "3", "--correlation-id", "c-1",
                "--reply-to", "answers", "--header", "k1=v1", "--header", "k2=v=2"})
                .status,
            kOk);
  auto r = pb({"recv", "q", "--json", "--nowait"});
  ASSERT_EQ(r.status, kOk) << r.err;
  auto j = json::parse(r.out);
  EXPECT_GT(j["id"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["type"], 7);
  EXPECT_EQ(j["priority"], 3);
  EXPECT_EQ(j["payload"], "data");
  EXPECT_FALSE(j.contains("encoding"));
  EXPECT_EQ(j["properties"]["correlation_id"], "c-1");
  EXPECT_EQ(j["properties"]["reply_to"], "answers");
  EXPECT_EQ(j["properties"]["headers"]["k1"], "v1");
  EXPECT_EQ(j["properties"]["headers"]["k2"], "v=2");
}

TEST_F(Cli, JsonOutputUsesBase64ForBinaryPayloads) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  const std::string file = broker_.dir() + "/bin";
  std::ofstream(file, std::ios::binary) << std::string("\xff\x00\x01", 3);
  ASSERT_EQ(pb({"send", "q", "--file", file}).status, kOk);
  auto j = json::parse(pb({"recv", "q", "--json", "--nowait"}).out);
  EXPECT_EQ(j["encoding"], "base64");
  EXPECT_EQ(j["payload"], "/wAB");
}

TEST_F(Cli, PeekLeavesTheMessageQueued) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  pb({"send", "q", "keep"});
  EXPECT_EQ(pb({"recv", "q", "--peek", "--nowait"}).out, "keep\n");
  EXPECT_EQ(stat("q")["depth"], 1);
  EXPECT_EQ(pb({"recv", "q", "--nowait"}).out, "keep\n");
  EXPECT_EQ(stat("q")["depth"], 0);
}

TEST_F(Cli, TooBigFailsAndStaysUnlessTruncated) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  pb({"send", "q", "0123456789"});
  auto big = pb({"recv", "q", "--max-size", "4", "--nowait"});
  EXPECT_EQ(big.status, kTooBig);
  EXPECT_EQ(lines_in(big.err), 1) << big.err;
  EXPECT_EQ(stat("q")["depth"], 1);
  EXPECT_EQ(pb({"recv", "q", "--max-size", "4", "--truncate", "--nowait"}).out, "0123\n");
  EXPECT_EQ(stat("q")["depth"], 0);
}

TEST_F(Cli, ExitStatusesAreTheDocumentedOnes) {
  ASSERT_EQ(pb({"declare", "small", "--max-messages", "1", "--max-message-size", "8"}).status, kOk);
  EXPECT_EQ(pb({"recv", "small", "--nowait"}).status, kNoMessage);
  EXPECT_EQ(pb({"recv", "small", "--timeout", "50"}).status, kNoMessage);
  EXPECT_EQ(pb({"send", "small", "one"}).status, kOk);
  auto full = pb({"send", "small", "two", "--nowait"});
  EXPECT_EQ(full.status, kQueueFull);
  EXPECT_NE(full.err.find("small"), std::string::npos) << full.err;
  EXPECT_EQ(pb({"send", "small", "two", "--timeout", "50"}).status, kQueueFull);
  EXPECT_EQ(pb({"send", "small", "far too long for it", "--nowait"}).status, kTooBig);
  EXPECT_EQ(pb({"recv", "missing", "--nowait"}).status, kNoSuchQueue);
  EXPECT_EQ(pb({"stat", "missing"}).status, kNoSuchQueue);
  EXPECT_EQ(pb({"declare", "small", "--exclusive"}).status, kQueueExists);
  EXPECT_EQ(pb({"recv", "small", "--bogus-flag"}).status, kUsage);
  EXPECT_EQ(pb({"send", "small", "x", "--priority", "256"}).status, kUsage);
  EXPECT_EQ(pb({"send", "small", "x", "--type", "0"}).status, kUsage);
  EXPECT_EQ(pb({"send", "small", "x", "--type", "12x"}).status, kUsage);
  EXPECT_EQ(pb({"declare", "bad/name"}).status, kOther);
  auto gone =
      run({binary_from_env("POSTBOX_CLI"), "--socket", broker_.dir() + "/nobody.sock", "list"});
  EXPECT_EQ(gone.status, kUnreachable);
  EXPECT_EQ(lines_in(gone.err), 1) << gone.err;
}

TEST_F(Cli, OverflowPoliciesMakeRoomAndCountWhatTheyDrop) {
  ASSERT_EQ(pb({"declare", "old", "--max-messages", "2", "--overflow", "drop-oldest"}).status, kOk);
  for (const char* p : {"a", "b", "c"}) ASSERT_EQ(pb({"send", "old", p, "--nowait"}).status, kOk);
  EXPECT_EQ(stat("old")["dropped_total"], 1);
  EXPECT_EQ(pb({"recv", "old", "--count", "2", "--nowait"}).out, "b\nc\n");

  ASSERT_EQ(
      pb({"declare", "low", "--max-messages", "2", "--overflow", "drop-lowest-priority"}).status,
      kOk);
  pb({"send", "low", "p5", "--priority", "5"});
  pb({"send", "low", "p1", "--priority", "1"});
  ASSERT_EQ(pb({"send", "low", "p9", "--priority", "9", "--nowait"}).status, kOk);
  EXPECT_EQ(stat("low")["dropped_total"], 1);
  EXPECT_EQ(pb({"recv", "low", "--count", "2", "--nowait"}).out, "p9\np5\n");
  EXPECT_EQ(pb({"declare", "bad", "--overflow", "drop-newest"}).status, kUsage);
}

TEST_F(Cli, StatAndListReportTheQueue) {
  ASSERT_EQ(pb({"declare", "a", "--max-messages", "5", "--mode", "0640"}).status, kOk);
  ASSERT_EQ(pb({"declare", "b"}).status, kOk);
  pb({"send", "a", "xyz", "--priority", "2"});
  auto s = stat("a");
  EXPECT_EQ(s["depth"], 1);
  EXPECT_EQ(s["bytes"], 3);
  EXPECT_EQ(s["max_messages"], 5);
  EXPECT_EQ(s["mode"], 0640);
  EXPECT_EQ(s["sent_total"], 1);
  EXPECT_EQ(s["depth_per_priority"]["2"], 1);
  EXPECT_GT(s["last_send_pid"].get<int>(), 0);
  auto l = pb({"list", "--json"});
  ASSERT_EQ(l.status, kOk) << l.err;
  auto j = json::parse(l.out);
  ASSERT_EQ(j["queues"].size(), 2u);
  EXPECT_EQ(j["queues"][0]["name"], "a");
  EXPECT_EQ(j["queues"][0]["depth"], 1);
  auto text = pb({"stat", "a"});
  EXPECT_EQ(text.status, kOk);
  EXPECT_NE(text.out.find("depth"), std::string::npos) << text.out;
}

TEST_F(Cli, PurgeEmptiesAndDeleteRemoves) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  pb({"send", "q", "1"});
  pb({"send", "q", "2"});
  EXPECT_EQ(pb({"purge", "q"}).status, kOk);
  EXPECT_EQ(stat("q")["depth"], 0);
  EXPECT_EQ(pb({"delete", "q"}).status, kOk);
  EXPECT_EQ(pb({"stat", "q"}).status, kNoSuchQueue);
}

TEST_F(Cli, BlockedReceiveGetsTheNextMessage) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  const std::string out = broker_.dir() + "/recv.out";
  pid_t waiter = background({"recv", "q"}, out);
  await_blocked_receivers("q", 1);
  ASSERT_EQ(pb({"send", "q", "wake up"}).status, kOk);
  EXPECT_EQ(wait_status(waiter), kOk);
  EXPECT_EQ(slurp(out), "wake up\n");
}

TEST_F(Cli, DeleteWakesBlockedReceiversWithQueueRemoved) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  const std::string out = broker_.dir() + "/recv.out";
  pid_t waiter = background({"recv", "q"}, out);
  await_blocked_receivers("q", 1);
  ASSERT_EQ(pb({"delete", "q"}).status, kOk);
  // The queue is gone, as if it never existed: the same status as a receive from a missing queue.
  EXPECT_EQ(wait_status(waiter), kNoSuchQueue);
  EXPECT_NE(slurp(out).find("'q' was deleted"), std::string::npos) << slurp(out);
}

TEST_F(Cli, FollowStreamsUntilInterrupted) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  const std::string out = broker_.dir() + "/follow.out";
  pid_t follower = background({"recv", "q", "--follow"}, out);
  await_blocked_receivers("q", 1);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(pb({"send", "q", "m" + std::to_string(i)}).status, kOk);
  // All three delivered once the follower is parked again with nothing queued.
  for (int i = 0;
       i < 2000 && !(stat("q")["received_total"] == 3 && stat("q")["blocked_receivers"] == 1);
       ++i) {
  }
  ::kill(follower, SIGINT);
  EXPECT_EQ(wait_status(follower), kOk);
  EXPECT_EQ(slurp(out), "m0\nm1\nm2\n");
}

TEST_F(Cli, InterruptDuringAReceivePrintsWhatTheBrokerAlreadyDelivered) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  const std::string out = broker_.dir() + "/follow.out";
  pid_t follower = background({"recv", "q", "--follow"}, out);
  await_blocked_receivers("q", 1);
  // Stopped, the follower cannot read the reply the broker writes for it.
  ::kill(follower, SIGSTOP);
  int st = 0;
  ASSERT_EQ(::waitpid(follower, &st, WUNTRACED), follower);
  ASSERT_TRUE(WIFSTOPPED(st));
  ASSERT_EQ(pb({"send", "q", "msg1"}).status, kOk);
  for (int i = 0; i < 2000 && stat("q")["received_total"] != 1; ++i) {
  }
  ASSERT_EQ(stat("q")["received_total"], 1);  // off the queue, on its way to the follower
  // The interrupt is handled while that reply waits unread in the socket.
  ::kill(follower, SIGINT);
  ::kill(follower, SIGCONT);
  EXPECT_EQ(wait_status(follower), kOk);
  EXPECT_EQ(slurp(out), "msg1\n");
  // Its receive is over: a later message stays queued for someone else.
  EXPECT_EQ(stat("q")["blocked_receivers"], 0);
  ASSERT_EQ(pb({"send", "q", "msg2"}).status, kOk);
  EXPECT_EQ(stat("q")["depth"], 1);
}

TEST_F(Cli, TerminateWhileParkedEndsFollowWithStatusZero) {
  ASSERT_EQ(pb({"declare", "q"}).status, kOk);
  const std::string out = broker_.dir() + "/follow.out";
  pid_t follower = background({"recv", "q", "--follow"}, out);
  await_blocked_receivers("q", 1);
  ::kill(follower, SIGTERM);
  EXPECT_EQ(wait_status(follower), kOk);
  EXPECT_EQ(slurp(out), "");
  EXPECT_EQ(stat("q")["blocked_receivers"], 0);
}

TEST_F(Cli, LinesStopsAtALineTooBigForTheQueueAndNamesIt) {
  ASSERT_EQ(pb({"declare", "b9", "--max-messages", "4", "--max-message-size", "4"}).status, kOk);
  auto r = pb_in({"send", "b9", "--lines"}, "a\ntoolong\nc\nd\n");
  EXPECT_EQ(r.status, kTooBig);
  EXPECT_EQ(r.err,
            "postbox: line 2: a message of 7 bytes exceeds queue 'b9' max_message_size 4 "
            "(1 line queued before it)\n");
  auto s = stat("b9");
  EXPECT_EQ(s["sent_total"], 1);
  EXPECT_EQ(s["depth"], 1);
  EXPECT_EQ(pb({"recv", "b9", "--nowait"}).out, "a\n");
}

TEST_F(Cli, LinesToAWriteOnlyQueueStillStopsAtTheFirstFailedLine) {
  // Mode 0622: nobody may send but not stat, so the limit is only learnt from the refusal.
  ASSERT_EQ(pb({"declare", "wo", "--max-message-size", "4", "--mode", "0622"}).status, kOk);
  RunOptions o;
  o.uid = o.gid = kNobody;
  o.input = "a\nb\ntoolong\nc\n";
  auto r = pb({"send", "wo", "--lines"}, o);
  EXPECT_EQ(r.status, kTooBig);
  EXPECT_EQ(lines_in(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("postbox: line 3: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("(2 lines queued before it)"), std::string::npos) << r.err;
  EXPECT_EQ(stat("wo")["sent_total"], 2);
}

TEST_F(Cli, LinesIntoAFullQueueStopsWithBatchesInFlightAndCountsWhatWasQueued) {
  // max_messages 4: one line per batch, eight batches in flight when line 5 meets a full queue.
  ASSERT_EQ(pb({"declare", "q", "--max-messages", "4"}).status, kOk);
  std::string input;
  for (int i = 1; i <= 20; ++i) input += "m" + std::to_string(i) + "\n";
  auto r = pb_in({"send", "q", "--lines", "--nowait"}, input);
  EXPECT_EQ(r.status, kQueueFull);
  EXPECT_EQ(lines_in(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("postbox: line 5: queue 'q' is full", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("(4 lines queued before it)"), std::string::npos) << r.err;
  EXPECT_EQ(stat("q")["sent_total"], 4);
}

TEST_F(Cli, PermissionsFollowTheQueueMode) {
  ASSERT_EQ(pb({"declare", "private"}).status, kOk);  // 0600, owned by root
  ASSERT_EQ(pb({"declare", "shared", "--mode", "0666"}).status, kOk);
  ASSERT_EQ(pb({"declare", "readonly", "--mode", "0644"}).status, kOk);
  pb({"send", "private", "secret"});
  pb({"send", "readonly", "news"});

  auto denied = pb_as(kNobody, {"recv", "private", "--nowait"});
  EXPECT_EQ(denied.status, kPermissionDenied);
  EXPECT_EQ(lines_in(denied.err), 1) << denied.err;
  EXPECT_EQ(pb_as(kNobody, {"send", "private", "x"}).status, kPermissionDenied);
  EXPECT_EQ(pb_as(kNobody, {"stat", "private"}).status, kPermissionDenied);
  EXPECT_EQ(pb_as(kNobody, {"purge", "private"}).status, kPermissionDenied);
  EXPECT_EQ(pb_as(kNobody, {"delete", "private"}).status, kPermissionDenied);

  EXPECT_EQ(pb_as(kNobody, {"send", "shared", "hi"}).status, kOk);
  EXPECT_EQ(pb_as(kNobody, {"recv", "shared", "--nowait"}).out, "hi\n");
  EXPECT_EQ(pb_as(kNobody, {"delete", "shared"}).status, kPermissionDenied);

  EXPECT_EQ(pb_as(kNobody, {"recv", "readonly", "--nowait"}).out, "news\n");
  EXPECT_EQ(pb_as(kNobody, {"send", "readonly", "x"}).status, kPermissionDenied);

  auto l = json::parse(pb_as(kNobody, {"list", "--json"}).out);
  std::vector<std::string> names;
  for (auto& q : l["queues"]) names.push_back(q["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"readonly", "shared"}));

  // A queue nobody declares belongs to nobody, and root still may do anything.
  ASSERT_EQ(pb_as(kNobody, {"declare", "mine"}).status, kOk);
  EXPECT_EQ(stat("mine")["owner_uid"], kNobody);
  EXPECT_EQ(pb({"delete", "mine"}).status, kOk);
}

}  // namespace
}  // namespace postbox::testing
