// The postbox CLI's publish/subscribe commands against a real postboxd: bind, unbind,
// bindings, publish (--lines, drop-new), subscribe streaming and leaving no queue behind, and
// request/reply through the CLI against `postbox respond` and a library responder.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "postbox/client.hpp"
#include "postbox/responder.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// README, "Exit statuses of postbox".
constexpr int kOk = 0, kNoMessage = 3, kNoSuchQueue = 5;
class PubSubCli : public ::testing::Test {
 protected:
  std::vector<std::string> argv(std::vector<std::string> args) {
    std::vector<std::string> out{binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket()};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }
  RunResult pb(std::vector<std::string> args, std::string input = "") {
    RunOptions o;
    o.input = std::move(input);
    return run(argv(std::move(args)), o);
  }
  /// Runs a command that must succeed; its stdout without the last newline.
  std::string ok(std::vector<std::string> args, std::string input = "") {
    RunResult r = pb(args, std::move(input));
    EXPECT_EQ(r.status, kOk) << args[0] << ": " << r.err;
    if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }
  json stat(const std::string& q) { return json::parse(ok({"stat", q, "--json"})); }
  /// The temporary queues LIST shows.
  std::vector<json> temporary_queues() {
    std::vector<json> out;
    const json list = json::parse(ok({"list", "--json"}));  // alive while iterated
    for (const auto& q : list["queues"])
      if (q["name"].get<std::string>().starts_with("tmp.")) out.push_back(q);
    return out;
  }
  pid_t background(std::vector<std::string> args, const std::string& out_file) {
    return spawn(argv(std::move(args)), {}, out_file);
  }

  TestBroker broker_;
};

TEST_F(PubSubCli, BindUnbindAndBindingsInTextAndJson) {
  ok({"declare", "audit"});
  EXPECT_EQ(ok({"bind", "audit", "#"}), "bound 'audit' to '#'");
  EXPECT_EQ(ok({"bind", "audit", "#"}), "'audit' was already bound to '#'");
  EXPECT_EQ(json::parse(ok({"bind", "audit", "orders.*", "--json"})),
            json::parse(R"({"created":true})"));
  EXPECT_EQ(ok({"bindings"}),
            "QUEUE  PATTERN\n"
            "audit  #\n"
            "audit  orders.*");
  auto j = json::parse(ok({"bindings", "audit", "--json"}));
  EXPECT_EQ(j["bindings"].size(), 2u);
  EXPECT_EQ(j["published_total"], 0);
  auto s = stat("audit");
  EXPECT_EQ(s["bindings"].size(), 2u);
  EXPECT_EQ(s["temporary"], false);
  EXPECT_NE(ok({"stat", "audit"}).find("bindings            "), std::string::npos);
  EXPECT_EQ(json::parse(ok({"list", "--json"}))["queues"][0]["bindings"], 2);
  EXPECT_EQ(ok({"unbind", "audit", "#"}), "unbound 'audit' from '#'");
  EXPECT_EQ(json::parse(ok({"unbind", "audit", "#", "--json"})),
            json::parse(R"({"removed":false})"));
  RunResult bad = pb({"bind", "audit", "a..b"});
  EXPECT_EQ(bad.status, 1);  // invalid_argument
  EXPECT_EQ(lines_in(bad.err), 1) << bad.err;
  EXPECT_EQ(pb({"bind", "missing", "a"}).status, kNoSuchQueue);
}

TEST_F(PubSubCli, PublishPrintsHowManyQueuesTookItAndKeepsTheMessage) {
  for (const char* q : {"a", "b", "c"}) ok({"declare", q});
  ok({"bind", "a", "sensors.*.temp"});
  ok({"bind", "b", "sensors.#"});
  ok({"bind", "c", "alerts.#"});
  EXPECT_EQ(ok({"publish", "sensors.kitchen.temp", "21.5", "--type", "3", "--priority", "9",
                "--header", "unit=C"}),
            "2");
  for (const char* q : {"a", "b"}) {
    auto m = json::parse(ok({"recv", q, "--nowait", "--json"}));
    EXPECT_EQ(m["payload"], "21.5");
    EXPECT_EQ(m["type"], 3);
    EXPECT_EQ(m["priority"], 9);
    EXPECT_EQ(m["properties"]["topic"], "sensors.kitchen.temp");
    EXPECT_EQ(m["properties"]["headers"]["unit"], "C");
  }
  EXPECT_EQ(stat("c")["depth"], 0);
  EXPECT_EQ(ok({"publish", "nobody.listens", "x"}), "0");
  EXPECT_EQ(ok({"publish", "alerts.fire"}, "from stdin"), "1");
  EXPECT_EQ(ok({"recv", "c", "--nowait"}), "from stdin");
}

TEST_F(PubSubCli, PublishLinesPublishesEachLineInOrder) {
  ok({"declare", "q"});
  ok({"bind", "q", "log.*"});
  std::string input;
  for (int i = 0; i < 600; ++i) input += "line " + std::to_string(i) + "\n";
  RunResult r = pb({"publish", "log.app", "--lines", "--json"}, input);
  ASSERT_EQ(r.status, kOk) << r.err;
  EXPECT_EQ(lines_in(r.out), 600);
  EXPECT_EQ(json::parse(r.out.substr(0, r.out.find('\n'))),
            json::parse(R"({"queues":1,"denied":0,"dropped":0})"));
  EXPECT_EQ(ok({"recv", "q", "--count", "600"}), input.substr(0, input.size() - 1));
}

TEST_F(PubSubCli, DropNewQueuesDropTheirCopyAndCountIt) {
  ok({"declare", "small", "--overflow", "drop-new", "--max-messages", "1"});
  ok({"declare", "big"});
  ok({"bind", "small", "e.*"});
  ok({"bind", "big", "e.*"});
  EXPECT_EQ(stat("small")["overflow"], "drop-new");
  EXPECT_EQ(ok({"publish", "e.1", "one"}), "2");
  EXPECT_EQ(json::parse(ok({"publish", "e.2", "two", "--json"})),
            json::parse(R"({"queues":1,"denied":0,"dropped":1})"));
  auto s = stat("small");
  EXPECT_EQ(s["dropped_total"], 1);
  EXPECT_EQ(s["depth"], 1);
  EXPECT_EQ(stat("big")["depth"], 2);
  EXPECT_EQ(json::parse(ok({"bindings", "--json"}))["dropped_total"], 1);
}

TEST_F(PubSubCli, SubscribeStreamsUntilInterruptedAndLeavesNoQueueBehind) {
  const std::string out = broker_.dir() + "/subscribe.out";
  pid_t sub = background({"subscribe", "s.*", "t.#", "--json"}, out);
  ASSERT_TRUE(eventually([&] { return temporary_queues().size() == 1; })) << slurp(out);
  EXPECT_EQ(temporary_queues()[0]["bindings"], 2);
  EXPECT_EQ(ok({"publish", "s.one", "1"}), "1");
  EXPECT_EQ(ok({"publish", "t.two.deep", "2", "--priority", "4"}), "1");
  EXPECT_EQ(ok({"publish", "u.three", "3"}), "0");
  ASSERT_TRUE(eventually([&] { return lines_in(slurp(out)) == 2; })) << slurp(out);
  ::kill(sub, SIGTERM);
  EXPECT_EQ(wait_status(sub), kOk);
  std::istringstream lines(slurp(out));
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  auto first = json::parse(line);
  EXPECT_EQ(first["payload"], "1");
  EXPECT_EQ(first["properties"]["topic"], "s.one");
  EXPECT_TRUE(first.contains("id"));
  ASSERT_TRUE(std::getline(lines, line));
  auto second = json::parse(line);
  EXPECT_EQ(second["properties"]["topic"], "t.two.deep");
  EXPECT_EQ(second["priority"], 4);
  EXPECT_EQ(second["type"], 1);
  EXPECT_TRUE(eventually([&] { return temporary_queues().empty(); }));
  EXPECT_EQ(ok({"publish", "s.one", "late"}), "0");
}

TEST_F(PubSubCli, AKilledSubscriberLeavesNoQueueBehind) {
  const std::string out = broker_.dir() + "/subscribe.out";
  pid_t sub = background({"subscribe", "#"}, out);
  ASSERT_TRUE(eventually([&] { return temporary_queues().size() == 1; })) << slurp(out);
  ::kill(sub, SIGKILL);
  EXPECT_EQ(wait_status(sub), 128 + SIGKILL);
  EXPECT_TRUE(eventually([&] { return temporary_queues().empty(); }));
  EXPECT_TRUE(json::parse(ok({"bindings", "--json"}))["bindings"].empty());
}

TEST_F(PubSubCli, RequestThroughTheCliAgainstPostboxRespond) {
  const std::string log = broker_.dir() + "/respond.log";
  pid_t responder = background({"respond", "svc.*", "--", "tr", "a-z", "A-Z"}, log);
  ASSERT_TRUE(eventually([&] { return temporary_queues().size() == 1; })) << slurp(log);
  EXPECT_EQ(ok({"request", "svc.upper", "hello world", "--timeout", "10000"}), "HELLO WORLD");
  auto j = json::parse(ok({"request", "svc.upper", "json", "--timeout", "10000", "--json"}));
  EXPECT_EQ(j["payload"], "JSON");
  EXPECT_TRUE(j["properties"]["correlation_id"].is_string());
  ::kill(responder, SIGTERM);
  EXPECT_EQ(wait_status(responder), kOk) << slurp(log);
  EXPECT_TRUE(eventually([&] { return temporary_queues().empty(); }));
}

TEST_F(PubSubCli, RespondOnAQueueRepliesOnlyWhenTheCommandSucceeds) {
  ok({"declare", "svc"});
  const std::string log = broker_.dir() + "/respond.log";
  // Replies with the request's metadata; fails for the payload "fail".
  pid_t responder =
      background({"respond", "--queue", "svc", "--", "sh", "-c",
                  R"(read p; [ "$p" != fail ] && printf '%s %s' "$p" "$POSTBOX_QUEUE")"},
                 log);
  EXPECT_EQ(ok({"request", "svc", "ping", "--timeout", "10000"}), "ping svc");
  RunResult failed = pb({"request", "svc", "fail", "--timeout", "300"});
  EXPECT_EQ(failed.status, kNoMessage) << failed.err;
  EXPECT_EQ(ok({"request", "svc", "again", "--queue", "--timeout", "10000"}), "again svc");
  ::kill(responder, SIGINT);
  EXPECT_EQ(wait_status(responder), kOk);
  EXPECT_NE(slurp(log).find("exited with status 1"), std::string::npos) << slurp(log);
}

TEST_F(PubSubCli, RequestThroughTheCliAgainstALibraryResponder) {
  Client client(broker_.socket());
  const std::vector<std::string> patterns = {"lookup.#"};
  const std::string queue = client.subscription_queue(patterns);
  std::atomic<bool> stop{false};
  ResponderOptions options;
  options.loop.stop = &stop;
  options.loop.stop_check = 10ms;
  std::thread thread([&] {
    run_responder(
        client, queue,
        [](const Message& m) {
          OutgoingMessage reply{.payload = "user " + m.payload, .type = 2};
          return std::optional<Response>(reply);
        },
        options);
  });
  auto j = json::parse(ok({"request", "lookup.user", "alice", "--timeout", "10000", "--json"}));
  stop = true;
  thread.join();
  EXPECT_EQ(j["payload"], "user alice");
  EXPECT_EQ(j["type"], 2);
}

TEST_F(PubSubCli, RequestTimeoutExitsThreeAndNoRouteExitsFive) {
  ok({"declare", "silent"});
  const auto start = Clock::now();
  RunResult r = pb({"request", "silent", "x", "--timeout", "200"});
  EXPECT_GE(Clock::now() - start, 200ms);
  EXPECT_EQ(r.status, kNoMessage);
  EXPECT_EQ(r.err, "postbox: no reply to the request to 'silent' within 200 ms\n");
  RunResult nobody = pb({"request", "no.one.home", "x", "--timeout", "10000"});
  EXPECT_EQ(nobody.status, kNoSuchQueue);
  EXPECT_EQ(nobody.err,
            "postbox: no queue 'no.one.home', and no queue took the request published to that "
            "topic\n");
  EXPECT_EQ(pb({"request", "no.one.home", "x", "--topic"}).status, kNoSuchQueue);
  // The requester's reply queue went with it.
  EXPECT_TRUE(temporary_queues().empty());
}

}  // namespace
}  // namespace postbox::testing
