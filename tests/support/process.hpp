// Child processes for integration tests: run a command with input, capture output and status.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace postbox::testing {

struct RunResult {
  int status = -1;  // exit status, or 128 + signal number
  std::string out;
  std::string err;
};

struct RunOptions {
  std::string input;                        // written to stdin, then closed
  std::map<std::string, std::string> env;   // added to (or replacing in) the environment
  std::chrono::milliseconds limit{60'000};  // killed with SIGKILL after this; status 137
  uid_t uid = static_cast<uid_t>(-1);       // run as this uid/gid (tests run as root)
  gid_t gid = static_cast<gid_t>(-1);
};

/// Runs argv[0] (a path) with argv and waits for it.
RunResult run(const std::vector<std::string>& argv, const RunOptions& opts = {});

/// Starts argv in the background with stdout/stderr sent to `log_path`
/// ("" keeps the test's own). Returns the pid.
pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::string& log_path);

/// Runs `body` in a forked child as uid/gid `id` (the test must be root) and
/// returns what it returned (0..255), or -1 when the child could not switch
/// to that uid or died. The child never returns into the test.
int run_as(uid_t id, const std::function<int()>& body);

/// Waits for `pid`; its exit status, or 128 + the signal that killed it.
int wait_status(pid_t pid);

/// The whole content of a file ("" if it cannot be read).
std::string slurp(const std::string& path);

/// The number of newline characters in `s`.
int lines_in(const std::string& s);

/// The binary under test named by `var` (POSTBOXD, POSTBOX_CLI): the
/// environment variable of that name if set, else the one this tree built.
std::string binary_from_env(const char* var);

}  // namespace postbox::testing
