// Tests the CLI's publish/subscribe commands without a broker: their command lines (respond's
// `--` split included), their output, and the exit status of a request nobody could take.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/cli/exit_status.hpp"
#include "client/cli/output.hpp"
#include "client/cli/parse.hpp"

#include "tests/unit/client/cli_args.hpp"

namespace postbox::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

using namespace testing;

TEST(PubSubParse, BindUnbindAndBindings) {
  auto b = parse_ok({"bind", "q", "sensors.*.temp"});
  EXPECT_EQ(b.command, Command::bind);
  EXPECT_EQ(b.queue, "q");
  EXPECT_EQ(b.pattern, "sensors.*.temp");
  EXPECT_EQ(parse_ok({"unbind", "q", "#"}).command, Command::unbind);
  EXPECT_EQ(parse_ok({"bindings"}).queue, "");
  EXPECT_EQ(parse_ok({"bindings", "q", "--json"}).queue, "q");
  EXPECT_EQ(parse_args({"bind", "q"}).exit_status, kExitUsage);
}

TEST(PubSubParse, PublishTakesSendsMessageFlagsButNoTimeout) {
  auto p = parse_ok({"publish", "a.b", "x", "--type", "4", "--priority", "9", "--header", "k=v"});
  EXPECT_EQ(p.command, Command::publish);
  EXPECT_EQ(p.queue, "a.b");
  EXPECT_EQ(p.send.payload, "x");
  EXPECT_EQ(p.send.options.type, 4);
  EXPECT_EQ(p.send.options.priority, 9);
  EXPECT_EQ(p.send.options.headers, (Headers{{"k", "v"}}));
  EXPECT_TRUE(parse_ok({"publish", "a.b", "--lines"}).send.lines);
  EXPECT_EQ(parse_args({"publish", "a.b", "x", "--timeout", "5"}).exit_status, kExitUsage);
  EXPECT_EQ(parse_args({"publish", "a", "x", "--lines"}).error,
            "postbox: PAYLOAD and --lines cannot be used together\n");
}

TEST(PubSubParse, SubscribeTakesOneOrMorePatterns) {
  auto s = parse_ok({"subscribe", "a.*", "b.#", "--json"});
  EXPECT_EQ(s.command, Command::subscribe);
  EXPECT_EQ(s.patterns, (std::vector<std::string>{"a.*", "b.#"}));
  EXPECT_TRUE(s.global.json);
  EXPECT_EQ(parse_args({"subscribe"}).exit_status, kExitUsage);
}

TEST(PubSubParse, RequestDefaultsToFiveSecondsAndAutomatic) {
  auto r = parse_ok({"request", "lookup.user", "alice"});
  EXPECT_EQ(r.command, Command::request);
  EXPECT_EQ(r.queue, "lookup.user");
  EXPECT_EQ(r.request.payload, "alice");
  EXPECT_EQ(r.request.options.timeout, 5000ms);
  EXPECT_EQ(r.request.options.to, RequestTarget::automatic);
  auto q = parse_ok({"request", "svc", "x", "--timeout", "250", "--queue", "--priority", "3"});
  EXPECT_EQ(q.request.options.timeout, 250ms);
  EXPECT_EQ(q.request.options.to, RequestTarget::queue);
  EXPECT_EQ(q.request.options.priority, 3);
  EXPECT_EQ(parse_ok({"request", "svc", "x", "--topic"}).request.options.to, RequestTarget::topic);
  EXPECT_EQ(parse_args({"request", "svc", "x", "--queue", "--topic"}).error,
            "postbox: --queue and --topic cannot be used together\n");
  EXPECT_EQ(parse_args({"request", "svc", "x", "--timeout", "soon"}).exit_status, kExitUsage);
}

TEST(PubSubParse, RespondSplitsCommandAtTheDashes) {
  auto r = parse_ok({"respond", "a.*", "b", "--", "tr", "a-z", "--", "-x"});
  EXPECT_EQ(r.command, Command::respond);
  EXPECT_EQ(r.respond.patterns, (std::vector<std::string>{"a.*", "b"}));
  EXPECT_EQ(r.respond.command, (std::vector<std::string>{"tr", "a-z", "--", "-x"}));
  auto q = parse_ok({"--socket", "/s", "respond", "--queue", "svc", "--", "cat"});
  EXPECT_EQ(q.queue, "svc");
  EXPECT_TRUE(q.respond.patterns.empty());
  EXPECT_EQ(q.global.socket, "/s");
  EXPECT_EQ(parse_args({"respond", "a"}).error,
            "postbox: respond: expected '-- COMMAND [ARGS...]' after the options (e.g. postbox "
            "respond lookup.user -- ./lookup)\n");
  const char* one_of = "postbox: respond: expected PATTERN... or --queue QUEUE (one of the two)\n";
  EXPECT_EQ(parse_args({"respond", "--", "cat"}).error, one_of);
  EXPECT_EQ(parse_args({"respond", "a", "--queue", "q", "--", "cat"}).error, one_of);
}

TEST(PubSubParse, DeclareTakesDropNew) {
  EXPECT_EQ(parse_ok({"declare", "q", "--overflow", "drop-new"}).declare.overflow,
            Overflow::drop_new);
}

TEST(PubSubParse, SubcommandWordSkipsTheGlobalFlags) {
  const char* argv[] = {"postbox", "--json", "--socket", "/s", "respond", "x"};
  EXPECT_EQ(subcommand_word(6, argv), "respond");
  const char* eq[] = {"postbox", "--socket=/s", "worker"};
  EXPECT_EQ(subcommand_word(3, eq), "worker");
  const char* none[] = {"postbox", "--json"};
  EXPECT_EQ(subcommand_word(2, none), "");
}

TEST(PubSubOutput, PublishBindAndBindings) {
  EXPECT_EQ(publish_text({2, 1, 0}), "2");
  EXPECT_EQ(json::parse(publish_json({2, 1, 3})),
            json::parse(R"({"queues":2,"denied":1,"dropped":3})"));
  EXPECT_EQ(bind_text(true, true, "q", "a.*"), "bound 'q' to 'a.*'");
  EXPECT_EQ(bind_text(true, false, "q", "a.*"), "'q' was already bound to 'a.*'");
  EXPECT_EQ(bind_text(false, true, "q", "a.*"), "unbound 'q' from 'a.*'");
  EXPECT_EQ(bind_text(false, false, "q", "a.*"), "'q' was not bound to 'a.*'");
  EXPECT_EQ(bind_json(true, false), R"({"created":false})");
  EXPECT_EQ(bind_json(false, true), R"({"removed":true})");
  Bindings b;
  b.bindings = {{"zz", "#"}, {"audit-long", "b.*"}, {"audit-long", "a.*"}};
  b.published_total = 3;
  EXPECT_EQ(bindings_text(b),
            "QUEUE       PATTERN\n"
            "audit-long  a.*\n"
            "audit-long  b.*\n"
            "zz          #\n");
  auto j = json::parse(bindings_json(b));
  EXPECT_EQ(j["bindings"].size(), 3u);
  EXPECT_EQ(j["bindings"][0], json::parse(R"({"queue":"zz","pattern":"#"})"));
  EXPECT_EQ(j["published_total"], 3);
  EXPECT_EQ(j["unroutable_total"], 0);
}

TEST(PubSubOutput, MessagesShowTheirTopicAndStatItsBindings) {
  Message m;
  m.topic = "a.b";
  EXPECT_EQ(json::parse(message_json(m))["properties"]["topic"], "a.b");
  EXPECT_TRUE(json::parse(message_json(Message{}))["properties"]["topic"].is_null());
  QueueStat s;
  s.temporary = true;
  s.bindings = {"a.*", "#"};
  s.published_total = 7;
  auto j = json::parse(stat_json(s));
  EXPECT_EQ(j["temporary"], true);
  EXPECT_EQ(j["bindings"], json::parse(R"(["a.*","#"])"));
  EXPECT_EQ(j["published_total"], 7);
  auto text = stat_text(s);
  EXPECT_NE(text.find("temporary           yes\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bindings            a.* #\n"), std::string::npos) << text;
  EXPECT_FALSE(json::parse(stat_json(s, /*jobs=*/false)).contains("bindings"));
}

TEST(PubSubExitStatus, NoRouteIsNoSuchQueue) {
  EXPECT_EQ(exit_status(Errc::no_route), kExitNoSuchQueue);
  EXPECT_EQ(to_string(Errc::no_route), "no_route");
}

}  // namespace
}  // namespace postbox::cli
