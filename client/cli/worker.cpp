// `postbox worker`: its command line (split at `--`), validation, and the connection it runs on.
#include "client/cli/worker.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string_view>

#include "client/cli/exit_status.hpp"
#include "client/cli/output.hpp"
#include "client/cli/parse.hpp"
#include "client/cli/worker_job.hpp"
#include "client/cli/worker_loop.hpp"
#include "postbox/client.hpp"

extern char** environ;

namespace postbox::cli {

namespace {

constexpr std::string_view kSubcommand = "worker";
constexpr int64_t kMaxType = std::numeric_limits<int64_t>::max();
constexpr uint64_t kMaxMs = std::numeric_limits<uint32_t>::max();  // lease and delay: u32 ms
// A typo catcher: each running command is a process and two descriptors.
constexpr uint64_t kMaxConcurrency = 4096;
// A queue whose STAT has no lease_ms (it always has one in version 2).
constexpr std::chrono::milliseconds kBrokerDefaultLease{30'000};

constexpr const char* kFooter =
    "Runs COMMAND (searched in PATH, no shell) once per message, with the payload on\n"
    "stdin and POSTBOX_ID, POSTBOX_QUEUE, POSTBOX_TYPE, POSTBOX_PRIORITY,\n"
    "POSTBOX_DELIVERY_COUNT, POSTBOX_TAG, POSTBOX_CORRELATION_ID, POSTBOX_REPLY_TO and\n"
    "POSTBOX_HEADER_<KEY> (KEY upper-cased, other than A-Z 0-9 -> _) in the environment.\n"
    "Exit 0 acks the message; anything else nacks it after\n"
    "min(backoff * 2^(delivery count - 1), max-backoff), priority kept. Leases are\n"
    "touched every third of their length while COMMAND runs. SIGTERM/SIGINT: take no\n"
    "more work, wait for running commands, settle them, exit 0; a second signal sends\n"
    "them SIGTERM, a third SIGKILL. Lost connection: wait for them, exit 8.";

struct RawWorkerFlags {
  std::string type, concurrency, lease, backoff, max_backoff;
  bool except = false, json = false;
};

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::chrono::milliseconds ms_flag(const char* flag, const std::string& text, uint64_t min) {
  return std::chrono::milliseconds(parse_unsigned(flag, text, min, kMaxMs));
}

}  // namespace

bool is_worker_invocation(int argc, const char* const* argv) {
  return subcommand_word(argc, argv) == kSubcommand;
}

WorkerParsed parse_worker(int argc, const char* const* argv) {
  WorkerParsed out;
  // Everything after the first `--` is COMMAND and its ARGS, untouched.
  const auto* dashes =
      std::find_if(argv, argv + argc, [](const char* a) { return std::string_view(a) == "--"; });
  const bool has_dashes = dashes != argv + argc;
  std::vector<std::string> command;
  if (has_dashes)
    for (const auto* a = dashes + 1; a != argv + argc; ++a) command.emplace_back(*a);

  CLI::App app{"postbox: send and receive messages through postboxd", "postbox"};
  WorkerArgs args;
  RawWorkerFlags raw;
  app.add_option("--socket", args.socket,
                 "broker socket (default: $POSTBOX_SOCKET or the standard path)");
  app.add_flag("--json", raw.json, "accepted for symmetry; the worker prints nothing on stdout");
  CLI::App* sub =
      app.add_subcommand("worker", "run COMMAND once per message: -- COMMAND [ARGS...]");
  sub->fallthrough();
  // Extra words are reported below, with `--` in mind (with fallthrough they
  // reach the parent app).
  app.allow_extras();
  sub->allow_extras();
  sub->footer(kFooter);
  sub->add_option("QUEUE", args.queue, "queue name")->required();
  sub->add_option("--type", raw.type, "0 any (default), N exactly N, -N lowest type <= N");
  sub->add_flag("--except", raw.except, "take messages whose type is not --type");
  sub->add_option("--concurrency", raw.concurrency, "commands running at once (default 1)");
  sub->add_option("--lease", raw.lease, "lease length in ms (default: the queue's)");
  sub->add_option("--backoff", raw.backoff, "first retry delay in ms (default 1000)");
  sub->add_option("--max-backoff", raw.max_backoff, "longest retry delay in ms (default 60000)");

  try {
    app.parse(static_cast<int>(dashes - argv), argv);
    if (const auto extras = app.remaining(true); !extras.empty()) {
      const std::string& extra = extras.front();
      if (!has_dashes)
        throw UsageError("worker: expected '-- COMMAND [ARGS...]' after the options, got " +
                         in_quotes(extra) + " (e.g. postbox worker jobs -- ./handle-job)");
      throw UsageError("worker: unexpected argument " + in_quotes(extra) + " before '--'");
    }
    if (!has_dashes)
      throw UsageError(
          "worker: expected '-- COMMAND [ARGS...]' after the options "
          "(e.g. postbox worker jobs -- ./handle-job)");
    if (command.empty() || command.front().empty())
      throw UsageError("worker: expected COMMAND after '--'");
    if (app.count("--socket") && args.socket.empty())
      throw UsageError("--socket: expected a path, got ''");
    if (args.queue.empty()) throw UsageError("QUEUE: expected a queue name, got ''");

    ConsumeOptions& c = args.consume;
    c.ack = true;
    if (sub->count("--type")) c.type = parse_signed("--type", raw.type, -kMaxType, kMaxType);
    c.except = raw.except;
    if (sub->count("--concurrency"))
      args.concurrency = static_cast<uint32_t>(
          parse_unsigned("--concurrency", raw.concurrency, 1, kMaxConcurrency));
    // One message pushed per free slot: the broker keeps the rest, so the
    // next one is always the best one ready when a slot frees up.
    c.prefetch = args.concurrency;
    if (sub->count("--lease")) c.lease = ms_flag("--lease", raw.lease, 1);
    if (sub->count("--backoff")) args.backoff = ms_flag("--backoff", raw.backoff, 0);
    if (sub->count("--max-backoff"))
      args.max_backoff = ms_flag("--max-backoff", raw.max_backoff, 0);
    args.command = std::move(command);
    out.args = std::move(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help
      std::ostringstream o, err;
      app.exit(e, o, err);
      out.output = o.str();
      out.exit_status = kExitOk;
    } else {
      out.error = std::string("postbox: ") + e.what() + "\n";
      out.exit_status = kExitUsage;
    }
  } catch (const UsageError& e) {
    out.error = std::string("postbox: ") + e.what() + "\n";
    out.exit_status = kExitUsage;
  }
  return out;
}

int run_worker(const WorkerArgs& args) {
  ensure_standard_descriptors();
  try {
    install_worker_signals();
    const std::string socket = args.socket.empty() ? default_socket_path() : args.socket;
    Client client(socket, "postbox-worker");

    WorkerConfig config;
    config.queue = args.queue;
    config.consume = args.consume;
    config.concurrency = args.concurrency;
    config.backoff = args.backoff;
    config.max_backoff = args.max_backoff;
    config.command = args.command;
    std::chrono::milliseconds lease = kBrokerDefaultLease;
    if (args.consume.lease)
      lease = *args.consume.lease;
    else if (uint64_t queue_lease = client.stat(args.queue).lease_ms; queue_lease > 0)
      lease = std::chrono::milliseconds(queue_lease);
    // A third of the lease leaves two touches' worth of slack for a busy broker.
    config.touch_every = std::max(lease / 3, std::chrono::milliseconds(1));

    JobEnvironment env(environ,
                       args.socket.empty() ? std::nullopt : std::optional<std::string>(socket),
                       args.queue);
    return run_worker_loop(client, config, env);
  } catch (const Error& e) {
    std::fprintf(stderr, "postbox: %s\n", failure_text(e, args.queue).c_str());
    return exit_status(e.errc());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "postbox: %s\n", e.what());
    return kExitFailure;
  }
}

std::optional<int> run_worker_if_invoked(int argc, const char* const* argv) {
  if (!is_worker_invocation(argc, argv)) return std::nullopt;
  WorkerParsed parsed = parse_worker(argc, argv);
  std::fputs(parsed.output.c_str(), stdout);
  std::fputs(parsed.error.c_str(), stderr);
  std::fflush(stdout);
  if (!parsed.args) return parsed.exit_status;
  return run_worker(*parsed.args);
}

}  // namespace postbox::cli
