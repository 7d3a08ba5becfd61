// The postbox command line: CLI11 collects raw strings, then each flag is validated here.
#include "client/cli/parse.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <limits>
#include <sstream>
#include <tuple>

#include "client/cli/bench.hpp"
#include "client/cli/exit_status.hpp"

namespace postbox::cli {

namespace {

constexpr std::string_view kVersion = "postbox 0.1.0";
constexpr int64_t kMaxType = std::numeric_limits<int64_t>::max();  // PROTOCOL.md "Limits": 2^63-1
// 0xFFFFFFFF is the wire's "forever", so finite limits stop one below.
constexpr uint64_t kMaxTimeoutMs = 0xFFFFFFFEu;
constexpr uint64_t kMaxSize = 0xFFFFFFFEu;
constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();
// Delays and TTLs: as long as their nanoseconds fit an int64 (292 years).
constexpr uint64_t kMaxDurationMs = std::numeric_limits<int64_t>::max() / 1'000'000;
constexpr std::size_t kMaxKey = 1024;  // PROTOCOL.md: dedup_key is 1..1024 bytes

constexpr const char* kFooter =
    "Exit status: 0 ok, 1 other failure, 2 usage, 3 no message, 4 queue full,\n"
    "5 no such queue, 6 queue exists, 7 permission denied, 8 broker unreachable,\n"
    "9 message too big, 10 no such lease (ack, nack, touch, reject),\n"
    "11 the broker's durable log cannot be written (disk full, I/O error).\n"
    "request: 3 no reply within --timeout, 5 no queue of that name and nobody\n"
    "bound to the topic.";

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

/// Raw option text as CLI11 saw it; each is validated after parsing.
struct RawFlags {
  std::string type, priority, timeout, max_messages, max_bytes, max_message_size, mode, overflow,
      max_size, count, correlation_id, reply_to, file, delay, ttl, key, due, lease, max_deliveries,
      dead_letter, prefetch, destination;
  std::optional<std::string> payload;
  std::string pattern, respond_queue;
  std::vector<std::string> headers, tags, patterns;
  bool exclusive = false, nowait = false, lines = false, except = false, truncate = false,
       peek = false, follow = false, ack = false, to_queue = false, to_topic = false,
       durable = false;
};

/// The parser and the options of each subcommand, kept together so the
/// validators can ask which flags were given.
struct Parser {
  CLI::App app{"postbox: send and receive messages through postboxd", "postbox"};
  GlobalOptions global;
  std::string queue;
  RawFlags raw;
  std::map<Command, CLI::App*> subcommands;

  Parser() {
    app.set_version_flag("--version", std::string(kVersion));
    app.add_option("--socket", global.socket,
                   "broker socket (default: $POSTBOX_SOCKET or the standard path)");
    app.add_flag("--json", global.json, "machine-readable output, one JSON object per line");
    app.require_subcommand(1);
    app.footer(kFooter);
    add_declare();
    add_queue_command(Command::remove, "delete", "delete a queue and its messages");
    add_queue_command(Command::purge, "purge", "drop every message of a queue");
    add_queue_command(Command::stat, "stat", "show a queue's limits and counters");
    subcommands[Command::list] = add_sub("list", "list the queues you may read");
    subcommands[Command::status] =
        add_sub("status", "show the broker's version, uptime, connections and durable log");
    add_send();
    add_recv();
    add_consume();
    add_settle(Command::ack, "ack", "acknowledge leased messages: done, removed");
    add_settle(Command::nack, "nack", "return leased messages to their queue")
        ->add_option("--delay", raw.delay, "hidden for MS milliseconds first (default 0)");
    subcommands[Command::nack]->add_option("--priority", raw.priority,
                                           "their new priority 0..255 (default: kept)");
    add_settle(Command::touch, "touch", "extend leases")
        ->add_option("--lease", raw.lease,
                     "new lease length in MS from now (default: the lease's own length)");
    add_settle(Command::reject, "reject", "send leased messages to the dead-letter queue");
    add_move();
    add_topics();
    // Listed for --help only: main() hands `worker` to its own parser first,
    // since everything after `--` belongs to COMMAND.
    add_sub("worker",
            "run COMMAND once per message: worker QUEUE [OPTIONS] -- COMMAND ARGS... "
            "(see worker --help)");
    add_bench_options(
        *(subcommands[Command::bench] = add_sub("bench", "measure throughput and latency")));
  }

  CLI::App* add_sub(const char* name, const char* help) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->fallthrough();  // global flags may follow the subcommand
    return sub;
  }

  CLI::App* add_queue_command(Command c, const char* name, const char* help) {
    CLI::App* sub = add_sub(name, help);
    sub->add_option("QUEUE", queue, "queue name")->required();
    subcommands[c] = sub;
    return sub;
  }

  void add_declare() {
    CLI::App* sub =
        add_queue_command(Command::declare, "declare", "create a queue (or open an existing one)");
    sub->add_flag("--exclusive", raw.exclusive, "fail if the queue exists");
    sub->add_option("--max-messages", raw.max_messages, "most messages queued at once");
    sub->add_option("--max-bytes", raw.max_bytes, "most payload bytes queued at once");
    sub->add_option("--max-message-size", raw.max_message_size, "largest payload in bytes");
    sub->add_option("--mode", raw.mode, "permission bits in octal, e.g. 0660");
    sub->add_option("--overflow", raw.overflow,
                    "reject | drop-oldest | drop-lowest-priority | drop-new (publications: drop "
                    "the copy, sends: reject)");
    sub->add_option("--max-deliveries", raw.max_deliveries,
                    "dead-letter a message returned after N deliveries (0: unlimited)");
    sub->add_option("--dead-letter", raw.dead_letter,
                    "queue for rejected, too often delivered and expired messages");
    sub->add_option("--lease", raw.lease, "default lease length in MS (broker default 30000)");
    sub->add_option("--ttl", raw.ttl, "default time to live in MS (0: none)");
    sub->add_flag("--durable", raw.durable,
                  "keep the queue and its messages in the broker's log, across restarts and "
                  "crashes (fixed at creation)");
  }

  void add_send() {
    CLI::App* sub =
        add_queue_command(Command::send, "send", "send a message (PAYLOAD, --file or stdin)");
    sub->add_option("--timeout", raw.timeout,
                    "wait at most MS milliseconds while full (default: forever)");
    sub->add_flag("--nowait", raw.nowait, "fail at once if the queue is full");
    add_message_flags(sub);
  }

  /// What send and publish share: the payload and the message's properties.
  void add_message_flags(CLI::App* sub) {
    sub->add_option("PAYLOAD", raw.payload, "message payload");
    sub->add_option("--type", raw.type, "message type 1..2^63-1 (default 1)");
    sub->add_option("--priority", raw.priority, "priority 0..255, higher first (default 0)");
    sub->add_option("--file", raw.file, "read the payload from a file");
    sub->add_flag("--lines", raw.lines, "send one message per input line");
    sub->add_option("--correlation-id", raw.correlation_id, "correlation id property");
    sub->add_option("--reply-to", raw.reply_to, "reply-to queue property");
    sub->add_option("--header", raw.headers, "KEY=VALUE header, repeatable")
        ->allow_extra_args(false);
    sub->add_option("--delay", raw.delay, "invisible for MS milliseconds");
    sub->add_option(
        "--due", raw.due,
        "invisible until TIME (RFC 3339, or ns since the epoch); with --delay the later");
    sub->add_option("--ttl", raw.ttl, "discarded (or dead-lettered) after MS if still queued");
    sub->add_option("--key", raw.key,
                    "dedup key: nothing is added while the queue holds a message with it");
  }

  void add_recv() {
    CLI::App* sub =
        add_queue_command(Command::recv, "recv", "receive messages, one payload per line");
    sub->add_option("--type", raw.type, "0 any (default), N exactly N, -N lowest type <= N");
    sub->add_flag("--except", raw.except, "the first message whose type is not --type");
    sub->add_option("--timeout", raw.timeout, "wait at most MS milliseconds (default: forever)");
    sub->add_flag("--nowait", raw.nowait, "fail at once if no message matches");
    sub->add_option("--max-size", raw.max_size, "largest payload accepted, in bytes");
    sub->add_flag("--truncate", raw.truncate,
                  "cut longer payloads to --max-size instead of failing");
    sub->add_flag("--peek", raw.peek, "leave the messages in the queue");
    sub->add_option("--count", raw.count, "receive N messages (default 1)");
    sub->add_flag("--follow", raw.follow, "keep receiving until interrupted");
    sub->add_flag("--ack", raw.ack,
                  "lease instead of remove; prints TAG<tab>PAYLOAD, settle with postbox ack TAG");
    sub->add_option("--lease", raw.lease, "with --ack: lease length in MS (default: the queue's)");
  }

  void add_consume() {
    CLI::App* sub = add_queue_command(Command::consume, "consume",
                                      "stream messages pushed by the broker until interrupted");
    sub->add_option("--type", raw.type, "0 any (default), N exactly N, -N lowest type <= N");
    sub->add_flag("--except", raw.except, "messages whose type is not --type");
    sub->add_flag("--ack", raw.ack, "lease each message and acknowledge it once printed");
    sub->add_option("--prefetch", raw.prefetch, "with --ack: most unacknowledged at once (64)");
    sub->add_option("--lease", raw.lease, "with --ack: lease length in MS (default: the queue's)");
    sub->add_option("--count", raw.count, "stop after N messages");
  }

  /// ack, nack, touch, reject: one or more TAGs.
  CLI::App* add_settle(Command c, const char* name, const char* help) {
    CLI::App* sub = add_sub(name, help);
    sub->add_option("TAG", raw.tags, "delivery tags (from recv --ack)")->required();
    subcommands[c] = sub;
    return sub;
  }

  void add_move() {
    CLI::App* sub = add_sub("move", "move ready messages to another queue, keeping them intact");
    sub->add_option("SOURCE", queue, "queue to take from")->required();
    sub->add_option("DEST", raw.destination, "queue to append to")->required();
    sub->add_option("--count", raw.count, "move at most N (default: all)");
    sub->add_option("--type", raw.type, "0 any (default), N exactly N, -N lowest type <= N");
    subcommands[Command::move] = sub;
  }

  void add_topics() {
    for (auto [c, name, help] :
         {std::tuple{Command::bind, "bind", "bind a queue to a topic pattern (* one word, # any)"},
          std::tuple{Command::unbind, "unbind", "remove a queue's binding to a pattern"}}) {
      CLI::App* sub = add_queue_command(c, name, help);
      sub->add_option("PATTERN", raw.pattern, "topic pattern, e.g. sensors.*.temp")->required();
    }
    CLI::App* sub = add_sub("bindings", "list bindings (of QUEUE) and the publish counters");
    sub->add_option("QUEUE", queue, "only this queue's bindings");
    subcommands[Command::bindings] = sub;

    sub = add_sub("publish", "publish a message to every queue bound to TOPIC");
    sub->add_option("TOPIC", queue, "dot-separated words, e.g. sensors.kitchen.temp")->required();
    add_message_flags(sub);
    subcommands[Command::publish] = sub;

    sub = add_sub("subscribe", "stream what is published to matching topics until interrupted");
    sub->add_option("PATTERN", raw.patterns, "topic patterns (* one word, # zero or more)")
        ->required();
    subcommands[Command::subscribe] = sub;

    sub = add_sub("request", "send or publish a request and print the first reply");
    sub->add_option("TARGET", queue, "a queue, else a topic to publish to")->required();
    sub->add_option("PAYLOAD", raw.payload, "request payload (default: stdin)");
    sub->add_option("--timeout", raw.timeout, "wait at most MS for the reply (default 5000)");
    sub->add_flag("--queue", raw.to_queue, "TARGET is a queue: never publish");
    sub->add_flag("--topic", raw.to_topic, "TARGET is a topic: always publish");
    sub->add_option("--type", raw.type, "message type 1..2^63-1 (default 1)");
    sub->add_option("--priority", raw.priority, "priority 0..255, higher first (default 0)");
    sub->add_option("--header", raw.headers, "KEY=VALUE header, repeatable")
        ->allow_extra_args(false);
    subcommands[Command::request] = sub;

    sub = add_sub("respond",
                  "answer requests: respond (PATTERN... | --queue Q) "
                  "-- COMMAND [ARGS...]");
    sub->add_option("PATTERN", raw.patterns, "serve requests published to matching topics");
    sub->add_option("--queue", raw.respond_queue, "serve requests sent to this queue instead");
    sub->footer(
        "Runs COMMAND (searched in PATH, no shell) once per request, with the payload on\n"
        "stdin and the environment of `postbox worker`; exit 0 sends its stdout to the\n"
        "request's reply_to with its correlation id, anything else sends no reply.\n"
        "Requests without reply_to are taken and skipped. SIGINT/SIGTERM: exit 0.");
    subcommands[Command::respond] = sub;
  }

  bool given(Command c, const char* flag) const { return subcommands.at(c)->count(flag) > 0; }

  Command selected() const {
    for (const auto& [command, sub] : subcommands)
      if (sub->parsed()) return command;
    throw UsageError("a subcommand is required");  // require_subcommand(1) makes this unreachable
  }
};

void exclusive_flags(const Parser& p, Command c, const char* a, const char* b) {
  if (p.given(c, a) && p.given(c, b))
    throw UsageError(std::string(a) + " and " + b + " cannot be used together");
}

Timeout timeout_flag(const Parser& p, Command c) {
  exclusive_flags(p, c, "--timeout", "--nowait");
  if (p.raw.nowait) return kNoWait;
  if (p.given(c, "--timeout"))
    return std::chrono::milliseconds(parse_unsigned("--timeout", p.raw.timeout, 0, kMaxTimeoutMs));
  return kForever;
}

std::chrono::milliseconds ms_flag(const char* flag, const std::string& text, uint64_t min,
                                  uint64_t max) {
  return std::chrono::milliseconds(parse_unsigned(flag, text, min, max));
}

/// --lease (and the like) only make sense with --ack.
void needs_ack(const Parser& p, Command c, const char* flag, bool ack, const char* what) {
  if (p.given(c, flag) && !ack) throw UsageError(std::string(flag) + " needs " + what);
}

QueueOptions declare_options(const Parser& p) {
  constexpr Command c = Command::declare;
  QueueOptions o;
  o.exclusive = p.raw.exclusive;
  if (p.given(c, "--max-messages"))
    o.max_messages = parse_unsigned("--max-messages", p.raw.max_messages, 1, kMax64);
  if (p.given(c, "--max-bytes"))
    o.max_bytes = parse_unsigned("--max-bytes", p.raw.max_bytes, 1, kMax64);
  if (p.given(c, "--max-message-size"))
    o.max_message_size = static_cast<uint32_t>(
        parse_unsigned("--max-message-size", p.raw.max_message_size, 1, kMax32));
  if (p.given(c, "--mode")) o.mode = parse_mode("--mode", p.raw.mode);
  if (p.given(c, "--overflow")) {
    o.overflow = parse_overflow(p.raw.overflow);
    if (!o.overflow)
      throw UsageError(
          "--overflow: expected reject, drop-oldest, drop-lowest-priority or drop-new, got " +
          in_quotes(p.raw.overflow));
  }
  if (p.given(c, "--max-deliveries"))
    o.max_deliveries =
        static_cast<uint32_t>(parse_unsigned("--max-deliveries", p.raw.max_deliveries, 0, kMax32));
  if (p.given(c, "--dead-letter")) o.dead_letter = p.raw.dead_letter;  // "" clears it
  if (p.given(c, "--lease")) o.lease = ms_flag("--lease", p.raw.lease, 1, kMax32);
  if (p.given(c, "--ttl")) o.ttl = ms_flag("--ttl", p.raw.ttl, 0, kMaxDurationMs);
  o.durable = p.raw.durable;
  return o;
}

/// send and publish (which never waits, so it has no --timeout).
SendArgs send_args(const Parser& p, Command c) {
  SendArgs a;
  a.payload = p.raw.payload;
  if (p.given(c, "--file")) a.file = p.raw.file;
  a.lines = p.raw.lines;
  if (a.payload && a.file) throw UsageError("PAYLOAD and --file cannot be used together");
  if (a.payload && a.lines) throw UsageError("PAYLOAD and --lines cannot be used together");
  SendOptions& o = a.options;
  if (p.given(c, "--type")) o.type = parse_signed("--type", p.raw.type, 1, kMaxType);
  if (p.given(c, "--priority"))
    o.priority = static_cast<uint8_t>(parse_unsigned("--priority", p.raw.priority, 0, 255));
  if (c == Command::send) o.timeout = timeout_flag(p, c);
  if (p.given(c, "--correlation-id")) o.correlation_id = p.raw.correlation_id;
  if (p.given(c, "--reply-to")) {
    if (p.raw.reply_to.empty()) throw UsageError("--reply-to: expected a queue name, got ''");
    o.reply_to = p.raw.reply_to;
  }
  for (const auto& h : p.raw.headers) o.headers.push_back(parse_header("--header", h));
  if (p.given(c, "--delay")) o.delay = ms_flag("--delay", p.raw.delay, 0, kMaxDurationMs);
  if (p.given(c, "--due")) o.due = parse_time("--due", p.raw.due);
  if (p.given(c, "--ttl")) o.ttl = ms_flag("--ttl", p.raw.ttl, 1, kMaxDurationMs);
  if (p.given(c, "--key")) {
    // Every line would carry the same key, so all but the first would be duplicates.
    if (a.lines) throw UsageError("--key and --lines cannot be used together");
    if (p.raw.key.empty() || p.raw.key.size() > kMaxKey)
      throw UsageError("--key: expected 1.." + std::to_string(kMaxKey) + " bytes, got " +
                       std::to_string(p.raw.key.size()));
    o.dedup_key = p.raw.key;
  }
  return a;
}

RecvArgs recv_args(const Parser& p) {
  constexpr Command c = Command::recv;
  RecvArgs a;
  ReceiveOptions& o = a.options;
  // INT64_MIN is excluded: its magnitude, the bound for negative types, is not an int64.
  if (p.given(c, "--type")) o.type = parse_signed("--type", p.raw.type, -kMaxType, kMaxType);
  o.except = p.raw.except;
  o.timeout = timeout_flag(p, c);
  if (p.given(c, "--max-size"))
    o.max_size = static_cast<uint32_t>(parse_unsigned("--max-size", p.raw.max_size, 0, kMaxSize));
  o.truncate = p.raw.truncate;
  o.peek = p.raw.peek;
  exclusive_flags(p, c, "--count", "--follow");
  exclusive_flags(p, c, "--peek", "--follow");
  if (p.given(c, "--count"))
    a.count = parse_unsigned("--count", p.raw.count, 1, std::numeric_limits<uint64_t>::max());
  a.follow = p.raw.follow;
  exclusive_flags(p, c, "--ack", "--peek");
  needs_ack(p, c, "--lease", p.raw.ack, "--ack");
  // Detached, so that another process (postbox ack TAG) may settle the lease.
  o.ack = o.detached = p.raw.ack;
  if (p.given(c, "--lease")) o.lease = ms_flag("--lease", p.raw.lease, 1, kMax32);
  return a;
}

ConsumeArgs consume_args(const Parser& p) {
  constexpr Command c = Command::consume;
  ConsumeArgs a;
  ConsumeOptions& o = a.options;
  if (p.given(c, "--type")) o.type = parse_signed("--type", p.raw.type, -kMaxType, kMaxType);
  o.except = p.raw.except;
  if (p.given(c, "--count")) a.count = parse_unsigned("--count", p.raw.count, 1, kMax64);
  // --count leases too: what the broker pushes beyond N would otherwise be lost.
  o.ack = p.raw.ack || a.count;
  needs_ack(p, c, "--prefetch", o.ack, "--ack or --count");
  needs_ack(p, c, "--lease", o.ack, "--ack or --count");
  if (p.given(c, "--prefetch"))
    o.prefetch = static_cast<uint32_t>(parse_unsigned("--prefetch", p.raw.prefetch, 1, kMax32));
  if (p.given(c, "--lease")) o.lease = ms_flag("--lease", p.raw.lease, 1, kMax32);
  return a;
}

SettleArgs settle_args(const Parser& p, Command c) {
  SettleArgs a;
  for (const auto& t : p.raw.tags) a.tags.push_back(parse_unsigned("TAG", t, 1, kMax64));
  if (c == Command::nack) {
    if (p.given(c, "--delay")) a.nack.delay = ms_flag("--delay", p.raw.delay, 0, kMax32);
    if (p.given(c, "--priority"))
      a.nack.priority = static_cast<uint8_t>(parse_unsigned("--priority", p.raw.priority, 0, 255));
  }
  if (c == Command::touch && p.given(c, "--lease"))
    a.lease = ms_flag("--lease", p.raw.lease, 1, kMax32);
  return a;
}

RequestArgs request_args(const Parser& p) {
  constexpr Command c = Command::request;
  RequestArgs a;
  a.payload = p.raw.payload;
  RequestOptions& o = a.options;
  if (p.given(c, "--timeout")) o.timeout = ms_flag("--timeout", p.raw.timeout, 0, kMaxTimeoutMs);
  exclusive_flags(p, c, "--queue", "--topic");
  if (p.raw.to_queue) o.to = RequestTarget::queue;
  if (p.raw.to_topic) o.to = RequestTarget::topic;
  if (p.given(c, "--type")) o.type = parse_signed("--type", p.raw.type, 1, kMaxType);
  if (p.given(c, "--priority"))
    o.priority = static_cast<uint8_t>(parse_unsigned("--priority", p.raw.priority, 0, 255));
  for (const auto& h : p.raw.headers) o.headers.push_back(parse_header("--header", h));
  return a;
}

/// respond: `command` is what followed `--` (split off before parsing).
RespondArgs respond_args(const Parser& p, std::vector<std::string> command) {
  constexpr Command c = Command::respond;
  RespondArgs a;
  a.patterns = p.raw.patterns;
  const bool queue = p.given(c, "--queue");
  if (queue == !a.patterns.empty())
    throw UsageError("respond: expected PATTERN... or --queue QUEUE (one of the two)");
  if (queue && p.raw.respond_queue.empty())
    throw UsageError("--queue: expected a queue name, got ''");
  if (command.empty() || command.front().empty())
    throw UsageError(
        "respond: expected '-- COMMAND [ARGS...]' after the options "
        "(e.g. postbox respond lookup.user -- ./lookup)");
  a.command = std::move(command);
  return a;
}

MoveArgs move_args(const Parser& p) {
  constexpr Command c = Command::move;
  MoveArgs a;
  a.destination = p.raw.destination;
  if (a.destination.empty()) throw UsageError("DEST: expected a queue name, got ''");
  if (p.given(c, "--count")) a.options.count = parse_unsigned("--count", p.raw.count, 1, kMax64);
  if (p.given(c, "--type"))
    a.options.type = parse_signed("--type", p.raw.type, -kMaxType, kMaxType);
  return a;
}

Invocation validate(const Parser& p, std::vector<std::string> after_dashes) {
  Invocation inv;
  inv.global = p.global;
  inv.command = p.selected();
  inv.queue = p.queue;
  if (p.app.count("--socket") && inv.global.socket.empty())
    throw UsageError("--socket: expected a path, got ''");
  switch (inv.command) {
    case Command::declare:
      inv.declare = declare_options(p);
      break;
    case Command::send:
      inv.send = send_args(p, inv.command);
      break;
    case Command::publish:
      inv.send = send_args(p, inv.command);
      if (inv.queue.empty()) throw UsageError("TOPIC: expected a topic, got ''");
      return inv;
    case Command::bind:
    case Command::unbind:
      inv.pattern = p.raw.pattern;
      break;
    case Command::bindings:
      return inv;  // "": every queue's
    case Command::subscribe:
      inv.patterns = p.raw.patterns;
      return inv;
    case Command::request:
      inv.request = request_args(p);
      if (inv.queue.empty()) throw UsageError("TARGET: expected a queue or topic, got ''");
      return inv;
    case Command::respond:
      inv.respond = respond_args(p, std::move(after_dashes));
      inv.queue = p.raw.respond_queue;
      return inv;
    case Command::recv:
      inv.recv = recv_args(p);
      break;
    case Command::consume:
      inv.consume = consume_args(p);
      break;
    case Command::ack:
    case Command::nack:
    case Command::touch:
    case Command::reject:
      inv.settle = settle_args(p, inv.command);
      return inv;  // no queue: a tag names its lease
    case Command::move:
      inv.move = move_args(p);
      if (inv.queue.empty()) throw UsageError("SOURCE: expected a queue name, got ''");
      return inv;
    case Command::remove:
    case Command::purge:
    case Command::list:
    case Command::stat:
    case Command::bench:
    case Command::status:
      break;
  }
  if (inv.command != Command::list && inv.command != Command::status &&
      inv.command != Command::bench && inv.queue.empty())
    throw UsageError("QUEUE: expected a queue name, got ''");
  return inv;
}

/// CLI11's text, except that a word where a subcommand belongs is named as
/// such instead of "A subcommand is required".
std::string parse_error_text(const Parser& p, const CLI::ParseError& e, int argc,
                             const char* const* argv) {
  if (!p.app.get_subcommands().empty()) return e.what();
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--socket")
      ++i;  // skip its value
    else if (!arg.starts_with("-"))
      return "unknown command " + in_quotes(arg) + " (see --help)";
  }
  return e.what();
}

std::string range_text(std::string_view flag, std::string_view text, auto min, auto max) {
  return std::string(flag) + ": expected an integer " + std::to_string(min) + ".." +
         std::to_string(max) + ", got " + in_quotes(text);
}

}  // namespace

uint64_t parse_unsigned(std::string_view flag, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  // from_chars takes no sign, spaces or prefixes, so "+1", " 1" and "0x1" fail too.
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 10);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
    throw UsageError(range_text(flag, text, min, max));
  return v;
}

int64_t parse_signed(std::string_view flag, std::string_view text, int64_t min, int64_t max) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 10);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
    throw UsageError(range_text(flag, text, min, max));
  return v;
}

uint32_t parse_mode(std::string_view flag, std::string_view text) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 8);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > 0777)
    throw UsageError(std::string(flag) + ": expected octal permission bits 0..0777, got " +
                     in_quotes(text));
  return v;
}

std::pair<std::string, std::string> parse_header(std::string_view flag, std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw UsageError(std::string(flag) + ": expected KEY=VALUE, got " + in_quotes(text));
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

std::string_view subcommand_word(int argc, const char* const* argv) {
  // The global flags parse() accepts before a subcommand.
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--json" || arg.starts_with("--socket=")) continue;
    if (arg == "--socket") {
      ++i;  // its value
      continue;
    }
    return arg;
  }
  return {};
}

Parsed parse(int argc, const char* const* argv) {
  Parsed out;
  Parser p;
  try {
    // respond: what follows `--` is COMMAND, not patterns, so CLI11 never sees it.
    std::vector<std::string> after_dashes;
    if (subcommand_word(argc, argv) == "respond") {
      const auto* dashes = std::find_if(argv, argv + argc,
                                        [](const char* a) { return std::string_view(a) == "--"; });
      if (dashes != argv + argc)
        for (const auto* a = dashes + 1; a != argv + argc; ++a) after_dashes.emplace_back(*a);
      argc = static_cast<int>(dashes - argv);
    }
    p.app.parse(argc, argv);
    out.invocation = validate(p, std::move(after_dashes));
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version
      std::ostringstream o, err;
      p.app.exit(e, o, err);
      out.output = o.str();
      out.exit_status = 0;
    } else {
      out.error = "postbox: " + parse_error_text(p, e, argc, argv) + "\n";
      out.exit_status = kExitUsage;
    }
  } catch (const UsageError& e) {
    out.error = std::string("postbox: ") + e.what() + "\n";
    out.exit_status = kExitUsage;
  }
  return out;
}

}  // namespace postbox::cli
