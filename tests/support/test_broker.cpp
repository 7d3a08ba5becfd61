// TestBroker: start postboxd (optionally under a wrapper such as strace), wait for its READY=1,
// stop, kill or restart it by PID.
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

/// A datagram socket for NOTIFY_SOCKET that receives its senders' credentials,
/// so that READY=1 names postboxd's pid even when a wrapper spawned it.
int bind_notify_socket(const std::string& path) {
  ::unlink(path.c_str());  // a previous start's
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const int on = 1;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
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

int decode(int st) {
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/// Reads one datagram; true with its sender's pid when it says READY=1.
bool read_ready(int notify_fd, pid_t& sender) {
  char buf[4096];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
  iovec iov{buf, sizeof buf - 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(notify_fd, &msg, MSG_DONTWAIT);
  if (n <= 0) return false;
  buf[n] = '\0';
  if (!std::strstr(buf, "READY=1")) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      sender = cred.pid;
    }
  }
  return true;
}

struct Started {
  pid_t child = -1;   // spawned: postboxd or its wrapper
  pid_t daemon = -1;  // postboxd (the READY=1 sender)
  bool ready = false;
  int status = -1;  // when not ready
};

/// Waits until postboxd says READY=1 or `child` exits (status set).
Started wait_ready(pid_t child, int notify_fd) {
  Started s;
  s.child = child;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd fds[2] = {{notify_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (::poll(fds, pidfd >= 0 ? 2 : 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
      break;
    if ((fds[0].revents & POLLIN) && read_ready(notify_fd, s.daemon)) {
      if (s.daemon <= 0) s.daemon = child;
      if (pidfd >= 0) ::close(pidfd);
      s.ready = true;
      return s;
    }
    if (pidfd >= 0 && (fds[1].revents & POLLIN)) {
      int st = 0;
      ::waitpid(child, &st, 0);
      s.status = decode(st);
      ::close(pidfd);
      return s;
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  // Silent for too long. (Under a wrapper that detaches its tracees when killed, postboxd
  // could outlive this; its READY=1 never came, so its pid is unknown here.)
  ::kill(child, SIGKILL);
  int st = 0;
  ::waitpid(child, &st, 0);
  s.status = 137;
  return s;
}

Started start(const std::string& dir, const std::string& socket, const std::string& data_dir,
              const TestBroker::Options& opts) {
  const std::string notify = dir + "/notify.sock";
  int fd = bind_notify_socket(notify);
  std::vector<std::string> argv = opts.wrapper;
  argv.insert(argv.end(),
              {binary_from_env("POSTBOXD"), "--socket", socket, "--data-dir", data_dir});
  if (!opts.config_json.empty()) {
    std::ofstream(dir + "/postboxd.json") << opts.config_json;
    argv.push_back("--config");
    argv.push_back(dir + "/postboxd.json");
  }
  argv.insert(argv.end(), opts.args.begin(), opts.args.end());
  const pid_t child = spawn(argv, {{"NOTIFY_SOCKET", notify}}, dir + "/postboxd.log");
  Started s = wait_ready(child, fd);
  ::close(fd);
  return s;
}

}  // namespace

TestBroker::TestBroker() : TestBroker(Options{}) {}

TestBroker::TestBroker(Options opts) : opts_(std::move(opts)) {
  dir_ = make_temp_dir();
  socket_ = opts_.socket.empty() ? dir_ + "/postbox.sock" : opts_.socket;
  data_dir_ = dir_ + "/data";
  launch();
}

TestBroker::~TestBroker() {
  if (pid_ > 0) stop(SIGKILL);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void TestBroker::launch() {
  if (starts_ > 0) {
    std::ofstream(dir_ + "/postboxd.log", std::ios::app)
        << "--- TestBroker: start " << starts_ + 1 << " ---\n";
  }
  ++starts_;
  Started s = start(dir_, socket_, data_dir_, opts_);
  if (!s.ready) {
    last_status_ = s.status;
    throw std::runtime_error("postboxd did not become ready (status " + std::to_string(s.status) +
                             "):\n" + log());
  }
  child_ = s.child;
  pid_ = s.daemon;
}

void TestBroker::restart() {
  if (pid_ > 0) throw std::logic_error("TestBroker::restart: postboxd is still started");
  launch();
}

void TestBroker::restart(Options opts) {
  opts.socket = socket_;
  opts_ = std::move(opts);
  restart();
}

int TestBroker::stop(int sig) {
  if (pid_ <= 0) return -1;
  int st = 0;
  // Already gone (e.g. it exited on a storage error): report that, signal nothing.
  if (::waitpid(child_, &st, WNOHANG) != child_) {
    ::kill(pid_, sig);
    ::waitpid(child_, &st, 0);
  }
  pid_ = child_ = -1;
  last_status_ = decode(st);
  return *last_status_;
}

std::optional<int> TestBroker::wait_exit(std::chrono::milliseconds bound) {
  if (pid_ <= 0) return -1;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(bound.count())) < 0 && errno == EINTR) {
    }
    ::close(pidfd);
  }
  int st = 0;
  if (::waitpid(child_, &st, WNOHANG) != child_) return std::nullopt;
  pid_ = child_ = -1;
  last_status_ = decode(st);
  return last_status_;
}

std::string TestBroker::log() const {
  return read_file(dir_ + "/postboxd.log");
}

StartFailure start_expecting_failure(const TestBroker::Options& opts) {
  const std::string dir = make_temp_dir();
  const std::string socket = opts.socket.empty() ? dir + "/postbox.sock" : opts.socket;
  Started s = start(dir, socket, dir + "/data", opts);
  StartFailure f;
  if (s.ready) {
    ::kill(s.daemon, SIGKILL);
    ::waitpid(s.child, nullptr, 0);
    f.status = 0;
  } else {
    f.status = s.status;
  }
  f.log = read_file(dir + "/postboxd.log");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return f;
}

}  // namespace postbox::testing
