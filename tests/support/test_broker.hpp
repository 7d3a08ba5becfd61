// TestBroker: a real postboxd on a temporary socket, started ready and stopped by PID.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace postbox::testing {

class TestBroker {
 public:
  struct Options {
    std::vector<std::string> args;  // extra postboxd flags
    std::string config_json;        // written to a file and passed with --config when set
    std::string socket;             // socket path; default: postbox.sock in the fresh directory
  };
  /// Starts postboxd ($POSTBOXD) in a fresh directory and returns once it
  /// has told the notify socket READY=1 (as it tells systemd); throws with
  /// its log if it exits or stays silent for 20 s.
  TestBroker();
  explicit TestBroker(Options opts);
  ~TestBroker();
  TestBroker(const TestBroker&) = delete;
  TestBroker& operator=(const TestBroker&) = delete;

  const std::string& socket() const noexcept { return socket_; }
  const std::string& dir() const noexcept { return dir_; }
  pid_t pid() const noexcept { return pid_; }
  /// Sends `sig` and waits; returns the exit status (128 + signal if killed).
  int stop(int sig = 15);
  /// What postboxd wrote to stderr so far.
  std::string log() const;

 private:
  std::string dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

/// Starts postboxd with `args` expecting it to fail at start; returns its
/// exit status and log. Waits at most 20 s.
struct StartFailure {
  int status = -1;
  std::string log;
};
StartFailure start_expecting_failure(const TestBroker::Options& opts);

}  // namespace postbox::testing
