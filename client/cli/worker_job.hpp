// One run of the worker's COMMAND: its environment, its process and the payload on its stdin.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postbox/types.hpp"

namespace postbox::cli {

/// "POSTBOX_HEADER_" + `key` upper-cased, every byte but A-Z a-z 0-9 turned into '_'.
std::string header_variable(std::string_view key);

/// The environments jobs run with: the worker's own, plus one message's
/// metadata. Variables the worker sets per message (POSTBOX_ID ...,
/// POSTBOX_HEADER_*) are removed from the inherited set, so that a job never
/// sees a stale value its message does not carry.
class JobEnvironment {
 public:
  /// `inherited`: NAME=VALUE strings (environ). `socket`, when set, becomes
  /// POSTBOX_SOCKET so that a job's own `postbox` calls reach the same broker.
  JobEnvironment(const char* const* inherited, std::optional<std::string> socket,
                 std::string queue);

  /// POSTBOX_ID, _QUEUE, _TYPE, _PRIORITY, _DELIVERY_COUNT, _TAG, and
  /// _CORRELATION_ID, _REPLY_TO and one POSTBOX_HEADER_<KEY> per header when
  /// present (a repeated name keeps its last value; a value is cut at its
  /// first NUL byte, which no environment can hold).
  std::vector<std::string> for_message(const Message& m) const;

 private:
  std::vector<std::string> base_;
  std::string queue_;
};

/// A started job. The write end of its stdin is non-blocking and close-on-exec;
/// so is the read end of its stdout when it was captured (else -1).
struct Job {
  pid_t pid = -1;
  int stdin_fd = -1;
  int stdout_fd = -1;
};

/// Starts `argv` (argv[0] searched in PATH, no shell) with exactly `env`, stdin
/// a fresh pipe, stdout the worker's (or with `capture_stdout` another fresh
/// pipe), stderr the worker's, SIGPIPE at its default.
/// Throws std::system_error when the pipe or the process cannot be made
/// (including when argv[0] cannot be executed).
Job spawn_job(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              bool capture_stdout = false);

/// What run_captured() saw.
struct CapturedRun {
  int status = -1;  ///< exit status, or 128 + the signal that killed it
  std::string out;  ///< everything it wrote to stdout
};
/// Runs a job to its end (`postbox respond`): `input` on its stdin, its stdout
/// collected, stderr the caller's. Needs SIGPIPE ignored (a job that does not
/// read its input must not kill us). Throws as spawn_job() does.
CapturedRun run_captured(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         std::string_view input);

/// Writes as much of `data` from `offset` as the pipe takes without blocking;
/// returns the new offset. A reader that went away (EPIPE) or any other write
/// error ends the payload: then it returns data.size(), since the job decides
/// its own outcome by its exit status.
std::size_t feed(int fd, std::string_view data, std::size_t offset);

/// Makes sure descriptors 0, 1 and 2 are open (on /dev/null if not), so that
/// a pipe made later never lands on one of them.
void ensure_standard_descriptors();

}  // namespace postbox::cli
