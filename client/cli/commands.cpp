// The subcommands: each turns its validated arguments into library calls and prints the result.
#include "client/cli/commands.hpp"

#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <limits>

#include "client/cli/bench.hpp"
#include "client/cli/exit_status.hpp"
#include "client/cli/output.hpp"
#include "client/cli/stdout.hpp"
#include "client/cli/stop_signals.hpp"

namespace postbox::cli {

namespace {

// --lines batching: a batch is one SEND frame; several batches are in flight
// so the broker always has the next one while we encode. The sizes only need
// to amortise the per-request cost (about 256 messages do that for small
// messages) while keeping memory bounded.
constexpr std::size_t kBatchMessages = 256;
constexpr std::size_t kBatchBytes = 256 * 1024;
constexpr std::size_t kWindow = 8;
// recv --count/--follow: messages asked for per RECEIVE.
constexpr uint32_t kReceiveBatch = 256;

std::string read_all(std::FILE* f, const std::string& name) {
  std::string out;
  char buf[64 * 1024];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (std::ferror(f)) throw LocalError("cannot read " + name + ": " + std::strerror(errno));
  return out;
}

/// Opens --file, or stdin when it is not given.
struct Input {
  std::FILE* file = stdin;
  std::string name = "stdin";

  explicit Input(const std::optional<std::string>& path) {
    if (!path) return;
    name = "'" + *path + "'";
    file = std::fopen(path->c_str(), "rb");
    if (!file) throw LocalError("cannot open " + name + ": " + std::strerror(errno));
  }
  ~Input() {
    if (file != stdin) std::fclose(file);
  }
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;
};

/// Reads one line without its '\n'; false at the end of input. A last line
/// without '\n' still counts; an empty input has no lines.
bool read_line(std::FILE* f, std::string& line) {
  line.clear();
  int c;
  while ((c = std::getc(f)) != EOF) {
    if (c == '\n') return true;
    line.push_back(static_cast<char>(c));
  }
  return !line.empty();
}

/// --lines --json: one object per line sent (its id) or published (where it went).
void print_outcomes(const Invocation& inv, const Reply& r, std::size_t lines) {
  if (!inv.global.json) return;
  if (inv.command == Command::publish) {
    const std::string line = publish_json(r.published);
    for (std::size_t i = 0; i < lines; ++i) print_line(line);
    return;
  }
  for (uint64_t i = 0; i < r.count; ++i)
    print_line("{\"id\":" + std::to_string(r.first_id + i) + "}");
}

/// How send --lines splits and checks its input.
struct LineLimits {
  std::size_t batch_messages = kBatchMessages;
  std::size_t batch_bytes = kBatchBytes;
  std::size_t window = kWindow;   // batches in flight
  uint32_t max_message_size = 0;  // the queue's, 0 when it could not be read
};

/// A SEND is all or nothing, so a batch larger than the queue's limits would
/// fail with too_big where single sends would just wait for room: batches
/// stay well below the queue's limits.
/// publish --lines: one PUBLISH per line, many in flight. A publication is
/// all or nothing per queue, so a batch would be too big outright for a small
/// queue bound to the topic, and a nearly full drop-new queue would drop all
/// of it: single lines meet every queue exactly as `publish` does.
constexpr std::size_t kPublishWindow = 256;

LineLimits line_limits(Client& client, const std::string& queue, bool publish) {
  LineLimits l;
  l.batch_bytes = std::min<std::size_t>(kBatchBytes, client.server_info().max_frame_body / 2);
  if (publish) {
    l.batch_messages = 1;
    l.window = kPublishWindow;
    return l;
  }
  try {
    QueueStat s = client.stat(queue);
    l.batch_messages = std::clamp<uint64_t>(s.max_messages / 4, 1, l.batch_messages);
    l.batch_bytes = std::clamp<uint64_t>(s.max_bytes / 4, 1, l.batch_bytes);
    l.max_message_size = s.max_message_size;
  } catch (const Error& e) {
    // A write-only queue cannot be inspected, so a bad line cannot be caught
    // before it is sent: one line per batch, each answered before the next,
    // so nothing after a failed line is queued.
    if (e.errc() != Errc::permission_denied) throw;
    l.batch_messages = 1;
    l.window = 1;
  }
  return l;
}

std::string lines_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " line" : " lines");
}

/// send --lines (and publish --lines): batches of lines, several batches in
/// flight, replies in order. The first failure stops sending; the in-flight
/// batches are still answered, and the error names the first line not queued
/// and how many were.
int send_lines(Client& client, const Invocation& inv) {
  Input in(inv.send.file);
  const bool publish = inv.command == Command::publish;
  const LineLimits limits = line_limits(client, inv.queue, publish);

  struct InFlight {
    Client::Ticket ticket;
    std::size_t first_line;  // 1-based
    std::size_t lines;
  };
  struct Failure {
    std::size_t line;
    Errc code;
    std::string text;
  };
  std::deque<InFlight> window;
  std::optional<Failure> failure;
  std::size_t queued_before = 0;  // lines queued ahead of the failed one
  std::size_t queued_after = 0;   // by batches already in flight when it failed

  auto settle_one = [&] {
    InFlight b = window.front();
    window.pop_front();
    Reply r = client.wait(b.ticket);
    if (!r.ok()) {
      if (!failure) {
        auto code = static_cast<Errc>(r.error.value());
        failure = Failure{b.first_line, code, failure_text(code, r.error_message, inv.queue)};
      }
      return;
    }
    (failure ? queued_after : queued_before) += b.lines;
    print_outcomes(inv, r, b.lines);
  };

  std::vector<std::string> batch;
  std::size_t batch_bytes = 0;
  std::size_t line_no = 0;  // lines read so far
  auto ship = [&] {
    if (batch.empty()) return;
    const std::size_t first = line_no - batch.size() + 1;
    if (window.size() >= limits.window) settle_one();
    if (!failure) {
      try {
        window.push_back({publish ? client.start_publish_batch(inv.queue, batch, inv.send.options)
                                  : client.start_send_batch(inv.queue, batch, inv.send.options),
                          first, batch.size()});
      } catch (const Error& e) {  // refused before anything was buffered
        failure = Failure{first, e.errc(), failure_text(e, inv.queue)};
      }
      client.flush();
    }
    batch.clear();
    batch_bytes = 0;
  };

  std::string line;
  std::optional<Failure> bad_line;  // found before sending: it and later lines stay unsent
  while (!failure && read_line(in.file, line)) {
    if (limits.max_message_size != 0 && line.size() > limits.max_message_size) {
      ship();  // the lines before it are good
      bad_line =
          Failure{line_no + 1, Errc::too_big,
                  "a message of " + std::to_string(line.size()) + " bytes exceeds queue '" +
                      inv.queue + "' max_message_size " + std::to_string(limits.max_message_size)};
      break;
    }
    if (!batch.empty() && batch_bytes + line.size() > limits.batch_bytes) ship();
    ++line_no;
    batch_bytes += line.size();
    batch.push_back(std::move(line));
    if (batch.size() >= limits.batch_messages) ship();
  }
  const bool read_failed = !failure && !bad_line && std::ferror(in.file);
  const int read_errno = errno;
  if (!failure && !bad_line && !read_failed) ship();
  while (!window.empty()) settle_one();
  // Failures from earlier batches come first; every batch precedes bad_line.
  if (!failure) failure = std::move(bad_line);
  if (failure) {
    std::string text = "line " + std::to_string(failure->line) + ": " + failure->text + " (" +
                       lines_text(queued_before) + " queued before it";
    if (queued_after > 0) text += ", " + lines_text(queued_after) + " after it";
    throw Error(failure->code, text + ")");
  }
  if (read_failed)
    throw LocalError("cannot read " + in.name + ": " + std::strerror(read_errno) + " (" +
                     lines_text(queued_before) + " queued)");
  return kExitOk;
}

}  // namespace

std::string payload_of(const SendArgs& a) {
  if (a.payload) return *a.payload;
  Input in(a.file);
  return read_all(in.file, in.name);
}

namespace {

Reply receive(Client& client, const Invocation& inv, uint64_t want) {
  ReceiveOptions o = inv.recv.options;
  o.max_count =
      static_cast<uint32_t>(std::min<uint64_t>(want, std::numeric_limits<uint32_t>::max()));
  return client.wait(client.start_receive(inv.queue, o));
}

// recv --follow ends with status 0 on SIGINT/SIGTERM, without losing what the
// broker already took off the queue for us: the handler only half-closes the
// connection. The broker then answers a parked receive (shutting_down, after
// any reply it already produced) and closes, so the wait always returns; the
// loop prints what came and stops.
int g_follow_socket = -1;  // set before the handlers are installed

bool stopping() noexcept {
  return stop_flag().load();
}

/// A version 1 broker's stat has no lease, dead-letter or consumer keys.
bool speaks_jobs(const Client& client) {
  return client.server_info().version >= 2;
}

[[noreturn]] void throw_reply(const Reply& r) {
  throw Error(static_cast<Errc>(r.error.value()), r.error_message);
}

}  // namespace

// declare QUEUE [--exclusive] [--max-messages N] [--max-bytes N] [--max-message-size N]
//               [--mode OCTAL] [--overflow POLICY] [--durable] and the job settings
int run_declare(Client& client, const Invocation& inv) {
  auto r = client.declare(inv.queue, inv.declare);
  print_line(inv.global.json ? declare_json(r, speaks_jobs(client)) : declare_text(r));
  return kExitOk;
}

// delete QUEUE
int run_delete(Client& client, const Invocation& inv) {
  client.remove(inv.queue);
  if (inv.global.json) print_line("{}");
  return kExitOk;
}

// purge QUEUE
int run_purge(Client& client, const Invocation& inv) {
  uint64_t n = client.purge(inv.queue);
  if (inv.global.json)
    print_line("{\"purged\":" + std::to_string(n) + "}");
  else
    print_line("purged " + std::to_string(n) + " messages from '" + inv.queue + "'");
  return kExitOk;
}

// list
int run_list(Client& client, const Invocation& inv) {
  const QueueList list = client.queue_list();
  if (inv.global.json)
    print_line(queue_list_json(list, speaks_jobs(client)));
  else
    print(queue_list_text(list, speaks_jobs(client)));
  return kExitOk;
}

// status
int run_status(Client& client, const Invocation& inv) {
  const BrokerStatus s = client.status();
  if (inv.global.json)
    print_line(status_json(s));
  else
    print(status_text(s));
  return kExitOk;
}

// stat QUEUE
int run_stat(Client& client, const Invocation& inv) {
  auto s = client.stat(inv.queue);
  if (inv.global.json)
    print_line(stat_json(s, speaks_jobs(client)));
  else
    print(stat_text(s, speaks_jobs(client)));
  return kExitOk;
}

// send QUEUE [PAYLOAD] [--type N] [--priority P] [--timeout MS | --nowait] [--file F] [--lines]
//            [--correlation-id ID] [--reply-to QUEUE] [--header KEY=VALUE]...
//            [--delay MS] [--due TIME] [--ttl MS] [--key KEY]
int run_send(Client& client, const Invocation& inv) {
  if (inv.send.lines) return send_lines(client, inv);
  const SendResult r = client.send(inv.queue, payload_of(inv.send), inv.send.options);
  const bool keyed = inv.send.options.dedup_key.has_value();
  print_line(inv.global.json ? send_json(r, keyed) : send_text(r, keyed));
  return kExitOk;
}

// publish TOPIC [PAYLOAD] [--type N] [--priority P] [--file F] [--lines] and send's properties
//
// Prints how many queues took it (0 is no failure: nobody is bound); with
// --lines, --json prints one object per line.
int run_publish(Client& client, const Invocation& inv) {
  if (inv.send.lines) return send_lines(client, inv);
  const PublishResult r = client.publish(inv.queue, payload_of(inv.send), inv.send.options);
  print_line(inv.global.json ? publish_json(r) : publish_text(r));
  return kExitOk;
}

// recv QUEUE [--type N] [--except] [--timeout MS | --nowait] [--max-size N] [--truncate]
//            [--peek] [--count N | --follow] [--ack [--lease MS]]
//
// --follow ends with status 0 when interrupted (SIGINT, SIGTERM) or when a
// wait times out (e.g. --follow --nowait drains the queue); --count fails with 3 if a message does
// not come in time.
// --peek asks once for --count messages: peeking again would see the same ones.
int run_recv(Client& client, const Invocation& inv) {
  const RecvArgs& a = inv.recv;
  const TextForm form = a.options.ack ? TextForm::tag_payload : TextForm::payload;
  if (a.options.peek) {
    Reply r = receive(client, inv, a.count);
    if (!r.ok()) throw_reply(r);
    std::size_t got = print_messages(inv, r.messages, form);
    if (got < a.count)
      throw Error(Errc::no_message, "only " + std::to_string(got) + " of " +
                                        std::to_string(a.count) + " messages in queue '" +
                                        inv.queue + "'");
    return kExitOk;
  }
  if (!a.follow) {
    for (uint64_t left = a.count; left > 0;) {
      Reply r = receive(client, inv, std::min<uint64_t>(left, kReceiveBatch));
      if (!r.ok()) throw_reply(r);
      left -= print_messages(inv, r.messages, form);
    }
    return kExitOk;
  }
  if (g_follow_socket < 0)
    throw LocalError("cannot find the connection's socket to stop recv --follow cleanly");
  install_stop_handlers(g_follow_socket);
  while (!stopping()) {
    Reply r;
    try {
      r = receive(client, inv, kReceiveBatch);
    } catch (const Error&) {
      // Interrupted between receives: the half-closed connection refused the
      // next request or reported its end. No receive was pending, so nothing is lost.
      if (stopping()) return kExitOk;
      throw;
    }
    if (r.error == make_error_code(Errc::no_message)) return kExitOk;
    if (stopping() && r.error == make_error_code(Errc::shutting_down)) return kExitOk;
    if (!r.ok()) throw_reply(r);
    print_messages(inv, r.messages, form);
  }
  return kExitOk;
}

int run(const Invocation& inv) {
  if (inv.command == Command::bench) return run_bench(inv.global);
  try {
    Client client(inv.global.socket.empty() ? default_socket_path() : inv.global.socket,
                  "postbox-cli");
    if (inv.command == Command::recv && inv.recv.follow) g_follow_socket = client.native_handle();
    int status = kExitFailure;
    switch (inv.command) {
      case Command::declare:
        status = run_declare(client, inv);
        break;
      case Command::remove:
        status = run_delete(client, inv);
        break;
      case Command::purge:
        status = run_purge(client, inv);
        break;
      case Command::list:
        status = run_list(client, inv);
        break;
      case Command::stat:
        status = run_stat(client, inv);
        break;
      case Command::status:
        status = run_status(client, inv);
        break;
      case Command::send:
        status = run_send(client, inv);
        break;
      case Command::recv:
        status = run_recv(client, inv);
        break;
      case Command::ack:
      case Command::nack:
      case Command::touch:
      case Command::reject:
        status = run_settle(client, inv);
        break;
      case Command::move:
        status = run_move(client, inv);
        break;
      case Command::consume:
        status = run_consume(client, inv);
        break;
      case Command::bind:
      case Command::unbind:
        status = run_bind(client, inv);
        break;
      case Command::bindings:
        status = run_bindings(client, inv);
        break;
      case Command::publish:
        status = run_publish(client, inv);
        break;
      case Command::subscribe:
        status = run_subscribe(client, inv);
        break;
      case Command::request:
        status = run_request(client, inv);
        break;
      case Command::respond:
        status = run_respond(client, inv);
        break;
      case Command::bench:
        break;  // handled above: it makes its own connections
    }
    if (std::fflush(stdout) != 0)
      throw LocalError(std::string("cannot write to stdout: ") + std::strerror(errno));
    return status;
  } catch (const Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "postbox: %s\n", failure_text(e, inv.queue).c_str());
    return exit_status(e.errc());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "postbox: %s\n", e.what());
    return kExitFailure;
  }
}

}  // namespace postbox::cli
