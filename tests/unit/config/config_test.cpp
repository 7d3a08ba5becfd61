// Tests of config/config.cpp: defaults, every key, every error message, validate(), files.
#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace postbox::config {
namespace {

constexpr const char* kOrigin = "postboxd.json";

/// One line per field, so a mismatch shows which field differs.
std::string describe(const QueueLimits& l) {
  std::ostringstream out;
  out << "max_messages=" << l.max_messages << " max_bytes=" << l.max_bytes
      << " max_message_size=" << l.max_message_size << " mode=0" << std::oct << l.mode << std::dec
      << " overflow=" << to_string(l.overflow) << " max_deliveries=" << l.max_deliveries
      << " dead_letter=\"" << l.dead_letter << "\" lease_ms=" << l.lease_ms
      << " ttl_ms=" << l.ttl_ms;
  return out.str();
}

std::string describe(const QueueDecl& q) {
  std::ostringstream out;
  out << "name=" << q.name;
  if (q.max_messages) out << " max_messages=" << *q.max_messages;
  if (q.max_bytes) out << " max_bytes=" << *q.max_bytes;
  if (q.max_message_size) out << " max_message_size=" << *q.max_message_size;
  if (q.mode) out << " mode=0" << std::oct << *q.mode << std::dec;
  if (q.overflow) out << " overflow=" << to_string(*q.overflow);
  if (q.max_deliveries) out << " max_deliveries=" << *q.max_deliveries;
  if (q.dead_letter) out << " dead_letter=\"" << *q.dead_letter << "\"";
  if (q.lease_ms) out << " lease_ms=" << *q.lease_ms;
  if (q.ttl_ms) out << " ttl_ms=" << *q.ttl_ms;
  return out.str();
}

std::string describe(const Config& c) {
  std::ostringstream out;
  out << "socket=" << c.socket_path << "\nsocket_mode=0" << std::oct << c.socket_mode << std::dec
      << "\ndata_dir=" << c.data_dir << "\nlog_level=" << c.log_level
      << "\nqueue_defaults: " << describe(c.queue_defaults)
      << "\nmax_connections=" << c.max_connections << "\nmax_frame_size=" << c.max_frame_size
      << "\nmax_pending_output=" << c.max_pending_output << "\nspin_us=" << c.spin_us << "\n";
  for (const auto& q : c.queues) out << "queue: " << describe(q) << "\n";
  return out.str();
}

/// The error load_string() throws for `text`, or "" if it throws none.
std::string load_error(const std::string& text) {
  try {
    load_string(text, kOrigin);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

QueueDecl named(std::string name) {
  QueueDecl q;
  q.name = std::move(name);
  return q;
}

std::string validate_error(const Config& c) {
  try {
    validate(c);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// ---- Defaults and keys ------------------------------------------------------

TEST(ConfigDefaults, AreTheDocumentedValues) {
  const Config sut;

  EXPECT_EQ(sut.socket_path, "");
  EXPECT_EQ(sut.socket_mode, 0666u);
  EXPECT_EQ(sut.data_dir, "");
  EXPECT_EQ(sut.log_level, "info");
  EXPECT_EQ(sut.queue_defaults.max_messages, 1u << 20);
  EXPECT_EQ(sut.queue_defaults.max_bytes, 256ull << 20);
  EXPECT_EQ(sut.queue_defaults.max_message_size, 1u << 20);
  EXPECT_EQ(sut.queue_defaults.mode, 0600u);
  EXPECT_EQ(sut.queue_defaults.overflow, Overflow::reject);
  EXPECT_EQ(sut.queue_defaults.max_deliveries, 0u);
  EXPECT_EQ(sut.queue_defaults.dead_letter, "");
  EXPECT_EQ(sut.queue_defaults.lease_ms, 30000u);
  EXPECT_EQ(sut.queue_defaults.ttl_ms, 0u);
  EXPECT_EQ(sut.max_connections, 1024u);
  EXPECT_EQ(sut.max_frame_size, 16u << 20);
  EXPECT_EQ(sut.max_pending_output, 64ull << 20);
  EXPECT_EQ(sut.spin_us, 50u);
  EXPECT_EQ(sut.disk_free_limit, 64ull << 20);
  EXPECT_TRUE(sut.queues.empty());
  EXPECT_NO_THROW(validate(sut));
}

TEST(ConfigLoad, EmptyObjectGivesTheDefaults) {
  EXPECT_EQ(describe(load_string("{}", kOrigin)), describe(Config{}));
  EXPECT_EQ(describe(load_string(" /* nothing */ { } // here\n", kOrigin)), describe(Config{}));
}

TEST(ConfigLoad, ReadsEveryKey) {
  const std::string text = R"({
    // line comments and /* block comments */ are allowed
    "socket": "/run/pb/pb.sock",
    "socket_mode": "0660",
    "data_dir": "/var/lib/pb",
    "log_level": "debug",
    "queue_defaults": {
      "max_messages": 100, "max_bytes": 1000, "max_message_size": 500,
      "mode": 416, "overflow": "drop-oldest",
      "max_deliveries": 3, "dead_letter": "dead", "lease_ms": 5000, "ttl_ms": 86400000
    },
    "max_connections": 7,
    "max_frame_size": 8192,
    "max_pending_output": 12345,
    "spin_us": 7,
    "disk_free_limit": 0,
    "queues": [
      {"name": "jobs", "max_messages": 10, "max_bytes": 20, "max_message_size": 30,
       "mode": "0640", "overflow": "drop-lowest-priority",
       "max_deliveries": 7, "dead_letter": "jobs.dead", "lease_ms": 1, "ttl_ms": 60000},
      {"name": "A.b_c-9"},
      {"name": "dead", "max_deliveries": 0, "dead_letter": "", "lease_ms": 30000, "ttl_ms": 0}
    ]
  })";

  const Config sut = load_string(text, kOrigin);

  EXPECT_EQ(sut.socket_path, "/run/pb/pb.sock");
  EXPECT_EQ(sut.socket_mode, 0660u);
  EXPECT_EQ(sut.data_dir, "/var/lib/pb");
  EXPECT_EQ(sut.log_level, "debug");
  EXPECT_EQ(sut.queue_defaults.max_messages, 100u);
  EXPECT_EQ(sut.queue_defaults.max_bytes, 1000u);
  EXPECT_EQ(sut.queue_defaults.max_message_size, 500u);
  EXPECT_EQ(sut.queue_defaults.mode, 0640u);
  EXPECT_EQ(sut.queue_defaults.overflow, Overflow::drop_oldest);
  EXPECT_EQ(sut.queue_defaults.max_deliveries, 3u);
  EXPECT_EQ(sut.queue_defaults.dead_letter, "dead");
  EXPECT_EQ(sut.queue_defaults.lease_ms, 5000u);
  EXPECT_EQ(sut.queue_defaults.ttl_ms, 86400000u);
  EXPECT_EQ(sut.max_connections, 7u);
  EXPECT_EQ(sut.max_frame_size, 8192u);
  EXPECT_EQ(sut.max_pending_output, 12345u);
  EXPECT_EQ(sut.spin_us, 7u);
  EXPECT_EQ(sut.disk_free_limit, 0u);
  ASSERT_EQ(sut.queues.size(), 3u);
  EXPECT_EQ(describe(sut.queues[0]),
            "name=jobs max_messages=10 max_bytes=20 max_message_size=30 mode=0640 "
            "overflow=drop-lowest-priority max_deliveries=7 dead_letter=\"jobs.dead\" lease_ms=1 "
            "ttl_ms=60000");
  EXPECT_EQ(describe(sut.queues[1]), "name=A.b_c-9");
  // Values equal to the defaults are still the queue's own: present, not inherited.
  EXPECT_EQ(describe(sut.queues[2]),
            "name=dead max_deliveries=0 dead_letter=\"\" lease_ms=30000 ttl_ms=0");
}

TEST(ConfigLoad, KeysOverrideTheBaseAndQueuesReplaceItsList) {
  Config base;
  base.socket_path = "/base.sock";
  base.queue_defaults.max_bytes = 999;
  base.spin_us = 5;
  base.queues = {named("old")};

  const Config sut = load_string(
      R"({"spin_us": 6, "queue_defaults": {"mode": "0644"}, "queues": [{"name": "new"}]})", kOrigin,
      base);

  EXPECT_EQ(sut.socket_path, "/base.sock");
  EXPECT_EQ(sut.queue_defaults.max_bytes, 999u);
  EXPECT_EQ(sut.queue_defaults.mode, 0644u);
  EXPECT_EQ(sut.spin_us, 6u);
  ASSERT_EQ(sut.queues.size(), 1u);
  EXPECT_EQ(sut.queues[0].name, "new");
}

TEST(ConfigLoad, ModeIsAnIntegerOrAnOctalString) {
  struct Case {
    const char* json;
    uint32_t expected;
  };
  const std::vector<Case> cases = {
      {R"("0660")", 0660}, {R"("660")", 0660},    {R"("0")", 0},
      {R"("0777")", 0777}, {R"("000644")", 0644}, {"0", 0},
      {"432", 0660},       {"511", 0777},         {"-0", 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    const std::string mode = c.json;

    const Config sut =
        load_string(R"({"socket_mode": )" + mode + R"(, "queue_defaults": {"mode": )" + mode +
                        R"(}, "queues": [{"name": "q", "mode": )" + mode + "}]}",
                    kOrigin);

    EXPECT_EQ(sut.socket_mode, c.expected);
    EXPECT_EQ(sut.queue_defaults.mode, c.expected);
    ASSERT_TRUE(sut.queues.at(0).mode.has_value());
    EXPECT_EQ(*sut.queues[0].mode, c.expected);
  }
}

TEST(ConfigLoad, AcceptsEveryLimitAtItsBoundary) {
  const std::vector<std::string> cases = {
      R"({"max_frame_size": 4096, "queue_defaults": {"max_message_size": 3840}})",
      R"({"max_frame_size": 268435456, "queue_defaults": {"max_message_size": 268435200}})",
      R"({"queue_defaults": {"max_message_size": 16776960}})",
      R"({"queue_defaults": {"max_messages": 1, "max_bytes": 1, "max_message_size": 1}})",
      R"({"queue_defaults": {"max_messages": 18446744073709551615,
                             "max_bytes": 18446744073709551615}})",
      R"({"max_connections": 1})",
      R"({"max_connections": 4294967295})",
      R"({"max_pending_output": 1})",
      R"({"spin_us": 1000000})",
      R"({"socket_mode": "0777", "log_level": "off"})",
      R"({"queues": [{"name": ")" + std::string(255, 'q') + R"("}]})",
      R"({"socket": ")" + std::string(107, 's') + R"("})",
      R"({"queues": []})",
      R"({"queue_defaults": {"max_deliveries": 0, "lease_ms": 1, "ttl_ms": 0}})",
      R"({"queue_defaults": {"max_deliveries": 4294967295, "lease_ms": 4294967295,
                             "ttl_ms": 3155760000000}})",
      R"({"queues": [{"name": "q", "max_deliveries": 4294967295, "lease_ms": 4294967295,
                      "ttl_ms": 3155760000000}]})",
      R"({"queues": [{"name": "q", "max_deliveries": 0, "lease_ms": 1, "ttl_ms": -0}]})",
      R"({"queue_defaults": {"dead_letter": ")" + std::string(255, 'd') + R"("}})",
      R"({"queue_defaults": {"dead_letter": "A.b_c-9"}})",
      R"({"queues": [{"name": "q", "dead_letter": ""}]})",
  };
  for (const auto& text : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(load_error(text), "");
  }
}

TEST(ConfigLoad, DefaultDeadLetterQueueMayBeDeclaredWhenItOverridesItsOwn) {
  const Config sut = load_string(R"({
    "queue_defaults": {"dead_letter": "dlq"},
    "queues": [{"name": "jobs"}, {"name": "dlq", "dead_letter": ""},
               {"name": "dlq2", "dead_letter": "dlq"}]
  })",
                                 kOrigin);

  EXPECT_EQ(sut.queue_defaults.dead_letter, "dlq");
  ASSERT_EQ(sut.queues.size(), 3u);
  EXPECT_EQ(sut.queues[0].dead_letter, std::nullopt);  // inherits "dlq"
  EXPECT_EQ(sut.queues[1].dead_letter, "");
  EXPECT_EQ(sut.queues[2].dead_letter, "dlq");
}

TEST(ConfigLoad, DeadLetterQueueNeedNotBeDeclared) {
  // A missing dead-letter queue discards, as the broker documents; it may be declared later.
  const Config sut =
      load_string(R"({"queues": [{"name": "jobs", "dead_letter": "jobs.dead"}]})", kOrigin);

  ASSERT_EQ(sut.queues.size(), 1u);
  EXPECT_EQ(sut.queues[0].dead_letter, "jobs.dead");
}

TEST(ConfigLoad, AcceptsEveryLogLevel) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    const Config sut = load_string(std::string(R"({"log_level": ")") + level + "\"}", kOrigin);
    EXPECT_EQ(sut.log_level, level);
  }
}

// ---- Errors -----------------------------------------------------------------

struct ErrorCase {
  std::string text;
  std::string expected;  // a substring of what()
};

TEST(ConfigLoad, RejectsBadInputWithAOneLineMessageNamingTheKey) {
  const std::string big = "\"" + std::string(100, 'x') + "\"";
  const std::vector<ErrorCase> cases = {
      // unknown keys, at every level
      {R"({"queue_default": {}})",
       "postboxd.json: unknown key 'queue_default' (known: socket, socket_mode, data_dir, fsync, "
       "fsync_interval_ms, segment_size, disk_free_limit, log_level, queue_defaults, "
       "max_connections, "
       "max_frame_size, max_pending_output, spin_us, queues)"},
      {R"({"queue_defaults": {"maxbytes": 1}})",
       "postboxd.json: unknown key 'queue_defaults.maxbytes' (known: max_messages, max_bytes, "
       "max_message_size, mode, overflow, max_deliveries, dead_letter, lease_ms, ttl_ms, durable)"},
      {R"({"queue_defaults": {"lease": 1}})", "unknown key 'queue_defaults.lease'"},
      {R"({"queues": [{"name": "a"}, {"name": "b", "size": 1}]})",
       "postboxd.json: unknown key 'queues[1].size' (known: name, max_messages, max_bytes, "
       "max_message_size, mode, overflow, max_deliveries, dead_letter, lease_ms, ttl_ms, durable)"},
      {R"({"queues": [{"name": "q", "deadletter": "d"}]})", "unknown key 'queues[0].deadletter'"},
      {"{\"a\\nb\": 1}", "unknown key 'a\\x0ab'"},
      // wrong types
      {R"({"socket": 5})", "postboxd.json: key 'socket': expected a string, got 5"},
      {R"({"data_dir": null})", "postboxd.json: key 'data_dir': expected a string, got null"},
      {R"({"socket": "a\u0000b"})",
       R"(key 'socket': expected a path without NUL bytes, got "a\u0000b")"},
      {R"({"data_dir": "a\u0000b"})", "key 'data_dir': expected a path without NUL bytes"},
      {R"({"queue_defaults": 5})",
       "postboxd.json: key 'queue_defaults': expected an object, got 5"},
      {R"({"queues": {}})",
       "postboxd.json: key 'queues': expected an array of queue objects, got {}"},
      {R"({"queues": ["jobs"]})",
       R"(key 'queues[0]': expected an object with at least a "name", got "jobs")"},
      {R"({"queues": [{"mode": "0600"}]})", "key 'queues[0]': missing required key 'name'"},
      {R"({"queues": [{"name": 7}]})", "key 'queues[0].name': expected a string, got 7"},
      // modes
      {R"({"queue_defaults": {"mode": "rw"}})",
       R"(postboxd.json: key 'queue_defaults.mode': expected an integer 0..0777 or an octal string, got "rw")"},
      {R"({"socket_mode": "0800"})",
       R"(key 'socket_mode': expected an integer 0..0777 or an octal string, got "0800")"},
      {R"({"socket_mode": "01000"})", R"(got "01000")"},
      {R"({"socket_mode": ""})",
       R"(key 'socket_mode': expected an integer 0..0777 or an octal string, got "")"},
      {R"({"socket_mode": "0x1ff"})", R"(got "0x1ff")"},
      {R"({"socket_mode": 512})",
       "key 'socket_mode': expected an integer 0..0777 or an octal string, got 512"},
      {R"({"socket_mode": 660})", "got 660"},  // decimal 660 is not 0660
      {R"({"socket_mode": -1})", "got -1"},
      {R"({"socket_mode": 1.5})", "got 1.5"},
      {R"({"queues": [{"name": "q", "mode": "0778"}]})",
       R"(key 'queues[0].mode': expected an integer 0..0777 or an octal string, got "0778")"},
      {R"({"socket_mode": )" + big + "}",
       R"(got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...)"},
      // enumerations
      {R"({"log_level": "loud"})",
       R"(postboxd.json: key 'log_level': expected one of trace, debug, info, warn, error, critical, off, got "loud")"},
      {R"({"log_level": "INFO"})", R"(key 'log_level': expected one of)"},
      {R"({"log_level": 3})",
       "key 'log_level': expected one of trace, debug, info, warn, error, critical, off, got 3"},
      {R"({"queue_defaults": {"overflow": "drop_oldest"}})",
       R"(key 'queue_defaults.overflow': expected one of reject, drop-new, drop-oldest, drop-lowest-priority, got "drop_oldest")"},
      {R"({"queues": [{"name": "q", "overflow": true}]})",
       "key 'queues[0].overflow': expected one of reject, drop-new, drop-oldest, "
       "drop-lowest-priority, got "
       "true"},
      // integer ranges: nothing is truncated silently
      {R"({"max_frame_size": 1099511627776})",
       "postboxd.json: key 'max_frame_size': expected an integer 4096..268435456, got "
       "1099511627776"},
      {R"({"max_frame_size": 4095})",
       "key 'max_frame_size': expected an integer 4096..268435456, got 4095"},
      {R"({"max_frame_size": 268435457})", "got 268435457"},
      {R"({"max_connections": 4294967296})",
       "key 'max_connections': expected an integer 1..4294967295, got 4294967296"},
      {R"({"max_connections": 0})",
       "key 'max_connections': expected an integer 1..4294967295, got 0"},
      {R"({"max_connections": -1})", "got -1"},
      {R"({"max_connections": 1.0})",
       "key 'max_connections': expected an integer 1..4294967295, got 1.0"},
      {R"({"max_connections": 1e3})", "got 1000.0"},
      {R"({"max_connections": "10"})", R"(got "10")"},
      {R"({"max_pending_output": 0})", "key 'max_pending_output': expected an integer >= 1, got 0"},
      {R"({"max_pending_output": 18446744073709551616})",
       "key 'max_pending_output': expected an integer >= 1, got 1.8446744073709552e+19"},
      {R"({"spin_us": 1000001})", "key 'spin_us': expected an integer 0..1000000, got 1000001"},
      {R"({"disk_free_limit": 1125899906842625})",
       "key 'disk_free_limit': expected an integer 0..1125899906842624, got 1125899906842625"},
      {R"({"disk_free_limit": -1})", "key 'disk_free_limit'"},
      {R"({"queue_defaults": {"max_messages": 0}})",
       "key 'queue_defaults.max_messages': expected an integer >= 1, got 0"},
      {R"({"queue_defaults": {"max_bytes": -5}})",
       "key 'queue_defaults.max_bytes': expected an integer >= 1, got -5"},
      {R"({"queue_defaults": {"max_message_size": 4294967296}})",
       "key 'queue_defaults.max_message_size': expected an integer 1..268435200, got 4294967296"},
      {R"({"queues": [{"name": "q", "max_messages": 0}]})",
       "key 'queues[0].max_messages': expected an integer >= 1, got 0"},
      {R"({"queues": [{"name": "q", "max_bytes": []}]})",
       "key 'queues[0].max_bytes': expected an integer >= 1, got []"},
      // job dispatch: max_deliveries (any u32), lease_ms (1..u32), ttl_ms (0..100 years)
      {R"({"queue_defaults": {"max_deliveries": 4294967296}})",
       "postboxd.json: key 'queue_defaults.max_deliveries': expected an integer 0..4294967295, "
       "got 4294967296"},
      {R"({"queue_defaults": {"max_deliveries": -1}})",
       "key 'queue_defaults.max_deliveries': expected an integer 0..4294967295, got -1"},
      {R"({"queue_defaults": {"max_deliveries": "3"}})",
       R"(key 'queue_defaults.max_deliveries': expected an integer 0..4294967295, got "3")"},
      {R"({"queues": [{"name": "q", "max_deliveries": 2.5}]})",
       "key 'queues[0].max_deliveries': expected an integer 0..4294967295, got 2.5"},
      {R"({"queue_defaults": {"lease_ms": 0}})",
       "postboxd.json: key 'queue_defaults.lease_ms': expected an integer 1..4294967295, got 0"},
      {R"({"queue_defaults": {"lease_ms": 4294967296}})",
       "key 'queue_defaults.lease_ms': expected an integer 1..4294967295, got 4294967296"},
      {R"({"queue_defaults": {"lease_ms": null}})",
       "key 'queue_defaults.lease_ms': expected an integer 1..4294967295, got null"},
      {R"({"queues": [{"name": "q", "lease_ms": 0}]})",
       "key 'queues[0].lease_ms': expected an integer 1..4294967295, got 0"},
      {R"({"queues": [{"name": "q", "lease_ms": -30000}]})",
       "key 'queues[0].lease_ms': expected an integer 1..4294967295, got -30000"},
      {R"({"queue_defaults": {"ttl_ms": 3155760000001}})",
       "postboxd.json: key 'queue_defaults.ttl_ms': expected an integer 0..3155760000000, got "
       "3155760000001"},
      {R"({"queue_defaults": {"ttl_ms": 18446744073709551615}})",
       "key 'queue_defaults.ttl_ms': expected an integer 0..3155760000000, got "
       "18446744073709551615"},
      {R"({"queue_defaults": {"ttl_ms": -1}})",
       "key 'queue_defaults.ttl_ms': expected an integer 0..3155760000000, got -1"},
      {R"({"queues": [{"name": "q", "ttl_ms": 3155760000001}]})",
       "key 'queues[0].ttl_ms': expected an integer 0..3155760000000, got 3155760000001"},
      {R"({"queues": [{"name": "q", "ttl_ms": true}]})",
       "key 'queues[0].ttl_ms': expected an integer 0..3155760000000, got true"},
      // dead_letter: "" or a queue name, never the queue itself
      {R"({"queue_defaults": {"dead_letter": "a b"}})",
       R"(postboxd.json: key 'queue_defaults.dead_letter': expected a queue name (1-255 bytes of [A-Za-z0-9._-]) or "" for none, got "a b")"},
      {R"({"queue_defaults": {"dead_letter": null}})",
       R"(key 'queue_defaults.dead_letter': expected a queue name (1-255 bytes of [A-Za-z0-9._-]) or "" for none, got null)"},
      {R"({"queue_defaults": {"dead_letter": 5}})", "key 'queue_defaults.dead_letter': expected"},
      {R"({"queue_defaults": {"dead_letter": ")" + std::string(256, 'd') + R"("}})",
       "key 'queue_defaults.dead_letter': expected a queue name (1-255 bytes of [A-Za-z0-9._-]) "
       "or \"\" for none, got \"dddd"},
      {R"({"queues": [{"name": "q", "dead_letter": "q/dead"}]})",
       R"(key 'queues[0].dead_letter': expected a queue name (1-255 bytes of [A-Za-z0-9._-]) or "" for none, got "q/dead")"},
      {R"({"queues": [{"name": "q", "dead_letter": ["d"]}]})",
       R"(key 'queues[0].dead_letter': expected a queue name (1-255 bytes of [A-Za-z0-9._-]) or "" for none, got ["d"])"},
      {R"({"queues": [{"name": "a"}, {"name": "jobs", "dead_letter": "jobs"}]})",
       "postboxd.json: key 'queues[1].dead_letter': expected the name of another queue (a queue "
       "cannot be its own dead-letter queue), got \"jobs\""},
      {R"({"queue_defaults": {"dead_letter": "dlq"}, "queues": [{"name": "jobs"}, {"name": "dlq"}]})",
       "postboxd.json: key 'queues[1].dead_letter': expected the name of another queue (a queue "
       "cannot be its own dead-letter queue), got \"dlq\" from queue_defaults.dead_letter; give "
       "this queue its own \"dead_letter\" (\"\" for none)"},
      // rules across keys
      {R"({"queue_defaults": {"max_message_size": 16776961}})",
       "postboxd.json: key 'queue_defaults.max_message_size': expected at most 16776960 "
       "(max_frame_size - 256, room for the frame's headers), got 16776961"},
      {R"({"max_frame_size": 4096})",
       "key 'queue_defaults.max_message_size': expected at most 3840 (max_frame_size - 256, "
       "room for the frame's headers), got 1048576"},
      {R"({"max_frame_size": 8192, "queue_defaults": {"max_message_size": 100},
           "queues": [{"name": "q", "max_message_size": 7937}]})",
       "key 'queues[0].max_message_size': expected at most 7936"},
      {R"({"socket": ")" + std::string(108, 's') + R"("})",
       "key 'socket': expected a path of at most 107 bytes (sun_path), got a path of 108 bytes"},
      // queue names
      {R"({"queues": [{"name": "a b"}]})",
       R"(key 'queues[0].name': expected 1-255 bytes of [A-Za-z0-9._-], got "a b")"},
      {R"({"queues": [{"name": ""}]})",
       R"(key 'queues[0].name': expected 1-255 bytes of [A-Za-z0-9._-], got "")"},
      {R"({"queues": [{"name": "a/b"}]})", R"(got "a/b")"},
      {R"({"queues": [{"name": "caf\u00e9"}]})", "key 'queues[0].name': expected 1-255 bytes"},
      {R"({"queues": [{"name": ")" + std::string(256, 'q') + R"("}]})",
       "key 'queues[0].name': expected 1-255 bytes of [A-Za-z0-9._-], got \"qqqq"},
      {R"({"queues": [{"name": "a"}, {"name": "b"}, {"name": "a"}]})",
       R"(postboxd.json: key 'queues[2].name': duplicate queue name "a" (also queues[0]))"},
      // repeated JSON keys
      {R"({"socket": "a", "socket": "b"})", "postboxd.json: duplicate key 'socket'"},
      {R"({"queue_defaults": {"mode": 1, "mode": 2}})", "duplicate key 'queue_defaults.mode'"},
      {R"({"queues": [{"name": "a"}, {"name": "b", "name": "c"}]})",
       "duplicate key 'queues[1].name'"},
      {R"({"queues": [[], {"name": "b"}, {"x": [{"k": 1, "k": 2}]}]})",
       "duplicate key 'queues[2].x[0].k'"},
      // not an object, not JSON
      {"[1]", "postboxd.json: expected a JSON object at the top level, got [1]"},
      {R"("socket")", R"(expected a JSON object at the top level, got "socket")"},
      {"", "postboxd.json: empty; expected a JSON object ({} keeps every default)"},
      {" \n\t", "postboxd.json: empty; expected a JSON object"},
      {"// only a comment\n",
       "postboxd.json: invalid JSON at byte 19, line 2, column 1: syntax error while parsing value "
       "- unexpected end of input"},
      {"{\"socket\": \"a\",}",
       "postboxd.json: invalid JSON at byte 16, line 1, column 16: syntax error while parsing "
       "object key"},
      {"{\n  \"socket\": \"a\"\n  \"spin_us\": 1\n}",
       "invalid JSON at byte 29, line 3, column 11: syntax error while parsing object - unexpected "
       "string literal; expected '}'"},
      {"{\"socket\": \"a\" /* unclosed", "invalid JSON at byte"},
      {"{\"socket\": 'a'}", "invalid JSON at byte 12, line 1, column 12"},
      {"{\"spin_us\": 1e400}", "postboxd.json: invalid JSON: number overflow parsing '1e400'"},
      {"{\"socket\": \"\xff\"}", "invalid JSON at byte"},
      {"{} {}", "invalid JSON at byte 4"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);

    const std::string error = load_error(c.text);

    EXPECT_NE(error.find(c.expected), std::string::npos) << "got: " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << "not one line: " << error;
  }
}

TEST(ConfigLoad, NamesTheOriginItWasGiven) {
  try {
    load_string(R"({"bogus": 1})", "/etc/postbox/other.json");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/etc/postbox/other.json: unknown key 'bogus'", 0), 0u)
        << e.what();
  }
}

// ---- validate() -------------------------------------------------------------

struct RuleCase {
  const char* name;
  std::function<void(Config&)> change;
  std::string expected;  // "" for a valid Config, else a substring of what()
};

TEST(ConfigValidate, ChecksEveryRangeAndCrossFieldRule) {
  const std::vector<RuleCase> cases = {
      {"defaults", [](Config&) {}, ""},
      {"smallest frame",
       [](Config& c) {
         c.max_frame_size = 4096;
         c.queue_defaults.max_message_size = 3840;
       },
       ""},
      {"largest frame", [](Config& c) { c.max_frame_size = 256u << 20; }, ""},
      {"message size at the ceiling",
       [](Config& c) { c.queue_defaults.max_message_size = (16u << 20) - 256; }, ""},
      {"longest socket path", [](Config& c) { c.socket_path = std::string(107, 's'); }, ""},
      {"spin at its limit", [](Config& c) { c.spin_us = 1'000'000; }, ""},
      {"frame too small", [](Config& c) { c.max_frame_size = 100; },
       "config: key 'max_frame_size': expected an integer 4096..268435456, got 100"},
      {"frame too large", [](Config& c) { c.max_frame_size = (256u << 20) + 1; }, "got 268435457"},
      {"message size over the ceiling",
       [](Config& c) { c.queue_defaults.max_message_size = (16u << 20) - 255; },
       "config: key 'queue_defaults.max_message_size': expected at most 16776960 (max_frame_size - "
       "256, room for the frame's headers), got 16776961"},
      {"no connections", [](Config& c) { c.max_connections = 0; },
       "config: key 'max_connections': expected an integer 1..4294967295, got 0"},
      {"no messages", [](Config& c) { c.queue_defaults.max_messages = 0; },
       "key 'queue_defaults.max_messages': expected an integer >= 1, got 0"},
      {"no bytes", [](Config& c) { c.queue_defaults.max_bytes = 0; },
       "key 'queue_defaults.max_bytes'"},
      {"no message size", [](Config& c) { c.queue_defaults.max_message_size = 0; },
       "key 'queue_defaults.max_message_size': expected an integer 1..268435200, got 0"},
      {"no output", [](Config& c) { c.max_pending_output = 0; }, "key 'max_pending_output'"},
      {"spin too long", [](Config& c) { c.spin_us = 1'000'001; },
       "config: key 'spin_us': expected an integer 0..1000000, got 1000001"},
      {"socket mode with sticky bit", [](Config& c) { c.socket_mode = 01777; },
       "config: key 'socket_mode': expected an integer 0..0777 or an octal string, got 01777"},
      {"queue mode too large", [](Config& c) { c.queue_defaults.mode = 01000; },
       "key 'queue_defaults.mode': expected an integer 0..0777 or an octal string, got 01000"},
      {"unknown log level (from a flag)", [](Config& c) { c.log_level = "verbose"; },
       R"(config: key 'log_level': expected one of trace, debug, info, warn, error, critical, off, got "verbose")"},
      {"socket path too long (from a flag)",
       [](Config& c) { c.socket_path = std::string(108, 's'); },
       "key 'socket': expected a path of at most 107 bytes"},
      {"bad queue name", [](Config& c) { c.queues = {named("no spaces")}; },
       R"(config: key 'queues[0].name': expected 1-255 bytes of [A-Za-z0-9._-], got "no spaces")"},
      {"duplicate queue",
       [](Config& c) {
         c.queues = {named("a"), named("a")};
       },
       R"(key 'queues[1].name': duplicate queue name "a" (also queues[0]))"},
      {"queue message size over the ceiling",
       [](Config& c) {
         c.queues = {named("a")};
         c.queues[0].max_message_size = 16u << 20;
       },
       "key 'queues[0].max_message_size': expected at most 16776960"},
      {"queue without room",
       [](Config& c) {
         c.queues = {named("a")};
         c.queues[0].max_messages = 0;
       },
       "key 'queues[0].max_messages': expected an integer >= 1, got 0"},
      {"queue without bytes",
       [](Config& c) {
         c.queues = {named("a")};
         c.queues[0].max_bytes = 0;
       },
       "key 'queues[0].max_bytes'"},
      {"queue mode too large",
       [](Config& c) {
         c.queues = {named("a")};
         c.queues[0].mode = 04000;
       },
       "key 'queues[0].mode': expected an integer 0..0777 or an octal string, got 04000"},
      {"every dispatch setting at its bounds",
       [](Config& c) {
         c.queue_defaults.max_deliveries = UINT32_MAX;
         c.queue_defaults.dead_letter = std::string(255, 'd');
         c.queue_defaults.lease_ms = 1;
         c.queue_defaults.ttl_ms = 3'155'760'000'000;
         c.queues = {named("a"), named("b")};
         c.queues[0].lease_ms = UINT32_MAX;
         c.queues[0].ttl_ms = 0;
         c.queues[1].dead_letter = "";
       },
       ""},
      {"no lease", [](Config& c) { c.queue_defaults.lease_ms = 0; },
       "config: key 'queue_defaults.lease_ms': expected an integer 1..4294967295, got 0"},
      {"TTL past 100 years", [](Config& c) { c.queue_defaults.ttl_ms = 3'155'760'000'001; },
       "config: key 'queue_defaults.ttl_ms': expected an integer 0..3155760000000, got "
       "3155760000001"},
      {"bad dead-letter name", [](Config& c) { c.queue_defaults.dead_letter = "no spaces"; },
       R"(config: key 'queue_defaults.dead_letter': expected a queue name (1-255 bytes of [A-Za-z0-9._-]) or "" for none, got "no spaces")"},
      {"queue without lease",
       [](Config& c) {
         c.queues = {named("a")};
         c.queues[0].lease_ms = 0;
       },
       "key 'queues[0].lease_ms': expected an integer 1..4294967295, got 0"},
      {"queue TTL past 100 years",
       [](Config& c) {
         c.queues = {named("a")};
         c.queues[0].ttl_ms = UINT64_MAX;
       },
       "key 'queues[0].ttl_ms': expected an integer 0..3155760000000, got 18446744073709551615"},
      {"queue with a bad dead-letter name",
       [](Config& c) {
         c.queues = {named("a")};
         c.queues[0].dead_letter = std::string(256, 'd');
       },
       "key 'queues[0].dead_letter': expected a queue name"},
      {"queue that is its own dead-letter queue",
       [](Config& c) {
         c.queues = {named("a")};
         c.queues[0].dead_letter = "a";
       },
       R"(config: key 'queues[0].dead_letter': expected the name of another queue (a queue cannot be its own dead-letter queue), got "a")"},
      {"queue that inherits its own name as dead-letter queue",
       [](Config& c) {
         c.queue_defaults.dead_letter = "a";
         c.queues = {named("a")};
       },
       R"(key 'queues[0].dead_letter': expected the name of another queue (a queue cannot be its own dead-letter queue), got "a" from queue_defaults.dead_letter)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Config sut;
    c.change(sut);

    const std::string error = validate_error(sut);

    if (c.expected.empty()) {
      EXPECT_EQ(error, "");
    } else {
      EXPECT_NE(error.find(c.expected), std::string::npos) << "got: " << error;
    }
  }
}

// ---- Overflow names -----------------------------------------------------------

TEST(ConfigOverflow, NamesRoundTripAndOthersAreRejected) {
  for (auto o : {Overflow::reject, Overflow::drop_oldest, Overflow::drop_lowest_priority}) {
    EXPECT_EQ(parse_overflow(to_string(o)), o);
  }
  EXPECT_EQ(to_string(Overflow::drop_lowest_priority), "drop-lowest-priority");
  for (const char* bad : {"", "Reject", "drop_oldest", "drop-oldest ", "drop"}) {
    EXPECT_EQ(parse_overflow(bad), std::nullopt) << bad;
  }
}

// ---- Files --------------------------------------------------------------------

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path =
      ::testing::TempDir() + "postbox_config_test_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigFile, LoadsAFileAndNamesItInErrors) {
  const std::string good = write_temp("good.json", R"({"spin_us": 3})");
  const std::string bad = write_temp("bad.json", R"({"spin_us": "3"})");

  EXPECT_EQ(load_file(good).spin_us, 3u);
  try {
    load_file(bad);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              bad + R"(: key 'spin_us': expected an integer 0..1000000, got "3")");
  }
  ::unlink(good.c_str());
  ::unlink(bad.c_str());
}

TEST(ConfigFile, UnreadableFileNamesThePathAndTheReason) {
  struct Case {
    std::string path;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"/nonexistent/postboxd.json",
       "/nonexistent/postboxd.json: cannot open: No such file or directory"},
      {"/", "/: cannot read: Is a directory"},
      {"", ": cannot open: No such file or directory"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    try {
      load_file(c.path);
      ADD_FAILURE() << "no error";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), c.expected);
    }
  }
}

TEST(ConfigFile, ShippedExampleIsValidAndShowsTheDefaults) {
  const Config sut = load_file(POSTBOX_EXAMPLE_CONFIG);

  EXPECT_NO_THROW(validate(sut));
  EXPECT_EQ(describe(sut), describe(Config{}));
}

TEST(ConfigFile, ShippedExampleMentionsEveryKey) {
  std::ifstream in(POSTBOX_EXAMPLE_CONFIG);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* key :
       {"socket",          "socket_mode",    "data_dir",           "log_level",   "queue_defaults",
        "max_messages",    "max_bytes",      "max_message_size",   "mode",        "overflow",
        "max_connections", "max_frame_size", "max_pending_output", "spin_us",     "disk_free_limit",
        "queues",          "name",           "max_deliveries",     "dead_letter", "lease_ms",
        "ttl_ms"}) {
    EXPECT_NE(text.find("\"" + std::string(key) + "\""), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace postbox::config
