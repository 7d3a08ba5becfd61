// TestBroker: start postboxd, wait for its READY=1, stop it by PID.
#include "tests/support/test_broker.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/process.hpp"

namespace postbox::testing {

namespace {

constexpr int kReadyTimeoutMs = 20'000;

std::string make_temp_dir() {
  char tmpl[] = "/tmp/postbox-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  // World-searchable, so tests that run the CLI as another uid can reach the socket.
  ::chmod(tmpl, 0755);
  return tmpl;
}

int bind_notify_socket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot bind notify socket " + path + ": " + std::strerror(errno));
  }
  return fd;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Waits until the child says READY=1 (true) or exits (false, status set).
bool wait_ready(pid_t pid, int notify_fd, int& status) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd fds[2] = {{notify_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (::poll(fds, pidfd >= 0 ? 2 : 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
      break;
    if (fds[0].revents & POLLIN) {
      ssize_t n = ::recv(notify_fd, buf, sizeof buf - 1, 0);
      if (n > 0) {
        buf[n] = '\0';
        if (std::strstr(buf, "READY=1")) {
          if (pidfd >= 0) ::close(pidfd);
          return true;
        }
      }
    }
    if (pidfd >= 0 && (fds[1].revents & POLLIN)) {
      int st = 0;
      ::waitpid(pid, &st, 0);
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      ::close(pidfd);
      return false;
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  status = 137;
  return false;
}

struct Started {
  std::string dir, socket;
  pid_t pid = -1;
  bool ready = false;
  int status = -1;
};

Started start(const TestBroker::Options& opts) {
  Started s;
  s.dir = make_temp_dir();
  s.socket = opts.socket.empty() ? s.dir + "/postbox.sock" : opts.socket;
  const std::string notify = s.dir + "/notify.sock";
  int fd = bind_notify_socket(notify);
  std::vector<std::string> argv{binary_from_env("POSTBOXD"), "--socket", s.socket, "--data-dir",
                                s.dir + "/data"};
  if (!opts.config_json.empty()) {
    std::ofstream(s.dir + "/postboxd.json") << opts.config_json;
    argv.push_back("--config");
    argv.push_back(s.dir + "/postboxd.json");
  }
  argv.insert(argv.end(), opts.args.begin(), opts.args.end());
  s.pid = spawn(argv, {{"NOTIFY_SOCKET", notify}}, s.dir + "/postboxd.log");
  s.ready = wait_ready(s.pid, fd, s.status);
  ::close(fd);
  return s;
}

}  // namespace

TestBroker::TestBroker() : TestBroker(Options{}) {}

TestBroker::TestBroker(Options opts) {
  Started s = start(opts);
  dir_ = s.dir;
  socket_ = s.socket;
  if (!s.ready) {
    throw std::runtime_error("postboxd did not become ready (status " + std::to_string(s.status) +
                             "):\n" + log());
  }
  pid_ = s.pid;
}

TestBroker::~TestBroker() {
  if (pid_ > 0) stop(SIGKILL);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

int TestBroker::stop(int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string TestBroker::log() const {
  return read_file(dir_ + "/postboxd.log");
}

StartFailure start_expecting_failure(const TestBroker::Options& opts) {
  Started s = start(opts);
  StartFailure f;
  f.log = read_file(s.dir + "/postboxd.log");
  if (s.ready) {
    ::kill(s.pid, SIGKILL);
    ::waitpid(s.pid, nullptr, 0);
    f.status = 0;
  } else {
    f.status = s.status;
  }
  std::error_code ec;
  std::filesystem::remove_all(s.dir, ec);
  return f;
}

}  // namespace postbox::testing
