// Tests client/cli/parse.cpp: flag names, defaults, and the one-line usage errors.
#include "client/cli/parse.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "tests/unit/client/cli_args.hpp"

namespace postbox::cli {
namespace {

using namespace testing;

TEST(ParseArgs, UsageErrorsExitTwoWithOneLineNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    const char* error;
  };
  const Case cases[] = {
      {{"send", "q", "--type", "12x"},
       "postbox: --type: expected an integer 1..9223372036854775807, got '12x'\n"},
      {{"send", "q", "--type", "0"},
       "postbox: --type: expected an integer 1..9223372036854775807, got '0'\n"},
      {{"send", "q", "--priority", "256"},
       "postbox: --priority: expected an integer 0..255, got '256'\n"},
      {{"send", "q", "--priority", "+1"},
       "postbox: --priority: expected an integer 0..255, got '+1'\n"},
      {{"send", "q", "--timeout", "1.5"},
       "postbox: --timeout: expected an integer 0..4294967294, got '1.5'\n"},
      {{"send", "q", "--timeout", "5", "--nowait"},
       "postbox: --timeout and --nowait cannot be used together\n"},
      {{"send", "q", "x", "--file", "f"}, "postbox: PAYLOAD and --file cannot be used together\n"},
      {{"send", "q", "x", "--lines"}, "postbox: PAYLOAD and --lines cannot be used together\n"},
      {{"send", "q", "--header", "novalue"},
       "postbox: --header: expected KEY=VALUE, got 'novalue'\n"},
      {{"send", "q", "--header", "=v"}, "postbox: --header: expected KEY=VALUE, got '=v'\n"},
      {{"recv", "q", "--type", "-9223372036854775808"},
       "postbox: --type: expected an integer -9223372036854775807..9223372036854775807, got "
       "'-9223372036854775808'\n"},
      {{"recv", "q", "--count", "0"},
       "postbox: --count: expected an integer 1..18446744073709551615, got '0'\n"},
      {{"recv", "q", "--count", "2", "--follow"},
       "postbox: --count and --follow cannot be used together\n"},
      {{"recv", "q", "--peek", "--follow"},
       "postbox: --peek and --follow cannot be used together\n"},
      {{"recv", "q", "--max-size", "4294967295"},
       "postbox: --max-size: expected an integer 0..4294967294, got '4294967295'\n"},
      {{"declare", "q", "--mode", "0800"},
       "postbox: --mode: expected octal permission bits 0..0777, got '0800'\n"},
      {{"declare", "q", "--max-messages", "0"},
       "postbox: --max-messages: expected an integer 1..18446744073709551615, got '0'\n"},
      {{"declare", "q", "--max-message-size", "4294967296"},
       "postbox: --max-message-size: expected an integer 1..4294967295, got '4294967296'\n"},
      {{"declare", "q", "--overflow", "drop"},
       "postbox: --overflow: expected reject, drop-oldest, drop-lowest-priority or drop-new, got "
       "'drop'\n"},
      {{"frobnicate"}, "postbox: unknown command 'frobnicate' (see --help)\n"},
      {{"recv", "q", "--lease", "100"}, "postbox: --lease needs --ack\n"},
      {{"recv", "q", "--ack", "--peek"}, "postbox: --ack and --peek cannot be used together\n"},
      {{"recv", "q", "--ack", "--lease", "0"},
       "postbox: --lease: expected an integer 1..4294967295, got '0'\n"},
      {{"send", "q", "x", "--ttl", "0"},
       "postbox: --ttl: expected an integer 1..9223372036854, got '0'\n"},
      {{"send", "q", "x", "--delay", "-5"},
       "postbox: --delay: expected an integer 0..9223372036854, got '-5'\n"},
      {{"send", "q", "x", "--key", ""}, "postbox: --key: expected 1..1024 bytes, got 0\n"},
      {{"send", "q", "--key", "k", "--lines"},
       "postbox: --key and --lines cannot be used together\n"},
      {{"send", "q", "x", "--due", "tomorrow"},
       "postbox: --due: expected RFC 3339 (2026-12-02T10:00:00Z) or nanoseconds since the epoch, "
       "got 'tomorrow'\n"},
      {{"ack", "0"}, "postbox: TAG: expected an integer 1..18446744073709551615, got '0'\n"},
      {{"nack", "5", "--priority", "256"},
       "postbox: --priority: expected an integer 0..255, got '256'\n"},
      {{"touch", "5", "--lease", "x"},
       "postbox: --lease: expected an integer 1..4294967295, got 'x'\n"},
      {{"consume", "q", "--prefetch", "4"}, "postbox: --prefetch needs --ack or --count\n"},
      {{"consume", "q", "--ack", "--prefetch", "0"},
       "postbox: --prefetch: expected an integer 1..4294967295, got '0'\n"},
      {{"move", "a", ""}, "postbox: DEST: expected a queue name, got ''\n"},
      {{"declare", "q", "--lease", "0"},
       "postbox: --lease: expected an integer 1..4294967295, got '0'\n"},
      {{"declare", "q", "--max-deliveries", "-1"},
       "postbox: --max-deliveries: expected an integer 0..4294967295, got '-1'\n"},
      {{"send", ""}, "postbox: QUEUE: expected a queue name, got ''\n"},
  };
  for (const auto& c : cases) {
    Parsed p = parse_args(c.args);
    EXPECT_FALSE(p.invocation) << c.args[0];
    EXPECT_EQ(p.exit_status, 2) << c.error;
    EXPECT_EQ(p.error, c.error);
  }
}

TEST(ParseArgs, CLI11ErrorsAreOneLineToo) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{}, {"recv"}, {"send", "q", "--type"}, {"list", "--bogus"}}) {
    Parsed p = parse_args(args);
    EXPECT_EQ(p.exit_status, 2);
    ASSERT_FALSE(p.error.empty());
    EXPECT_EQ(p.error.find('\n'), p.error.size() - 1) << p.error;
    EXPECT_EQ(p.error.rfind("postbox: ", 0), 0u) << p.error;
  }
}

TEST(ParseArgs, HelpAndVersionExitZero) {
  Parsed help = parse_args({"--help"});
  EXPECT_EQ(help.exit_status, 0);
  EXPECT_NE(help.output.find("recv"), std::string::npos);
  Parsed version = parse_args({"--version"});
  EXPECT_EQ(version.exit_status, 0);
  EXPECT_NE(version.output.find("postbox 0.1.0"), std::string::npos);
  EXPECT_FALSE(version.invocation);
}

TEST(ParseArgs, SendDefaultsWaitForeverWithTypeOne) {
  Invocation inv = parse_ok({"send", "jobs", "hello"});
  EXPECT_EQ(inv.command, Command::send);
  EXPECT_EQ(inv.queue, "jobs");
  EXPECT_EQ(inv.send.payload, "hello");
  EXPECT_EQ(inv.send.options.type, 1);
  EXPECT_EQ(inv.send.options.priority, 0);
  EXPECT_EQ(inv.send.options.timeout, kForever);
  EXPECT_FALSE(inv.send.lines);
}

TEST(ParseArgs, SendTakesEveryFlag) {
  Invocation inv = parse_ok({"send", "jobs", "--type", "9223372036854775807", "--priority", "255",
                             "--timeout", "250", "--correlation-id", "c1", "--reply-to", "replies",
                             "--header", "k=v=w", "--header", "e=", "--lines"});
  const SendOptions& o = inv.send.options;
  EXPECT_EQ(o.type, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(o.priority, 255);
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(o.correlation_id, "c1");
  EXPECT_EQ(o.reply_to, "replies");
  EXPECT_EQ(o.headers, (Headers{{"k", "v=w"}, {"e", ""}}));
  EXPECT_TRUE(inv.send.lines);
  EXPECT_FALSE(inv.send.payload);
}

TEST(ParseArgs, NowaitIsAZeroTimeout) {
  EXPECT_EQ(parse_ok({"send", "q", "x", "--nowait"}).send.options.timeout, kNoWait);
  EXPECT_EQ(parse_ok({"recv", "q", "--nowait"}).recv.options.timeout, kNoWait);
}

TEST(ParseArgs, RecvTakesEveryFlag) {
  Invocation inv = parse_ok({"recv", "q", "--type", "-5", "--except", "--timeout", "0",
                             "--max-size", "10", "--truncate", "--peek", "--count", "3"});
  const ReceiveOptions& o = inv.recv.options;
  EXPECT_EQ(o.type, -5);
  EXPECT_TRUE(o.except);
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(o.max_size, 10u);
  EXPECT_TRUE(o.truncate);
  EXPECT_TRUE(o.peek);
  EXPECT_EQ(inv.recv.count, 3u);
  EXPECT_FALSE(inv.recv.follow);
  EXPECT_EQ(parse_ok({"recv", "q"}).recv.options.timeout, kForever);
  EXPECT_TRUE(parse_ok({"recv", "q", "--follow"}).recv.follow);
}

TEST(ParseArgs, DeclareTakesEveryFlag) {
  Invocation inv = parse_ok({"declare", "q", "--exclusive", "--max-messages", "10", "--max-bytes",
                             "100", "--max-message-size", "50", "--mode", "0640", "--overflow",
                             "drop-lowest-priority"});
  const QueueOptions& o = inv.declare;
  EXPECT_TRUE(o.exclusive);
  EXPECT_EQ(o.max_messages, 10u);
  EXPECT_EQ(o.max_bytes, 100u);
  EXPECT_EQ(o.max_message_size, 50u);
  EXPECT_EQ(o.mode, 0640u);
  EXPECT_EQ(o.overflow, Overflow::drop_lowest_priority);
  Invocation plain = parse_ok({"declare", "q"});
  EXPECT_FALSE(plain.declare.max_messages);
  EXPECT_FALSE(plain.declare.mode);
}

TEST(ParseArgs, SendTakesTheSchedulingFlags) {
  Invocation inv = parse_ok({"send", "jobs", "x", "--delay", "1500", "--ttl", "60000", "--key",
                             "order-1", "--due", "1700000000000000001"});
  const SendOptions& o = inv.send.options;
  EXPECT_EQ(o.delay, std::chrono::milliseconds(1500));
  EXPECT_EQ(o.ttl, std::chrono::milliseconds(60000));
  EXPECT_EQ(o.dedup_key, "order-1");
  ASSERT_TRUE(o.due);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::nanoseconds>(o.due->time_since_epoch()).count(),
            1700000000000000001);
  Invocation plain = parse_ok({"send", "jobs", "x"});
  EXPECT_FALSE(plain.send.options.delay || plain.send.options.ttl || plain.send.options.due ||
               plain.send.options.dedup_key);
}

TEST(ParseArgs, RecvAckTakesADetachedLease) {
  const ReceiveOptions o = parse_ok({"recv", "q", "--ack", "--lease", "500"}).recv.options;
  EXPECT_TRUE(o.ack);
  EXPECT_TRUE(o.detached);  // so that `postbox ack TAG` from another process may settle it
  EXPECT_EQ(o.lease, std::chrono::milliseconds(500));
  const ReceiveOptions plain = parse_ok({"recv", "q"}).recv.options;
  EXPECT_FALSE(plain.ack || plain.detached || plain.lease);
}

TEST(ParseArgs, SettleCommandsTakeTagsAndTheirFlags) {
  Invocation ack = parse_ok({"ack", "7", "18446744073709551615"});
  EXPECT_EQ(ack.command, Command::ack);
  EXPECT_EQ(ack.settle.tags, (std::vector<uint64_t>{7, std::numeric_limits<uint64_t>::max()}));
  Invocation nack = parse_ok({"nack", "7", "--delay", "250", "--priority", "9"});
  EXPECT_EQ(nack.command, Command::nack);
  EXPECT_EQ(nack.settle.nack.delay, std::chrono::milliseconds(250));
  EXPECT_EQ(nack.settle.nack.priority, 9);
  Invocation keep = parse_ok({"nack", "7"});
  EXPECT_EQ(keep.settle.nack.delay, std::chrono::milliseconds(0));
  EXPECT_FALSE(keep.settle.nack.priority);
  EXPECT_EQ(parse_ok({"touch", "7", "--lease", "9000"}).settle.lease,
            std::chrono::milliseconds(9000));
  EXPECT_FALSE(parse_ok({"touch", "7"}).settle.lease);
  EXPECT_EQ(parse_ok({"reject", "7"}).command, Command::reject);
  EXPECT_EQ(parse_args({"ack"}).exit_status, 2);  // a tag is required
}

TEST(ParseArgs, MoveTakesSourceDestCountAndType) {
  Invocation inv = parse_ok({"move", "jobs.dead", "jobs", "--count", "10", "--type", "-3"});
  EXPECT_EQ(inv.command, Command::move);
  EXPECT_EQ(inv.queue, "jobs.dead");
  EXPECT_EQ(inv.move.destination, "jobs");
  EXPECT_EQ(inv.move.options.count, 10u);
  EXPECT_EQ(inv.move.options.type, -3);
  Invocation all = parse_ok({"move", "a", "b"});
  EXPECT_FALSE(all.move.options.count);
  EXPECT_EQ(all.move.options.type, 0);
}

TEST(ParseArgs, ConsumeLeasesWithAckOrCount) {
  Invocation plain = parse_ok({"consume", "q", "--type", "2", "--except"});
  EXPECT_EQ(plain.command, Command::consume);
  EXPECT_EQ(plain.consume.options.type, 2);
  EXPECT_TRUE(plain.consume.options.except);
  EXPECT_FALSE(plain.consume.options.ack);  // the broker removes what it pushes
  EXPECT_FALSE(plain.consume.count);
  Invocation ack = parse_ok({"consume", "q", "--ack", "--prefetch", "8", "--lease", "2000"});
  EXPECT_TRUE(ack.consume.options.ack);
  EXPECT_EQ(ack.consume.options.prefetch, 8u);
  EXPECT_EQ(ack.consume.options.lease, std::chrono::milliseconds(2000));
  // --count leases too, so that nothing beyond N leaves the queue.
  Invocation counted = parse_ok({"consume", "q", "--count", "5"});
  EXPECT_TRUE(counted.consume.options.ack);
  EXPECT_EQ(counted.consume.count, 5u);
}

TEST(ParseArgs, DeclareTakesTheJobFlags) {
  const QueueOptions o = parse_ok({"declare", "q", "--max-deliveries", "5", "--dead-letter",
                                   "q.dead", "--lease", "30000", "--ttl", "0"})
                             .declare;
  EXPECT_EQ(o.max_deliveries, 5u);
  EXPECT_EQ(o.dead_letter, "q.dead");
  EXPECT_EQ(o.lease, std::chrono::milliseconds(30000));
  EXPECT_EQ(o.ttl, std::chrono::milliseconds(0));
  EXPECT_EQ(parse_ok({"declare", "q", "--dead-letter", ""}).declare.dead_letter, "");  // clears it
}

TEST(ParseArgs, GlobalFlagsGoBeforeOrAfterTheCommand) {
  Invocation before = parse_ok({"--json", "--socket", "/tmp/s", "stat", "q"});
  EXPECT_TRUE(before.global.json);
  EXPECT_EQ(before.global.socket, "/tmp/s");
  Invocation after = parse_ok({"list", "--json", "--socket", "/tmp/s"});
  EXPECT_EQ(after.command, Command::list);
  EXPECT_TRUE(after.global.json);
  EXPECT_EQ(after.global.socket, "/tmp/s");
}

TEST(ParseArgs, EachCommandIsRecognised) {
  EXPECT_EQ(parse_ok({"delete", "q"}).command, Command::remove);
  EXPECT_EQ(parse_ok({"purge", "q"}).command, Command::purge);
  EXPECT_EQ(parse_ok({"stat", "q"}).command, Command::stat);
  EXPECT_EQ(parse_ok({"list"}).command, Command::list);
  EXPECT_EQ(parse_ok({"declare", "q"}).command, Command::declare);
  EXPECT_EQ(parse_ok({"ack", "1"}).command, Command::ack);
  EXPECT_EQ(parse_ok({"nack", "1"}).command, Command::nack);
  EXPECT_EQ(parse_ok({"touch", "1"}).command, Command::touch);
  EXPECT_EQ(parse_ok({"move", "a", "b"}).command, Command::move);
  EXPECT_EQ(parse_ok({"consume", "q"}).command, Command::consume);
}

TEST(Validators, TimesAreEpochNanosecondsOrRfc3339) {
  auto ns = [](std::string_view text) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               parse_time("--due", text).time_since_epoch())
        .count();
  };
  EXPECT_EQ(ns("0"), 0);
  EXPECT_EQ(ns("1700000000123456789"), 1700000000123456789);
  EXPECT_EQ(ns("2023-11-14T22:13:20Z"), 1700000000000000000);
  EXPECT_EQ(ns("2023-11-14t22:13:20.5z"), 1700000000500000000);
  EXPECT_EQ(ns("2023-11-14T23:13:20.123456789+01:00"), 1700000000123456789);
  EXPECT_EQ(ns("2023-11-14T21:43:20-00:30"), 1700000000000000000);
  EXPECT_EQ(ns("2023-11-14 22:13:20Z"), 1700000000000000000);
  for (const char* bad :
       {"", "2023-11-14T22:13:20", "2023-11-14", "2023-02-30T00:00:00Z", "2023-11-14T24:00:00Z",
        "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+1:00", "1969-12-31T23:59:59Z",
        "2023-11-14T22:13:20Zjunk", "9223372036854775808", "-1"})
    EXPECT_THROW(parse_time("--due", bad), UsageError) << bad;
}

TEST(Validators, NumbersMustBeUsedUpEntirely) {
  EXPECT_EQ(parse_unsigned("--n", "18446744073709551615", 0, std::numeric_limits<uint64_t>::max()),
            std::numeric_limits<uint64_t>::max());
  for (const char* bad : {"", " 1", "1 ", "0x10", "-1", "18446744073709551616", "1e3"})
    EXPECT_THROW(parse_unsigned("--n", bad, 0, std::numeric_limits<uint64_t>::max()), UsageError)
        << bad;
  EXPECT_EQ(parse_signed("--t", "-7", -10, 10), -7);
  EXPECT_THROW(parse_signed("--t", "-11", -10, 10), UsageError);
  EXPECT_EQ(parse_mode("--mode", "777"), 0777u);
  EXPECT_EQ(parse_mode("--mode", "0"), 0u);
  EXPECT_THROW(parse_mode("--mode", "1000"), UsageError);
}

}  // namespace
}  // namespace postbox::cli
