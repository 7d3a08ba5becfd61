// `postbox worker`: its command line and entry point (the loop is in worker_loop.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "postbox/types.hpp"

namespace postbox::cli {

/// A validated `postbox [--socket PATH] worker QUEUE [flags] -- COMMAND [ARGS...]`.
struct WorkerArgs {
  std::string socket;  ///< empty: postbox::default_socket_path()
  std::string queue;
  /// ack, prefetch = concurrency, the --type/--except selector and --lease.
  ConsumeOptions consume;
  uint32_t concurrency = 1;  ///< commands running at once
  /// A failed command's message is nacked after min(backoff * 2^(delivery_count - 1), max_backoff).
  std::chrono::milliseconds backoff{1000};
  std::chrono::milliseconds max_backoff{60'000};
  std::vector<std::string> command;  ///< argv of COMMAND, searched in PATH, never a shell
};

/// What parse_worker() decided: run `args`, or exit with `exit_status` after
/// printing `output` (help) on stdout and `error` (one line) on stderr.
struct WorkerParsed {
  std::optional<WorkerArgs> args;
  int exit_status = 0;
  std::string output;
  std::string error;
};

/// True when argv's subcommand (the first word after the global flags) is
/// `worker`. The CLI's own parser never sees such a command line: `--`
/// and what follows it belong to COMMAND, not to postbox.
bool is_worker_invocation(int argc, const char* const* argv);

/// Parses a command line for which is_worker_invocation() holds. Never throws
/// for bad input: a usage error is status 2 with one line "postbox: ...".
WorkerParsed parse_worker(int argc, const char* const* argv);

/// Runs the worker until it is stopped (SIGTERM, SIGINT), the queue is
/// deleted or the connection is lost; returns the exit status.
int run_worker(const WorkerArgs& args);

/// The hook for main(): runs `postbox worker` when argv asks for it and
/// returns its exit status, else nullopt.
std::optional<int> run_worker_if_invoked(int argc, const char* const* argv);

}  // namespace postbox::cli
