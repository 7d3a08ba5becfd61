// The postbox command line: subcommands, flags, and validation into plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "postbox/types.hpp"

namespace postbox::cli {

/// Flags valid before or after any subcommand.
struct GlobalOptions {
  std::string socket;  ///< empty: postbox::default_socket_path()
  bool json = false;
};

enum class Command {
  declare,
  remove,
  purge,
  list,
  stat,
  send,
  recv,
  bench,
  ack,
  nack,
  touch,
  reject,
  move,
  consume,
  bind,
  unbind,
  bindings,
  publish,
  subscribe,
  request,
  respond,
  status
};

struct SendArgs {
  std::optional<std::string> payload;  ///< the PAYLOAD argument
  std::optional<std::string> file;     ///< --file
  bool lines = false;                  ///< one message per input line
  SendOptions options;
};

struct RecvArgs {
  ReceiveOptions options;  ///< --ack makes the leases detached, for `postbox ack TAG`
  uint64_t count = 1;      ///< messages to receive
  bool follow = false;     ///< keep receiving until the timeout, EOF or a signal
};

/// ack, nack, touch, reject TAG...
struct SettleArgs {
  std::vector<uint64_t> tags;
  NackOptions nack;                                ///< nack --delay, --priority
  std::optional<std::chrono::milliseconds> lease;  ///< touch --lease (else the original length)
};

/// move SOURCE DEST (SOURCE is Invocation::queue)
struct MoveArgs {
  std::string destination;
  MoveOptions options;
};

struct ConsumeArgs {
  ConsumeOptions options;
  /// --count: stop after N. The messages are then leased and acked as
  /// printed, so no more than N leave the queue even without --ack.
  std::optional<uint64_t> count;
};

/// request TARGET [PAYLOAD] (TARGET is Invocation::queue)
struct RequestArgs {
  std::optional<std::string> payload;  ///< else stdin
  RequestOptions options;              ///< --timeout (default 5000), --type, --priority, --header
};

/// respond (PATTERN... | --queue Q) -- COMMAND [ARGS...] (Q is Invocation::queue)
struct RespondArgs {
  std::vector<std::string> patterns;  ///< empty with --queue
  std::vector<std::string> command;   ///< argv of COMMAND, searched in PATH
};

/// A fully validated command line.
struct Invocation {
  GlobalOptions global;
  Command command = Command::list;
  /// every command but list, status, bench and the settles (move: SOURCE; publish:
  /// TOPIC; request: TARGET; bindings: "" for all; subscribe: unused)
  std::string queue;
  QueueOptions declare;
  SendArgs send;
  RecvArgs recv;
  SettleArgs settle;
  MoveArgs move;
  ConsumeArgs consume;
  std::string pattern;                ///< bind, unbind
  std::vector<std::string> patterns;  ///< subscribe
  RequestArgs request;
  RespondArgs respond;
};

/// What parse() decided: run `invocation`, or exit at once with `exit_status`
/// after printing `output` (help, version) on stdout and `error` (one line) on stderr.
struct Parsed {
  std::optional<Invocation> invocation;
  int exit_status = 0;
  std::string output;
  std::string error;
};

/// Parses and validates argv. Never throws for bad input: a usage error is
/// exit status 2 with one line "postbox: <what was wrong>".
Parsed parse(int argc, const char* const* argv);

/// The first word of argv after the global flags (--socket PATH, --json):
/// the subcommand's name, or "" when there is none.
std::string_view subcommand_word(int argc, const char* const* argv);

/// Thrown by the validators below; the message names the flag.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Validators, public for tests. `flag` names the option in messages, e.g.
// "--priority: expected an integer 0..255, got '300'". Numbers are decimal
// and must be used up entirely ("12x" is an error).
uint64_t parse_unsigned(std::string_view flag, std::string_view text, uint64_t min, uint64_t max);
int64_t parse_signed(std::string_view flag, std::string_view text, int64_t min, int64_t max);
/// Permission bits in octal, 0..0777 ("640", "0640").
uint32_t parse_mode(std::string_view flag, std::string_view text);
/// "KEY=VALUE" with a non-empty KEY; VALUE may be empty or contain '='.
std::pair<std::string, std::string> parse_header(std::string_view flag, std::string_view text);
/// A point in time: nanoseconds since the epoch ("1700000000000000000"), or
/// RFC 3339 ("2026-12-02T10:00:00Z", "2026-12-02T11:00:00.5+01:00").
std::chrono::system_clock::time_point parse_time(std::string_view flag, std::string_view text);

}  // namespace postbox::cli
