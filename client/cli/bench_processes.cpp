// The bench's process harness: fork, start barrier, report pipes, reaping.
//
// Each worker gets its own report pipe. A worker writes 'R' when it is ready,
// then 'D' followed by its WorkerReport; a worker that fails before it is
// ready writes 'D' and a report with an error at once. The parent polls every
// report pipe; once all workers said 'R' it closes the start barrier's write
// end, which every worker is blocked reading, so all see EOF together. End of
// file on a report pipe before a whole report means the worker died.
#include "client/cli/bench_processes.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <stdexcept>

namespace postbox::cli::bench {

namespace {

constexpr char kReady = 'R';
constexpr char kDone = 'D';
constexpr std::size_t kReportBytes = 1 + sizeof(WorkerReport);

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int) {
  g_interrupted = 1;
}

/// Installs on_interrupt for SIGINT and SIGTERM (without SA_RESTART, so that
/// poll() returns EINTR) and puts the old handlers back when destroyed.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

bool write_full(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void copy_error(WorkerReport& r, const char* text) {
  std::snprintf(r.error, sizeof r.error, "%s", *text ? text : "failed without a message");
}

/// The child's side: run the body, send its report, never return.
[[noreturn]] void run_child(const Worker& w, int report_fd, int barrier_fd) {
  // A worker stops on SIGINT like any program; the parent reports it.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  auto report = std::make_unique<WorkerReport>();
  try {
    StartGate gate(report_fd, barrier_fd);
    *report = w.body(gate);
  } catch (const std::exception& e) {
    copy_error(*report, e.what());
  } catch (...) {
    copy_error(*report, "unknown exception");
  }
  const char tag = kDone;
  const bool sent =
      write_full(report_fd, &tag, 1) && write_full(report_fd, report.get(), sizeof *report);
  // _exit: the parent's atexit handlers and stdio buffers are not ours to run.
  ::_exit(sent && report->error[0] == '\0' ? 0 : 1);
}

/// The parent's view of one child.
struct Child {
  pid_t pid = -1;
  int fd = -1;  // read end of its report pipe; -1 once closed
  bool ready = false;
  bool reaped = false;
  int status = 0;
  std::string bytes;  // what arrived after 'R'
};

std::string describe_exit(int status) {
  if (WIFSIGNALED(status))
    return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended with wait status " + std::to_string(status);
}

void reap(Child& c) {
  if (c.reaped || c.pid <= 0) return;
  while (::waitpid(c.pid, &c.status, 0) < 0 && errno == EINTR) {
  }
  c.reaped = true;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

/// Kills every child not yet reaped and reaps them all.
void stop_all(std::vector<Child>& children) {
  for (Child& c : children)
    if (!c.reaped && c.pid > 0) ::kill(c.pid, SIGKILL);
  for (Child& c : children) {
    close_fd(c.fd);
    reap(c);
  }
}

class Run {
 public:
  explicit Run(std::vector<Worker> workers) : workers_(std::move(workers)) {}

  RunResult operator()() {
    InterruptGuard guard;
    int barrier[2];
    if (::pipe2(barrier, O_CLOEXEC) < 0) return fail(std::string("pipe: ") + std::strerror(errno));
    barrier_write_ = barrier[1];
    const std::string forked = fork_all(barrier[0]);
    ::close(barrier[0]);
    if (!forked.empty()) return fail(forked);
    return collect();
  }

 private:
  std::string fork_all(int barrier_read) {
    children_.resize(workers_.size());
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) < 0) return std::string("pipe: ") + std::strerror(errno);
      std::fflush(nullptr);  // else buffered output would be written by the child too
      const pid_t pid = ::fork();
      if (pid < 0) {
        ::close(p[0]);
        ::close(p[1]);
        return std::string("fork: ") + std::strerror(errno);
      }
      if (pid == 0) {
        ::close(p[0]);
        ::close(barrier_write_);  // else the barrier could never reach EOF
        for (std::size_t j = 0; j < i; ++j) ::close(children_[j].fd);
        run_child(workers_[i], p[1], barrier_read);
      }
      ::close(p[1]);
      children_[i].pid = pid;
      children_[i].fd = p[0];
    }
    return {};
  }

  RunResult collect() {
    std::size_t ready = 0, done = 0;
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    while (done < children_.size()) {
      if (g_interrupted) return interrupted();
      fds.clear();
      which.clear();
      for (std::size_t i = 0; i < children_.size(); ++i) {
        if (children_[i].fd < 0) continue;
        fds.push_back({children_[i].fd, POLLIN, 0});
        which.push_back(i);
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return fail(std::string("poll: ") + std::strerror(errno));
      }
      for (std::size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        Child& c = children_[which[k]];
        const std::string problem = read_from(c, ready);
        if (!problem.empty()) return fail(workers_[which[k]].name + ": " + problem);
        if (c.fd < 0) ++done;
      }
      if (ready == children_.size() && barrier_write_ >= 0) {
        result_.start_ns = monotonic_ns();
        close_fd(barrier_write_);  // SYNC POINT: every worker starts now
      }
    }
    for (Child& c : children_) reap(c);
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (!WIFEXITED(children_[i].status) || WEXITSTATUS(children_[i].status) != 0)
        return fail(workers_[i].name + ": " + describe_exit(children_[i].status));
    }
    return std::move(result_);
  }

  /// Reads what child `c` sent. Returns a non-empty text when it failed.
  std::string read_from(Child& c, std::size_t& ready) {
    char buf[16384];
    ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n < 0)
      return errno == EINTR ? "" : std::string("reading its report: ") + std::strerror(errno);
    if (n == 0) {
      close_fd(c.fd);
      reap(c);
      if (c.bytes.size() < kReportBytes) return "died before reporting: " + describe_exit(c.status);
      return parse_report(c);
    }
    std::size_t used = 0;
    if (!c.ready && c.bytes.empty() && buf[0] == kReady) {
      c.ready = true;
      ++ready;
      used = 1;
    }
    c.bytes.append(buf + used, static_cast<std::size_t>(n) - used);
    if (c.bytes.size() >= kReportBytes) {
      std::string problem = parse_report(c);
      if (!problem.empty()) return problem;
    }
    return {};
  }

  std::string parse_report(Child& c) {
    if (c.bytes.size() != kReportBytes || c.bytes[0] != kDone) return "sent a garbled report";
    const std::size_t i = static_cast<std::size_t>(&c - children_.data());
    if (result_.reports.size() < children_.size()) result_.reports.resize(children_.size());
    std::memcpy(&result_.reports[i], c.bytes.data() + 1, sizeof(WorkerReport));
    WorkerReport& r = result_.reports[i];
    r.error[sizeof r.error - 1] = '\0';
    if (r.error[0] != '\0') return r.error;
    close_fd(c.fd);  // the report is whole: nothing else may follow
    return {};
  }

  RunResult fail(std::string why) {
    close_fd(barrier_write_);
    stop_all(children_);
    RunResult r;
    // A ^C reaches the workers too, and one of them dying of it may be
    // noticed before our own handler's flag: the cause is the interrupt.
    r.interrupted = g_interrupted != 0;
    r.failure = r.interrupted ? "interrupted" : std::move(why);
    return r;
  }

  RunResult interrupted() {
    g_interrupted = 1;
    return fail("interrupted");
  }

  std::vector<Worker> workers_;
  std::vector<Child> children_;
  int barrier_write_ = -1;
  RunResult result_;
};

}  // namespace

int64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void StartGate::ready() {
  const char tag = kReady;
  if (!write_full(report_fd_, &tag, 1)) throw std::runtime_error("the bench's parent is gone");
  char c;
  for (;;) {
    ssize_t n = ::read(barrier_fd_, &c, 1);
    if (n == 0) return;  // the parent closed the barrier: go
    if (n < 0 && errno == EINTR) continue;
    throw std::runtime_error("the start barrier failed");
  }
}

RunResult run_workers(std::vector<Worker> workers) {
  return Run(std::move(workers))();
}

SharedCounter::SharedCounter() {
  void* p = ::mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap: ") + std::strerror(errno));
  static_assert(std::atomic<uint64_t>::is_always_lock_free,
                "a counter shared between processes must not hide a lock in one process");
  value_ = new (p) std::atomic<uint64_t>(0);
}

SharedCounter::~SharedCounter() {
  ::munmap(value_, sizeof(std::atomic<uint64_t>));
}

// acq_rel: a worker that sees the final total also sees what the others did before adding.
uint64_t SharedCounter::add(uint64_t n) noexcept {
  return value_->fetch_add(n, std::memory_order_acq_rel) + n;
}

uint64_t SharedCounter::load() const noexcept {
  return value_->load(std::memory_order_acquire);
}

}  // namespace postbox::cli::bench
