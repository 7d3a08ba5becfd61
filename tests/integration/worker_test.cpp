// `postbox worker` against a real postboxd: draining 10,000 jobs of mixed priorities with
// retries, stopping on SIGTERM, lease keep-alive, the job environment, lost connections and
// usage errors. The jobs are worker_test_job (see its header) or /bin/sh scripts; what they
// did is read back from the log they append to and from the broker's STAT.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/cli/worker_loop.hpp"
#include "postbox/client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The CLI's exit statuses (README, "Exit statuses of postbox").
constexpr int kOk = 0, kOther = 1, kUsage = 2, kNoSuchQueue = 5, kUnreachable = 8;

const std::string kJob = POSTBOX_TEST_WORKER_JOB;

/// One line of the jobs' log: "S id count priority pid payload" (started), "E id count"
/// (exits 0) or "F id count" (exits 1).
struct LogLine {
  char kind = '?';
  uint64_t id = 0;
  uint32_t count = 0;
  unsigned priority = 0;
  uint64_t pid = 0;
  std::string payload;
};

uint64_t pid_max() {
  std::ifstream f("/proc/sys/kernel/pid_max");
  uint64_t v = 32768;
  f >> v;
  return v;
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override { client_.connect(broker_.socket()); }

  void TearDown() override {
    // A failed test must not leave a worker (or a held job) behind.
    release_jobs();
    for (pid_t pid : workers_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (HasFailure()) std::cerr << "--- worker output ---\n" << slurp(worker_output()) << "---\n";
  }

  std::string path(const std::string& name) const { return broker_.dir() + "/" + name; }
  std::string log() const { return path("jobs.log"); }
  std::string worker_output() const { return path("worker.out"); }

  std::vector<std::string> worker_argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{binary_from_env("POSTBOX_CLI"), "--socket", broker_.socket(),
                                  "worker"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  /// Starts `postbox worker ARGS` in the background, output to worker_output().
  pid_t start_worker(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env = {}) {
    pid_t pid = spawn(worker_argv(args), env, worker_output());
    workers_.push_back(pid);
    return pid;
  }

  /// Waits (bounded) for a worker to exit; its status, or -1 if it did not.
  int wait_exit(pid_t pid, std::chrono::milliseconds bound = 20s) {
    int status = -1;
    bool done = eventually(
        [&] {
          int st = 0;
          if (::waitpid(pid, &st, WNOHANG) != pid) return false;
          status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          return true;
        },
        bound);
    if (done) std::erase(workers_, pid);
    return status;
  }

  static bool running(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) == 0; }

  /// Polls `done` until it holds or `bound` passes. The pause between probes
  /// only leaves the CPU to the worker and its jobs; the condition decides.
  static bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound = 20s,
                         std::chrono::milliseconds pace = 5ms) {
    const auto deadline = Clock::now() + bound;
    while (Clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(pace);
    }
    return done();
  }

  QueueStat stat(const std::string& q = "jobs") { return client_.stat(q); }

  /// Holds an exclusive flock on path("lock"): jobs started with --hold wait
  /// for it, so they stay running until release_jobs().
  std::string hold_jobs() {
    lock_fd_ = ::open(path("lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    EXPECT_EQ(::flock(lock_fd_, LOCK_EX), 0);
    return path("lock");
  }
  void release_jobs() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
  }

  std::vector<LogLine> read_log() const {
    std::vector<LogLine> lines;
    std::ifstream f(log());
    for (std::string text; std::getline(f, text);) {
      std::istringstream in(text);
      LogLine l;
      in >> l.kind >> l.id >> l.count;
      if (l.kind == 'S') {
        in >> l.priority >> l.pid;
        in.get();  // the space before the payload
        std::getline(in, l.payload);
      }
      lines.push_back(l);
    }
    return lines;
  }
  std::size_t started() const {
    std::size_t n = 0;
    for (const auto& l : read_log()) n += l.kind == 'S';
    return n;
  }

  /// Sends `n` messages with payloads "0" .. "n-1"; returns the first id.
  uint64_t send_numbered(int n, const std::string& q = "jobs") {
    std::vector<std::string> payloads;
    for (int i = 0; i < n; ++i) payloads.push_back(std::to_string(i));
    return client_.send_batch(q, payloads).first_id;
  }

  TestBroker broker_;
  Client client_;
  std::vector<pid_t> workers_;
  int lock_fd_ = -1;
};

// --- The bar -----------------------------------------------------------------------

// 10,000 jobs, priorities 0-9 interleaved by id, all queued before the worker starts; every
// job whose number is a multiple of 10 fails on its first attempt. Four at a time.
TEST_F(WorkerTest, DrainsTenThousandJobsOfMixedPrioritiesWithATenthFailingOnce) {
  constexpr int kJobs = 10'000, kConcurrency = 4, kPriorities = 10, kBatch = 1000;
  client_.declare("jobs");
  std::vector<unsigned> priority_of(kJobs);
  uint64_t first_id = 0;
  for (int start = 0; start < kJobs; start += kBatch) {
    std::vector<OutgoingMessage> batch;
    for (int i = start; i < start + kBatch; ++i) {
      OutgoingMessage m;
      m.payload = std::to_string(i);
      m.priority = static_cast<uint8_t>((i * 37) % kPriorities);
      priority_of[i] = m.priority;
      batch.push_back(std::move(m));
    }
    uint64_t id = client_.send_batch("jobs", batch).first_id;
    if (start == 0) first_id = id;
  }
  ASSERT_EQ(stat().depth, static_cast<uint64_t>(kJobs));

  const auto t0 = Clock::now();
  pid_t worker =
      start_worker({"jobs", "--concurrency", std::to_string(kConcurrency), "--backoff", "1",
                    "--max-backoff", "1", "--", kJob, log(), "--fail-first-multiple-of", "10"});
  ASSERT_TRUE(eventually([&] { return stat().acked_total == kJobs; }, 120s, 50ms))
      << "acked " << stat().acked_total << " of " << kJobs;
  const auto drained = Clock::now() - t0;
  ASSERT_EQ(::kill(worker, SIGTERM), 0);
  EXPECT_EQ(wait_exit(worker), kOk);
  std::cout << "[ timing   ] " << kJobs << " jobs (" << kJobs / 10 << " retried) drained in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(drained).count() << " ms\n";

  QueueStat s = stat();
  EXPECT_EQ(s.acked_total, static_cast<uint64_t>(kJobs));  // every job acknowledged once
  EXPECT_EQ(s.nacked_total, static_cast<uint64_t>(kJobs / 10));
  EXPECT_EQ(s.redelivered_total, static_cast<uint64_t>(kJobs / 10));
  EXPECT_EQ(s.depth, 0u);
  EXPECT_EQ(s.leased, 0u);
  EXPECT_EQ(s.delayed, 0u);
  EXPECT_EQ(s.lease_expired_total, 0u);

  // From the log: each job ran once, or twice with delivery counts 1 then 2 when it was
  // chosen to fail, and ended successfully exactly once, in its last run; never more than
  // kConcurrency ran at once (a job logs after it started and before it exits, so the log
  // can only undercount what ran at once).
  std::vector<std::vector<uint32_t>> starts(kJobs), ends(kJobs), failures(kJobs);
  struct FirstAttempt {
    uint64_t pid;
    unsigned priority;
  };
  std::vector<FirstAttempt> first_attempts;
  std::size_t in_flight = 0, most_in_flight = 0;
  for (const LogLine& l : read_log()) {
    ASSERT_GE(l.id, first_id);
    ASSERT_LT(l.id, first_id + kJobs);
    const auto job = static_cast<std::size_t>(l.id - first_id);
    if (l.kind == 'S') {
      ASSERT_EQ(l.payload, std::to_string(job));
      ASSERT_EQ(l.priority, priority_of[job]) << "POSTBOX_PRIORITY of job " << job;
      starts[job].push_back(l.count);
      if (l.count == 1) first_attempts.push_back({l.pid, l.priority});
      most_in_flight = std::max(most_in_flight, ++in_flight);
    } else {
      (l.kind == 'E' ? ends : failures)[job].push_back(l.count);
      --in_flight;
    }
  }
  for (int job = 0; job < kJobs; ++job) {
    const bool fails_once = job % 10 == 0;
    const std::vector<uint32_t> want_starts =
        fails_once ? std::vector<uint32_t>{1, 2} : std::vector<uint32_t>{1};
    const std::vector<uint32_t> want_ends{fails_once ? 2u : 1u};
    const std::vector<uint32_t> want_failures =
        fails_once ? std::vector<uint32_t>{1} : std::vector<uint32_t>{};
    ASSERT_EQ(starts[job], want_starts) << "job " << job;
    ASSERT_EQ(ends[job], want_ends) << "job " << job;
    ASSERT_EQ(failures[job], want_failures) << "job " << job;
  }
  EXPECT_LE(most_in_flight, static_cast<std::size_t>(kConcurrency));

  // Higher priorities first. Start order is pid order: the worker starts one job at a time
  // and the kernel hands out pids in order (wrapping at pid_max, so they are counted from a
  // point safely before the run's first). The order of the S lines would blur it: a job can
  // be descheduled between its start and its first write while others start and log.
  // A first attempt of a lower-priority job may precede one of a higher priority by at most
  // the kConcurrency jobs in flight together.
  ASSERT_EQ(first_attempts.size(), static_cast<std::size_t>(kJobs));
  const uint64_t cycle = pid_max();
  const uint64_t origin = (first_attempts.front().pid + cycle - 4096) % cycle;
  for (auto& a : first_attempts) a.pid = (a.pid + cycle - origin) % cycle;
  std::sort(first_attempts.begin(), first_attempts.end(),
            [](const FirstAttempt& a, const FirstAttempt& b) { return a.pid < b.pid; });
  ASSERT_LT(first_attempts.back().pid, cycle - 4096) << "pids wrapped more than once";
  std::array<std::optional<std::size_t>, 256> first_start_of;  // priority -> position
  std::size_t worst = 0, worst_at = 0;
  for (std::size_t pos = 0; pos < first_attempts.size(); ++pos) {
    const unsigned p = first_attempts[pos].priority;
    for (unsigned lower = 0; lower < p; ++lower)
      if (first_start_of[lower] && pos - *first_start_of[lower] > worst) {
        worst = pos - *first_start_of[lower];
        worst_at = pos;
      }
    if (!first_start_of[p]) first_start_of[p] = pos;
  }
  std::cout << "[ order    ] at most " << most_in_flight << " jobs logged running at once; "
            << "a first attempt started at most " << worst
            << " positions after one of a lower priority\n";
  EXPECT_LE(worst, static_cast<std::size_t>(kConcurrency))
      << "the first attempt in start position " << worst_at << " (priority "
      << first_attempts[worst_at].priority << ") started " << worst
      << " positions after one of a lower priority";
}

// --- Stopping ------------------------------------------------------------------------------

TEST_F(WorkerTest, SigtermStopsTakingWorkLetsRunningCommandsFinishAndExitsZero) {
  client_.declare("jobs");
  send_numbered(20);
  const std::string lock = hold_jobs();
  pid_t worker = start_worker({"jobs", "--concurrency", "2", "--", kJob, log(), "--hold", lock});
  ASSERT_TRUE(eventually([&] { return started() == 2 && stat().leased == 2; }));

  ASSERT_EQ(::kill(worker, SIGTERM), 0);
  // The worker cancels its consumer at once, and keeps the two running jobs' leases.
  ASSERT_TRUE(eventually([&] { return stat().consumers.empty(); }));
  QueueStat s = stat();
  EXPECT_EQ(s.leased, 2u);
  EXPECT_EQ(s.depth, 18u);
  EXPECT_TRUE(running(worker));

  release_jobs();
  EXPECT_EQ(wait_exit(worker), kOk);
  s = stat();
  EXPECT_EQ(s.acked_total, 2u);  // the two that ran, settled before the exit
  EXPECT_EQ(s.nacked_total, 0u);
  EXPECT_EQ(s.leased, 0u);
  EXPECT_EQ(s.delayed, 0u);
  EXPECT_EQ(s.depth, 18u);  // the rest, ready: none lost
  EXPECT_EQ(started(), 2u);
}

TEST_F(WorkerTest, SecondSigtermKillsRunningCommandsAndReturnsTheirMessagesAtOnce) {
  client_.declare("jobs");
  send_numbered(4);
  const std::string lock = hold_jobs();
  pid_t worker = start_worker(
      {"jobs", "--concurrency", "2", "--backoff", "60000", "--", kJob, log(), "--hold", lock});
  ASSERT_TRUE(eventually([&] { return started() == 2 && stat().leased == 2; }));
  ASSERT_EQ(::kill(worker, SIGTERM), 0);
  ASSERT_TRUE(eventually([&] { return stat().consumers.empty(); }));
  ASSERT_EQ(::kill(worker, SIGTERM), 0);
  EXPECT_EQ(wait_exit(worker), kOk);

  QueueStat s = stat();
  EXPECT_EQ(s.nacked_total, 2u);
  EXPECT_EQ(s.acked_total, 0u);
  EXPECT_EQ(s.leased, 0u);
  EXPECT_EQ(s.delayed, 0u);  // killed by the worker: no back-off, whatever --backoff says
  EXPECT_EQ(s.depth, 4u);
}

// --- Settling ------------------------------------------------------------------------------

TEST_F(WorkerTest, ACommandKilledByASignalIsNackedAndRunsAgain) {
  client_.declare("jobs");
  uint64_t id = send_numbered(1);
  pid_t worker = start_worker(
      {"jobs", "--backoff", "1", "--max-backoff", "1", "--", kJob, log(), "--kill-first"});
  ASSERT_TRUE(eventually([&] { return stat().acked_total == 1; }));
  ASSERT_EQ(::kill(worker, SIGTERM), 0);
  EXPECT_EQ(wait_exit(worker), kOk);

  QueueStat s = stat();
  EXPECT_EQ(s.nacked_total, 1u);
  EXPECT_EQ(s.redelivered_total, 1u);
  EXPECT_EQ(s.depth + s.leased + s.delayed, 0u);
  auto lines = read_log();
  ASSERT_EQ(lines.size(), 3u);  // S 1 (killed), S 2, E 2
  EXPECT_EQ(lines[0].kind, 'S');
  EXPECT_EQ(lines[0].count, 1u);
  EXPECT_EQ(lines[1].kind, 'S');
  EXPECT_EQ(lines[1].count, 2u);
  EXPECT_EQ(lines[2].kind, 'E');
  EXPECT_EQ(lines[2].id, id);
}

TEST_F(WorkerTest, AFailedCommandIsNackedWithTheBackoffDelay) {
  client_.declare("jobs");
  send_numbered(1);  // payload "0": a multiple of anything
  pid_t worker = start_worker(
      {"jobs", "--backoff", "60000", "--", kJob, log(), "--fail-first-multiple-of", "1"});
  ASSERT_TRUE(eventually([&] { return stat().nacked_total == 1; }));
  QueueStat s = stat();
  EXPECT_EQ(s.delayed, 1u);  // waiting out its minute, not ready
  EXPECT_EQ(s.depth, 0u);
  ASSERT_EQ(::kill(worker, SIGTERM), 0);
  EXPECT_EQ(wait_exit(worker), kOk);
  EXPECT_EQ(stat().delayed, 1u);
}

TEST(WorkerRetryDelay, DoublesPerDeliveryUpToTheMaximum) {
  using cli::retry_delay;
  EXPECT_EQ(retry_delay(1, 1000ms, 60000ms), 1000ms);
  EXPECT_EQ(retry_delay(2, 1000ms, 60000ms), 2000ms);
  EXPECT_EQ(retry_delay(6, 1000ms, 60000ms), 32000ms);
  EXPECT_EQ(retry_delay(7, 1000ms, 60000ms), 60000ms);
  EXPECT_EQ(retry_delay(4'000'000'000u, 1000ms, 60000ms), 60000ms);  // no overflow
  EXPECT_EQ(retry_delay(3, 0ms, 60000ms), 0ms);
  EXPECT_EQ(retry_delay(1, 5000ms, 100ms), 100ms);
}

TEST_F(WorkerTest, ACommandThatIgnoresItsStdinIsAckedAndTheWorkerSurvivesThePipe) {
  client_.declare("jobs");
  client_.send("jobs", std::string(1 << 20, 'x'));  // far more than a pipe holds
  pid_t worker = start_worker({"jobs", "--", "/bin/true"});
  ASSERT_TRUE(eventually([&] { return stat().acked_total == 1; }));
  EXPECT_TRUE(running(worker));  // no SIGPIPE
  ASSERT_EQ(::kill(worker, SIGTERM), 0);
  EXPECT_EQ(wait_exit(worker), kOk);
}

// The queue's lease is 300 ms and the job runs for three of them: the worker touches it.
TEST_F(WorkerTest, KeepsTheLeaseOfARunningCommandAlive) {
  QueueOptions o;
  o.lease = 300ms;
  client_.declare("jobs", o);
  send_numbered(1);
  const std::string lock = hold_jobs();
  pid_t worker = start_worker({"jobs", "--", kJob, log(), "--hold", lock});
  ASSERT_TRUE(eventually([&] { return started() == 1; }));
  // A measurement window, not a synchronisation: long enough for three leases to lapse.
  std::this_thread::sleep_for(900ms);
  QueueStat s = stat();
  EXPECT_EQ(s.lease_expired_total, 0u);
  EXPECT_EQ(s.leased, 1u);
  release_jobs();
  ASSERT_TRUE(eventually([&] { return stat().acked_total == 1; }));
  EXPECT_EQ(stat().redelivered_total, 0u);
  ASSERT_EQ(::kill(worker, SIGTERM), 0);
  EXPECT_EQ(wait_exit(worker), kOk);
}

// --- The job's environment -----------------------------------------------------------------

std::map<std::string, std::string> parse_env(const std::string& text) {
  std::map<std::string, std::string> vars;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (auto eq = line.find('='); eq != std::string::npos)
      vars[line.substr(0, eq)] = line.substr(eq + 1);
  return vars;
}

TEST_F(WorkerTest, SetsTheMessagesMetadataInTheEnvironmentAndThePayloadOnStdin) {
  client_.declare("jobs");
  std::string big(200'000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  SendOptions o;
  o.type = 7;
  o.priority = 5;
  o.correlation_id = "c-1";
  o.reply_to = "replies";
  o.headers = {
      {"content-type", "text/plain"}, {"x-retry.count", "3"}, {"dup", "first"}, {"dup", "second"}};
  const uint64_t first = client_.send("jobs", big, o);
  const uint64_t second = client_.send("jobs", "plain");

  // A stale variable in the worker's own environment must not reach a job.
  pid_t worker = start_worker(
      {"jobs", "--", "/bin/sh", "-c",
       "env > \"$0/env.$POSTBOX_ID\"; cat > \"$0/payload.$POSTBOX_ID\"", broker_.dir()},
      {{"POSTBOX_CORRELATION_ID", "stale"}, {"POSTBOX_HEADER_OLD", "x"}});
  ASSERT_TRUE(eventually([&] { return stat().acked_total == 2; }));
  ASSERT_EQ(::kill(worker, SIGTERM), 0);
  EXPECT_EQ(wait_exit(worker), kOk);

  auto env = parse_env(slurp(path("env." + std::to_string(first))));
  EXPECT_EQ(env["POSTBOX_ID"], std::to_string(first));
  EXPECT_EQ(env["POSTBOX_QUEUE"], "jobs");
  EXPECT_EQ(env["POSTBOX_TYPE"], "7");
  EXPECT_EQ(env["POSTBOX_PRIORITY"], "5");
  EXPECT_EQ(env["POSTBOX_DELIVERY_COUNT"], "1");
  EXPECT_NE(env["POSTBOX_TAG"], "0");
  EXPECT_FALSE(env["POSTBOX_TAG"].empty());
  EXPECT_EQ(env["POSTBOX_CORRELATION_ID"], "c-1");
  EXPECT_EQ(env["POSTBOX_REPLY_TO"], "replies");
  EXPECT_EQ(env["POSTBOX_HEADER_CONTENT_TYPE"], "text/plain");
  EXPECT_EQ(env["POSTBOX_HEADER_X_RETRY_COUNT"], "3");
  EXPECT_EQ(env["POSTBOX_HEADER_DUP"], "second");      // a repeated key: the last value
  EXPECT_EQ(env["POSTBOX_SOCKET"], broker_.socket());  // the job's own postbox calls find it
  EXPECT_FALSE(env.contains("POSTBOX_HEADER_OLD"));
  EXPECT_EQ(slurp(path("payload." + std::to_string(first))), big);

  env = parse_env(slurp(path("env." + std::to_string(second))));
  EXPECT_EQ(env["POSTBOX_ID"], std::to_string(second));
  EXPECT_EQ(env["POSTBOX_TYPE"], "1");
  EXPECT_FALSE(env.contains("POSTBOX_CORRELATION_ID"));  // not the worker's stale one
  EXPECT_FALSE(env.contains("POSTBOX_REPLY_TO"));
  EXPECT_FALSE(env.contains("POSTBOX_HEADER_OLD"));
  EXPECT_EQ(slurp(path("payload." + std::to_string(second))), "plain");
}

// --- Losing the broker, the queue or the command -------------------------------------------

TEST_F(WorkerTest, ALostConnectionKillsNothingWaitsForTheCommandsAndExitsUnreachable) {
  client_.declare("jobs");
  send_numbered(3);
  const std::string lock = hold_jobs();
  pid_t worker = start_worker({"jobs", "--", kJob, log(), "--hold", lock});
  ASSERT_TRUE(eventually([&] { return started() == 1; }));
  client_.close();
  broker_.stop(SIGKILL);
  ASSERT_TRUE(eventually([&] {
    return slurp(worker_output()).find("waiting for 1 running command") != std::string::npos;
  }));
  EXPECT_TRUE(running(worker));
  release_jobs();
  EXPECT_EQ(wait_exit(worker), kUnreachable);
  auto lines = read_log();
  ASSERT_EQ(lines.size(), 2u);  // the job was left to finish
  EXPECT_EQ(lines[1].kind, 'E');
}

TEST_F(WorkerTest, ExitsNoSuchQueueWhenTheQueueIsDeleted) {
  client_.declare("jobs");
  pid_t worker = start_worker({"jobs", "--", kJob, log()});
  ASSERT_TRUE(eventually([&] { return stat().consumers.size() == 1; }));
  client_.remove("jobs");
  EXPECT_EQ(wait_exit(worker), kNoSuchQueue);
}

TEST_F(WorkerTest, ACommandThatCannotRunStopsTheWorkerAndReturnsItsMessage) {
  client_.declare("jobs");
  send_numbered(1);
  pid_t worker = start_worker({"jobs", "--", path("no-such-command")});
  EXPECT_EQ(wait_exit(worker), kOther);
  EXPECT_NE(slurp(worker_output()).find("cannot run '" + path("no-such-command") + "'"),
            std::string::npos);
  QueueStat s = stat();
  EXPECT_EQ(s.depth, 1u);  // back at once, ready
  EXPECT_EQ(s.leased + s.delayed, 0u);
}

// --- The command line ----------------------------------------------------------------------

TEST_F(WorkerTest, UsageErrorsExitTwoWithOneLine) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const Case cases[] = {
      {{"jobs", "/bin/true"}, "expected '-- COMMAND [ARGS...]' after the options, got '/bin/true'"},
      {{"jobs"}, "expected '-- COMMAND [ARGS...]'"},
      {{"jobs", "--"}, "expected COMMAND after '--'"},
      {{"jobs", "--concurrency", "0", "--", "/bin/true"},
       "--concurrency: expected an integer 1..4096, got '0'"},
      {{"jobs", "--type", "x", "--", "/bin/true"}, "--type: expected an integer"},
      {{"jobs", "--lease", "0", "--", "/bin/true"}, "--lease: expected an integer 1.."},
      {{"--", "/bin/true"}, "QUEUE"},
  };
  for (const Case& c : cases) {
    RunResult r = run(worker_argv(c.args));
    EXPECT_EQ(r.status, kUsage) << c.says;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  RunResult help = run(worker_argv({"--help"}));
  EXPECT_EQ(help.status, kOk);
  EXPECT_NE(help.out.find("POSTBOX_DELIVERY_COUNT"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace postbox::testing
