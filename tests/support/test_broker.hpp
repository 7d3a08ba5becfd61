// TestBroker: a real postboxd on a temporary socket, started ready, stopped, killed and restarted
// on the same directory, socket and data directory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

namespace postbox::testing {

class TestBroker {
 public:
  struct Options {
    std::vector<std::string> args = {};  // extra postboxd flags
    std::string config_json = {};        // written to a file and passed with --config when set
    std::string socket = {};  // socket path; default: postbox.sock in the fresh directory
    /// A command prefix postboxd runs under, e.g. {"/usr/bin/strace", "-f", ..., "-e",
    /// "inject=..."}: the wrapper must pass NOTIFY_SOCKET on and exit with postboxd's status
    /// (strace does both). pid() is still postboxd's own (the sender of READY=1).
    std::vector<std::string> wrapper = {};
  };
  /// Starts postboxd ($POSTBOXD) in a fresh directory, with --data-dir DIR/data,
  /// and returns once it has told the notify socket READY=1 (as it tells
  /// systemd); throws with its log if it exits or stays silent for 20 s.
  TestBroker();
  explicit TestBroker(Options opts);
  /// Kills postboxd if it still runs and removes the directory.
  ~TestBroker();
  TestBroker(const TestBroker&) = delete;
  TestBroker& operator=(const TestBroker&) = delete;

  const std::string& socket() const noexcept { return socket_; }
  const std::string& dir() const noexcept { return dir_; }
  /// The --data-dir every start of this broker uses: dir() + "/data".
  const std::string& data_dir() const noexcept { return data_dir_; }
  /// postboxd's pid while it is started (even if it has exited and is not yet
  /// reaped); -1 once stopped.
  pid_t pid() const noexcept { return pid_; }
  /// Sends `sig` and waits; returns the exit status (128 + signal if killed).
  /// If postboxd has exited already, returns its status without signalling.
  /// -1 when it is not started.
  int stop(int sig = 15);
  /// stop(SIGKILL): a crash, no clean-up by postboxd.
  int kill() { return stop(SIGKILL); }
  /// Waits up to `bound` for postboxd to exit by itself; its exit status, or
  /// nullopt if it still runs (it is left running). -1 when it is not started.
  std::optional<int> wait_exit(std::chrono::milliseconds bound);
  /// The exit status of the last stop()/wait_exit() that saw postboxd end.
  std::optional<int> last_status() const noexcept { return last_status_; }
  /// Starts postboxd again after it stopped (throws std::logic_error while it
  /// runs), in the same directory, on the same socket and data directory, with
  /// the options it was last started with, or with `opts` (whose socket is
  /// ignored); returns once it is ready, or throws as the constructor does.
  void restart();
  void restart(Options opts);
  /// How many times postboxd was started (1 after construction).
  int starts() const noexcept { return starts_; }
  /// What postboxd wrote to stderr so far, over every start.
  std::string log() const;

 private:
  void launch();

  Options opts_;
  std::string dir_;
  std::string socket_;
  std::string data_dir_;
  pid_t pid_ = -1;    // postboxd, to signal
  pid_t child_ = -1;  // what we spawned and reap: postboxd, or its wrapper
  std::optional<int> last_status_;
  int starts_ = 0;
};

/// Starts postboxd with `args` expecting it to fail at start; returns its
/// exit status and log. Waits at most 20 s.
struct StartFailure {
  int status = -1;
  std::string log;
};
StartFailure start_expecting_failure(const TestBroker::Options& opts);

}  // namespace postbox::testing
