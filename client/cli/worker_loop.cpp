// The worker's event loop. One thread, one poll(): the broker socket (pushed messages), a
// self-pipe woken by SIGCHLD/SIGTERM/SIGINT, the stdin pipes of jobs still being fed, and a
// timeout for the next lease touch. Nothing spins and nothing sleeps.
#include "client/cli/worker_loop.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <optional>
#include <system_error>

#include "client/cli/exit_status.hpp"
#include "client/cli/output.hpp"

namespace postbox::cli {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// --- Signals: counted, and announced on a self-pipe so poll() wakes ------------

volatile std::sig_atomic_t g_stop_signals = 0;  // SIGTERM + SIGINT received
int g_wake_read = -1;
int g_wake_write = -1;

extern "C" void on_worker_signal(int sig) {
  int saved = errno;
  if (sig != SIGCHLD) g_stop_signals = g_stop_signals + 1;  // the handler masks the others
  if (g_wake_write >= 0) {
    [[maybe_unused]] ssize_t n = ::write(g_wake_write, "", 1);  // a full pipe already wakes us
  }
  errno = saved;
}

void drain_wake_pipe() {
  char buf[64];
  while (::read(g_wake_read, buf, sizeof buf) > 0) {
  }
}

void warn(const std::string& text) {
  std::fprintf(stderr, "postbox: worker: %s\n", text.c_str());
}

std::string jobs_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " running command" : " running commands");
}

/// A message whose COMMAND is running.
struct Running {
  pid_t pid = -1;
  uint64_t tag = 0;
  uint32_t delivery_count = 1;
  std::string payload;  // until fed to the job's stdin
  std::size_t fed = 0;
  int stdin_fd = -1;
  Clock::time_point next_touch;
  bool killed = false;      // by us, after a second stop signal: its failure is not the job's
  bool lease_lost = false;  // the broker no longer holds its lease: nothing left to settle
};

class Worker {
 public:
  Worker(Client& client, const WorkerConfig& config, const JobEnvironment& env)
      : client_(client), config_(config), env_(env) {}

  int run() {
    consumer_ = client_.consume(config_.queue, config_.consume);
    for (;;) {
      handle_signals();  // first: a signal that came before the loop starts nothing
      take();
      start_jobs();
      if (stopping_ && running_.empty()) return status_;
      wait();
      reap();
      touch_due();
    }
  }

 private:
  // --- Messages in -----------------------------------------------------------

  /// Moves what the broker pushed into pending_. Called before every poll():
  /// settles and touches read from the socket too, and may have buffered
  /// deliveries that poll() would then not announce.
  void take() {
    if (!consumer_ || stopping_) return;
    try {
      auto got = client_.deliveries(*consumer_, kNoWait);
      for (auto& m : got) pending_.push_back(std::move(m));
    } catch (const Error& e) {
      if (e.errc() == Errc::queue_removed) {
        client_.cancel(*consumer_);  // it ended already: this only forgets it
        consumer_.reset();
        queue_gone_ = true;
        warn(failure_text(e, config_.queue) + waiting_text());
        stop(kExitNoSuchQueue);
      } else {
        lost(e);
      }
    }
  }

  void start_jobs() {
    while (!stopping_ && !pending_.empty() && running_.size() < config_.concurrency) {
      Message m = std::move(pending_.front());
      pending_.pop_front();
      start(std::move(m));
    }
  }

  void start(Message m) {
    Job job;
    try {
      job = spawn_job(config_.command, env_.for_message(m));
    } catch (const std::system_error& e) {
      // Most likely COMMAND does not exist or may not be executed: every
      // message would fail the same way, so stop rather than churn the queue.
      warn(std::string(e.what()) + "; stopping" + waiting_text());
      pending_.push_front(std::move(m));  // returned with no delay: it never ran
      stop(kExitFailure);
      return;
    }
    Running r;
    r.pid = job.pid;
    r.tag = m.delivery_tag;
    r.delivery_count = m.delivery_count;
    r.payload = std::move(m.payload);
    r.stdin_fd = job.stdin_fd;
    r.next_touch = Clock::now() + config_.touch_every;
    feed_stdin(r);
    running_.push_back(std::move(r));
  }

  void feed_stdin(Running& r) {
    if (r.stdin_fd < 0) return;
    r.fed = feed(r.stdin_fd, r.payload, r.fed);
    if (r.fed < r.payload.size()) return;  // the pipe is full: poll() says when to go on
    close_stdin(r);
  }

  static void close_stdin(Running& r) {
    if (r.stdin_fd >= 0) ::close(r.stdin_fd);
    r.stdin_fd = -1;
    std::string().swap(r.payload);
  }

  // --- Waiting ---------------------------------------------------------------

  void wait() {
    std::vector<pollfd> fds;
    fds.push_back({g_wake_read, POLLIN, 0});
    if (consumer_ && !stopping_) fds.push_back({client_.native_handle(), POLLIN, 0});
    const std::size_t first_job = fds.size();
    std::vector<Running*> feeding;
    for (auto& r : running_) {
      if (r.stdin_fd < 0) continue;
      fds.push_back({r.stdin_fd, POLLOUT, 0});
      feeding.push_back(&r);
    }
    int rc = ::poll(fds.data(), fds.size(), poll_timeout());
    if (rc < 0) {
      if (errno == EINTR) return;  // the handler also wrote to the pipe
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    if (fds[0].revents & POLLIN) drain_wake_pipe();
    for (std::size_t i = 0; i < feeding.size(); ++i)
      if (fds[first_job + i].revents) feed_stdin(*feeding[i]);
    // A readable socket is read by the next take().
  }

  /// Milliseconds until the next lease touch is due; -1 when none is.
  int poll_timeout() const {
    if (!connected_) return -1;
    std::optional<Clock::time_point> next;
    for (const auto& r : running_)
      if (!r.lease_lost && (!next || r.next_touch < *next)) next = r.next_touch;
    if (!next) return -1;
    auto left = std::chrono::ceil<milliseconds>(*next - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, std::numeric_limits<int>::max()));
  }

  // --- Stopping --------------------------------------------------------------

  /// The first SIGTERM/SIGINT stops taking work; a second sends SIGTERM to the
  /// running jobs, any further one SIGKILL.
  void handle_signals() {
    const int received = g_stop_signals;
    while (signals_seen_ < received) {
      ++signals_seen_;
      if (signals_seen_ == 1) {
        stop(kExitOk);
      } else {
        const int sig = signals_seen_ == 2 ? SIGTERM : SIGKILL;
        for (auto& r : running_) {
          ::kill(r.pid, sig);
          r.killed = true;
        }
      }
    }
  }

  /// Takes no more work: cancels the consumer and returns the messages
  /// pushed but not started (nack, no delay, priority kept). Running jobs
  /// go on and are settled as they end. The first reason to stop gives the
  /// exit status.
  void stop(int status) {
    if (stopping_) return;
    stopping_ = true;
    status_ = status;
    if (!connected_) return;
    try {
      if (consumer_) {
        for (auto& m : client_.cancel(*consumer_)) pending_.push_back(std::move(m));
        consumer_.reset();
      }
      if (pending_.empty()) return;
      std::vector<uint64_t> tags;
      for (const auto& m : pending_) tags.push_back(m.delivery_tag);
      pending_.clear();
      report_missing(client_.nack(tags), "returned");
    } catch (const Error& e) {
      lost(e);
    }
  }

  /// The connection is unusable: the broker returns every lease of a closed
  /// connection, so there is nothing left to settle. Running jobs are not
  /// killed: the worker waits for them and exits with the connection's status.
  void lost(const Error& e) {
    if (!connected_) return;
    connected_ = false;
    consumer_.reset();
    pending_.clear();
    client_.close();
    warn(failure_text(e, config_.queue) + "; nothing more can be settled" + waiting_text());
    stopping_ = true;
    // This outranks a stop already under way: the results of the jobs still
    // running cannot be settled (they will run again), and the status says so.
    // A stopping broker ends the connection next, so it counts as lost.
    status_ = e.errc() == Errc::shutting_down ? kExitUnreachable : exit_status(e.errc());
  }

  std::string waiting_text() const {
    return running_.empty() ? std::string() : "; waiting for " + jobs_text(running_.size());
  }

  // --- Jobs ending -----------------------------------------------------------

  void reap() {
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) return;  // none ended (0), or no children at all (ECHILD)
      auto it = std::find_if(running_.begin(), running_.end(),
                             [pid](const Running& r) { return r.pid == pid; });
      if (it == running_.end()) continue;
      Running r = std::move(*it);
      running_.erase(it);
      close_stdin(r);
      settle(r, status);
    }
  }

  /// Exit 0: ack. Anything else (a status, a signal): nack after the back-off,
  /// priority kept; a job we killed ourselves goes back at once.
  void settle(const Running& r, int status) {
    if (!connected_ || r.lease_lost) return;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    try {
      if (ok) {
        report_missing(client_.ack(std::span(&r.tag, 1)), "acknowledged");
      } else {
        NackOptions o;
        if (!r.killed)
          o.delay = retry_delay(r.delivery_count, config_.backoff, config_.max_backoff);
        report_missing(client_.nack(std::span(&r.tag, 1), o), "returned");
      }
    } catch (const Error& e) {
      lost(e);
    }
  }

  // --- Leases ----------------------------------------------------------------

  void touch_due() {
    if (!connected_) return;
    const auto now = Clock::now();
    std::vector<uint64_t> tags;
    for (auto& r : running_) {
      if (r.lease_lost || r.next_touch > now) continue;
      tags.push_back(r.tag);
      r.next_touch = now + config_.touch_every;
    }
    if (tags.empty()) return;
    try {
      std::vector<uint64_t> missing = client_.touch(tags);
      for (uint64_t tag : missing)
        for (auto& r : running_)
          if (r.tag == tag) r.lease_lost = true;
      report_missing(missing, "kept");
    } catch (const Error& e) {
      lost(e);
    }
  }

  /// A lease the broker no longer holds expired before we settled or touched
  /// it (e.g. the worker was stopped with SIGSTOP): its message went back to
  /// the queue and may run again.
  void report_missing(const std::vector<uint64_t>& tags, const char* what) {
    if (tags.empty() || queue_gone_) return;
    std::string list;
    for (uint64_t t : tags) list += (list.empty() ? "" : ", ") + std::to_string(t);
    warn(std::string("lease ") + list + " could not be " + what +
         ": it had expired, and its message went back to the queue");
  }

  Client& client_;
  const WorkerConfig& config_;
  const JobEnvironment& env_;
  std::optional<uint32_t> consumer_;
  std::deque<Message> pending_;  // pushed, not started
  std::vector<Running> running_;
  bool stopping_ = false;
  bool connected_ = true;
  bool queue_gone_ = false;
  int status_ = kExitOk;
  int signals_seen_ = 0;
};

}  // namespace

milliseconds retry_delay(uint32_t delivery_count, milliseconds backoff,
                         milliseconds max_backoff) noexcept {
  const uint32_t doublings = delivery_count > 0 ? delivery_count - 1 : 0;
  const auto base = static_cast<uint64_t>(std::max<int64_t>(backoff.count(), 0));
  const auto cap = static_cast<uint64_t>(std::max<int64_t>(max_backoff.count(), 0));
  // base << doublings saturates at cap without overflowing.
  if (base == 0) return milliseconds(0);
  if (doublings >= 63 || base > (cap >> doublings)) return milliseconds(cap);
  return milliseconds(base << doublings);
}

void install_worker_signals() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot make the signal pipe");
  g_wake_read = p[0];
  g_wake_write = p[1];
  struct sigaction sa {};
  sa.sa_handler = on_worker_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGCHLD}) sigaddset(&sa.sa_mask, sig);
  for (int sig : {SIGTERM, SIGINT}) sigaction(sig, &sa, nullptr);
  sa.sa_flags |= SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);
}

int run_worker_loop(Client& client, const WorkerConfig& config, const JobEnvironment& env) {
  return Worker(client, config, env).run();
}

}  // namespace postbox::cli
