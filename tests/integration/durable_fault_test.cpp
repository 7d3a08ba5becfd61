// Write faults under a durable queue, injected with strace into postboxd's journal calls
// (pwrite64 from the loop thread, fdatasync from the sync thread; strace's when=N counts per
// thread, so N is the journal's Nth call of that kind): a failed fdatasync, short writes,
// ENOSPC for a while and ENOSPC for good. The policy under test (see README, durable queues):
// - a failed fdatasync makes postboxd exit with status 6 at once, with no reply that waited on
//   that sync sent;
// - a failed or short write makes the log "failing": requests that need a new record for a
//   durable queue fail with storage_error (14), non-durable queues are served as usual, the
//   broker stays up and retries the records it had accepted every second, holding their replies
//   until they are written and synced.
// Under every fault nothing acknowledged is lost: each test ends with a restart without strace
// on the same data directory and drains the queue, which must hold every acknowledged send
// exactly once, in send order, and none that was refused.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "postbox/client.hpp"
#include "postbox/error.hpp"
#include "postbox/types.hpp"
#include "proto/messages.hpp"
#include "tests/integration/durable_support.hpp"
#include "tests/integration/strace_log.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kStrace[] = "/usr/bin/strace";
constexpr char kDurable[] = "d";
constexpr char kPlain[] = "m";
// The refused sends of the main thread and the sends after a recovery are numbered apart from
// the producer's 0, 1, 2 ..., so that the drain can tell them apart.
constexpr uint64_t kRefusedBase = 1'000'000;
constexpr uint64_t kLaterBase = 2'000'000;

/// postboxd under strace, injecting `spec` (strace's -e inject=...) and logging the journal's
/// calls to `log` (read_strace_log reads it; "-e trace=none" would turn injection off too).
/// LeakSanitizer cannot run under ptrace and would turn a sanitized postboxd's clean exit
/// into status 1, so leak checking is off for the traced broker (the other tests keep it).
std::vector<std::string> strace_injecting(const std::string& spec,
                                          const std::string& log = "/dev/null") {
  std::string lsan = "detect_leaks=0";
  if (const char* v = std::getenv("LSAN_OPTIONS"); v && *v) lsan = std::string(v) + ":" + lsan;
  return {kStrace,
          "-f",
          "-qq",
          "-o",
          log,
          "-E",
          "LSAN_OPTIONS=" + lsan,
          "-e",
          "trace=pwrite64,fdatasync",
          "-e",
          "inject=" + spec};
}

bool lost_connection(const Error& e) {
  return e.errc() == Errc::disconnected || e.errc() == Errc::unreachable;
}

/// Sends numbered(0), numbered(1), ... one at a time (each waits for its
/// reply) on its own thread and sorts the outcomes. A send whose connection
/// was lost before its reply is unknown; stop() ends it.
class SequentialProducer {
 public:
  explicit SequentialProducer(const std::string& socket)
      : client_(socket, "fault-producer"), fd_(client_.native_handle()) {
    thread_ = std::thread([this] { run(); });
  }
  /// A test that failed early may leave a send held by the broker: the
  /// shutdown ends its wait (as disconnected), so the join cannot hang.
  ~SequentialProducer() {
    stop_ = true;
    if (thread_.joinable()) ::shutdown(fd_, SHUT_RDWR);
    stop();
  }

  /// Stops after the send in flight (which must get its reply, or its
  /// connection must drop: kill the broker first if it holds the reply).
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t acked_count() {
    std::lock_guard lock(mu_);
    return acked_.size();
  }
  std::vector<uint64_t> acked() {
    std::lock_guard lock(mu_);
    return acked_;
  }
  std::vector<std::pair<uint64_t, Error>> refused() {
    std::lock_guard lock(mu_);
    return refused_;
  }
  std::optional<uint64_t> unknown() {
    std::lock_guard lock(mu_);
    return unknown_;
  }

 private:
  void run() {
    for (uint64_t seq = 0; !stop_; ++seq) {
      try {
        client_.send(kDurable, numbered(seq));
        std::lock_guard lock(mu_);
        acked_.push_back(seq);
      } catch (const Error& e) {
        std::lock_guard lock(mu_);
        if (lost_connection(e)) {
          unknown_ = seq;
          return;
        }
        refused_.emplace_back(seq, e);
      }
    }
  }

  Client client_;
  int fd_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<uint64_t> acked_;
  std::vector<std::pair<uint64_t, Error>> refused_;
  std::optional<uint64_t> unknown_;
};

std::string comm_of(pid_t pid) {
  std::string c = slurp("/proc/" + std::to_string(pid) + "/comm");
  if (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

// The harness the fault tests stand on: under strace, TestBroker still sees
// READY=1, signals postboxd itself (not strace, which would detach it) and
// gets postboxd's exit status through strace; restart keeps socket and data.
TEST(DurableFaultHarness, BrokerUnderStraceIsReadySignalledAndRestartedLikeWithout) {
  ASSERT_EQ(::access(kStrace, X_OK), 0) << kStrace << " is missing";
  TestBroker b({.wrapper = strace_injecting("fdatasync:error=EIO:when=65535")});
  EXPECT_EQ(comm_of(b.pid()), "postboxd");
  const std::string socket = b.socket();
  EXPECT_EQ(b.stop(SIGTERM), 0);
  EXPECT_EQ(b.last_status(), std::optional<int>(0));
  b.restart();
  EXPECT_EQ(b.socket(), socket);
  EXPECT_EQ(b.starts(), 2);
  Client(b.socket()).declare("q");
  EXPECT_FALSE(b.wait_exit(0ms));
  EXPECT_EQ(b.kill(), 128 + SIGKILL);
  EXPECT_EQ(b.pid(), -1);
  b.restart({});  // without strace now
  EXPECT_EQ(comm_of(b.pid()), "postboxd");
  EXPECT_EQ(Client(b.socket()).list().size(), 0u);  // q was not durable
  EXPECT_THROW(b.restart(), std::logic_error);
}

class DurableFault : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(kStrace, X_OK), 0)
        << kStrace << " is missing: scripts/install-deps.sh installs strace for these tests";
    // The durable queue is made by a broker without strace and survives its crash, so the
    // faulty start's first journal writes are the test's sends.
    declare_durable(broker_.socket(), kDurable);
    ASSERT_EQ(broker_.kill(), 128 + SIGKILL);
  }

  void start_injecting(const std::string& spec) {
    broker_.restart({.args = {"--fsync", "always"}, .wrapper = strace_injecting(spec, trace_)});
  }

  /// The journal's calls under the last start_injecting() (complete once postboxd is gone).
  std::vector<TracedCall> traced(const std::string& name) const {
    std::vector<TracedCall> out;
    for (auto& c : read_strace_log(trace_))
      if (c.name == name) out.push_back(std::move(c));
    return out;
  }

  nlohmann::json log_status() { return status_json(broker_.socket()).at("log"); }

  bool log_state_is(const std::string& state) {
    try {
      return log_status().value("state", "") == state;
    } catch (const std::exception&) {
      return false;
    }
  }

  /// Kills the faulty broker if it still runs, starts it without strace on the
  /// same data directory and takes every message of the durable queue, in
  /// queue order: their sequence numbers.
  std::vector<uint64_t> recover_and_drain() {
    if (broker_.pid() > 0) broker_.kill();
    broker_.restart({.args = {"--fsync", "always"}});
    recovered_messages_ = log_status().value("recovered_messages", uint64_t{0});
    Client c(broker_.socket());
    std::vector<uint64_t> seqs;
    for (;;) {
      const auto got = c.receive_many(kDurable, 1000, {.timeout = kNoWait});
      if (got.empty()) break;
      for (const auto& m : got) {
        const auto seq = seq_of(m.payload);
        EXPECT_TRUE(seq) << "recovered a payload nobody sent: '" << m.payload << "'";
        if (seq) seqs.push_back(*seq);
      }
    }
    return seqs;
  }

  /// The sequence numbers in [lo, hi) of `seqs` (one producer's), in order.
  static std::vector<uint64_t> below(const std::vector<uint64_t>& seqs, uint64_t lo, uint64_t hi) {
    std::vector<uint64_t> out;
    for (uint64_t s : seqs)
      if (s >= lo && s < hi) out.push_back(s);
    return out;
  }

  /// Every acknowledged send recovered exactly once and in order; besides them
  /// at most `unknown` (a send whose reply never came), and only last.
  static void expect_acked_recovered(const std::vector<uint64_t>& acked,
                                     std::optional<uint64_t> unknown,
                                     const std::vector<uint64_t>& recovered) {
    std::vector<uint64_t> expected = acked;
    if (recovered.size() == acked.size() + 1 && unknown && recovered.back() == *unknown)
      expected.push_back(*unknown);
    EXPECT_EQ(recovered, expected) << acked.size() << " sends were acknowledged";
  }

  /// A durable send the failing log must refuse: its error code and text.
  /// Over a raw connection so that a send the broker holds instead fails the
  /// test after 10 s rather than hanging it.
  std::pair<proto::Errc, std::string> refusal_of_send(uint64_t seq) {
    RawConn conn(broker_.socket());
    conn.hello();
    Out out;
    out.payload = numbered(seq);
    conn.send(send_frame(kDurable, {out}, 7));
    const auto f = conn.expect(10s);
    if (!f) return {proto::Errc::ok, "no reply within 10 s: the send was held, not refused"};
    if (f->header.kind != proto::Kind::error) return {proto::Errc::ok, "acknowledged"};
    const auto e = proto::decode_error(f->body);
    if (!e) return {proto::Errc::internal_error, "undecodable ERROR frame"};
    return {e->code, std::string(e->message)};
  }

  /// A non-durable queue is declared, sent to and received from as usual.
  void expect_plain_queue_served(Client& c) {
    c.declare(kPlain);
    c.send(kPlain, "plain", {.timeout = kNoWait});
    const auto m = c.receive(kPlain, {.timeout = kNoWait});
    ASSERT_TRUE(m) << "the plain queue lost its message";
    EXPECT_EQ(m->payload, "plain");
  }

  /// How many journal writes strace has failed so far (its log is written as it goes).
  int injected_writes() const {
    int n = 0;
    for (const auto& w : traced("pwrite64")) n += w.injected;
    return n;
  }

  /// Checks that the write after each failed one is of the same batch, whole,
  /// at the same offset (resuming at offset + 1 after a short write would
  /// leave a hole that recovery must cut off); returns how many failed.
  int expect_rewritten_at_their_offsets(bool last_may_be_pending) const {
    const auto writes = traced("pwrite64");
    int failed = 0;
    for (std::size_t i = 0; i < writes.size(); ++i) {
      if (!writes[i].injected) continue;
      ++failed;
      if (i + 1 == writes.size()) {
        EXPECT_TRUE(last_may_be_pending) << "a failed write was never written again";
        break;
      }
      const auto was = writes[i].count_and_offset(), next = writes[i + 1].count_and_offset();
      EXPECT_TRUE(was && next) << writes[i].args << " / " << writes[i + 1].args;
      if (!was || !next) break;
      EXPECT_EQ(next->second, was->second) << "rewritten at another offset: " << writes[i + 1].args;
      EXPECT_GE(next->first, was->first) << "not the whole batch: " << writes[i + 1].args;
    }
    return failed;
  }

  void report(const std::string& test, uint64_t acked, uint64_t refused, uint64_t unknown) {
    const std::string line =
        test + ": acked=" + std::to_string(acked) + " refused=" + std::to_string(refused) +
        " unknown=" + std::to_string(unknown) + " recovered=" + std::to_string(recovered_messages_);
    std::cout << "durable fault test counts: " << line << std::endl;
    RecordProperty("counts", line);
    if (HasFailure()) std::cout << "postboxd log (every start):\n" << broker_.log() << std::endl;
  }

  TestBroker broker_{{.args = {"--fsync", "always"}}};
  const std::string trace_ = broker_.dir() + "/strace.log";
  uint64_t recovered_messages_ = 0;
};

// One send at a time: each send's record needs a sync of its own, so the sends
// acknowledged can be no more than the fdatasync calls that succeeded after the
// first send's record was written (strace's log of the journal says how many).
TEST_F(DurableFault, FailedFdatasyncExitsWithStatus6AndAcknowledgesNothingItCovered) {
  constexpr int kFailing = 20;  // the journal's 20th fdatasync fails
  start_injecting("fdatasync:error=EIO:when=" + std::to_string(kFailing));
  Client c(broker_.socket());
  std::vector<uint64_t> acked;
  std::optional<uint64_t> unknown;
  for (uint64_t seq = 0; seq < 10 * kFailing && !unknown; ++seq) {
    try {
      c.send(kDurable, numbered(seq));
      acked.push_back(seq);
    } catch (const Error& e) {
      EXPECT_TRUE(lost_connection(e)) << "seq " << seq << ": " << e.what();
      unknown = seq;
    }
  }
  ASSERT_TRUE(unknown) << "no send failed: the injected fdatasync failure did not happen";
  EXPECT_FALSE(acked.empty()) << "the sync failed before any send: nothing tested the prefix";
  EXPECT_EQ(broker_.wait_exit(10s), std::optional<int>(6)) << broker_.log();
  EXPECT_NE(broker_.log().find("Input/output error"), std::string::npos) << broker_.log();

  // From strace's log: the injected failure happened once, it was the last
  // fdatasync (postboxd exited at once), and the acknowledged sends are
  // covered by the syncs that succeeded after the first send's write.
  std::size_t first_send = SIZE_MAX, syncs_ok = 0, injected = 0, after_injected = 0;
  const auto calls = read_strace_log(trace_);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const auto& call = calls[i];
    if (call.name == "pwrite64" && first_send == SIZE_MAX && call.count_and_offset() &&
        call.count_and_offset()->second > 0)
      first_send = i;  // offset 0 is the new segment's header, written at start-up
    if (call.name != "fdatasync") continue;
    if (injected) ++after_injected;
    if (call.injected) ++injected;
    if (!call.injected && call.ret() == 0 && i > first_send) ++syncs_ok;
  }
  EXPECT_EQ(injected, 1u);
  EXPECT_EQ(after_injected, 0u) << "postboxd synced again after a failed fdatasync";
  EXPECT_LE(acked.size(), syncs_ok) << "a send was acknowledged that no successful sync covered";

  const auto recovered = recover_and_drain();
  expect_acked_recovered(acked, unknown, recovered);
  report("fdatasync EIO, one send at a time (" + std::to_string(syncs_ok) + " syncs ok)",
         acked.size(), 0, 1);
}

// Many sends waiting on one group commit when its fdatasync fails: all of them
// go without a reply, the broker exits 6, and what was acknowledged before
// (each producer's in its own order) is all recovered.
TEST_F(DurableFault, FailedFdatasyncUnderGroupCommitLosesNothingAcknowledged) {
  constexpr int kProducers = 4;
  constexpr std::size_t kWindow = 8;
  constexpr uint64_t kSpan = 100'000;     // producer p sends p * kSpan + 0, 1, 2 ...
  constexpr uint64_t kMaxSends = 20'000;  // a broker that outlives its failed sync stops them here
  start_injecting("fdatasync:error=EIO:when=30");
  std::vector<std::vector<uint64_t>> acked(kProducers);
  std::vector<std::vector<uint64_t>> unknown(kProducers);
  std::vector<std::string> errors(kProducers);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      try {
        Client c(broker_.socket());
        std::vector<std::pair<uint64_t, Client::Ticket>> inflight;
        uint64_t next = static_cast<uint64_t>(p) * kSpan;
        for (;;) {
          if (next >= static_cast<uint64_t>(p) * kSpan + kMaxSends) {
            errors[p] = "the broker still acknowledged sends after " + std::to_string(kMaxSends);
            return;
          }
          while (inflight.size() < kWindow) {
            inflight.emplace_back(next, c.start_send(kDurable, numbered(next)));
            ++next;
          }
          try {
            const Reply r = c.wait(inflight.front().second);
            if (!r.ok()) {
              errors[p] = "refused: " + r.error_message;
              return;
            }
          } catch (const Error& e) {
            if (!lost_connection(e)) errors[p] = e.what();
            for (const auto& [seq, t] : inflight) unknown[p].push_back(seq);
            return;
          }
          acked[p].push_back(inflight.front().first);
          inflight.erase(inflight.begin());
        }
      } catch (const Error& e) {
        if (!lost_connection(e)) errors[p] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(broker_.wait_exit(10s), std::optional<int>(6)) << broker_.log();

  const auto recovered = recover_and_drain();
  uint64_t total_acked = 0, total_unknown = 0;
  for (int p = 0; p < kProducers; ++p) {
    EXPECT_EQ(errors[p], "") << "producer " << p;
    total_acked += acked[p].size();
    total_unknown += unknown[p].size();
    const auto mine = below(recovered, p * kSpan, (p + 1) * kSpan);
    // Acknowledged sends are a prefix of what it recovered; the rest are of
    // sends whose reply never came, in order.
    ASSERT_GE(mine.size(), acked[p].size()) << "producer " << p << " lost acknowledged sends";
    EXPECT_EQ(std::vector<uint64_t>(mine.begin(), mine.begin() + acked[p].size()), acked[p])
        << "producer " << p;
    const std::vector<uint64_t> extra(mine.begin() + acked[p].size(), mine.end());
    EXPECT_TRUE(std::equal(extra.begin(), extra.end(), unknown[p].begin(),
                           unknown[p].begin() + std::min(extra.size(), unknown[p].size())) &&
                extra.size() <= unknown[p].size())
        << "producer " << p << " recovered sends it never made or out of order";
  }
  EXPECT_GT(total_acked, 0u);
  report("fdatasync EIO, 4 producers x 8 in flight", total_acked, 0, total_unknown);
}

// From the journal's 50th pwrite64 on, six calls "succeed" having written
// nothing and claiming 1 byte (no kernel does that; it stands for any short
// write). The log is failing until a rewrite goes through: meanwhile durable
// sends are refused and the plain queue works; the held send is acknowledged
// once written. Every rewrite is of the whole batch at the same offset
// (resuming at offset + 1 would leave a hole that recovery must cut off).
TEST_F(DurableFault, ShortWritesFailTheLogUntilTheBatchIsRewrittenWholeAtItsOffset) {
  constexpr int kShortWrites = 6;
  start_injecting("pwrite64:retval=1:when=50.." + std::to_string(50 + kShortWrites - 1));
  SequentialProducer producer(broker_.socket());
  ASSERT_TRUE(eventually([&] { return log_state_is("failing"); })) << broker_.log();

  Client c(broker_.socket());
  const auto [code, text] = refusal_of_send(kRefusedBase);
  EXPECT_EQ(code, proto::Errc::storage_error) << text;
  // A clear error: it names the log file and what went wrong.
  EXPECT_NE(text.find("/data/journal/segment-"), std::string::npos) << text;
  EXPECT_NE(text.find("short write"), std::string::npos) << text;
  expect_plain_queue_served(c);

  ASSERT_TRUE(eventually([&] { return log_state_is("ok"); })) << broker_.log();
  c.send(kDurable, numbered(kLaterBase));
  ASSERT_TRUE(eventually([&] { return producer.acked_count() > 60; }));
  producer.stop();
  EXPECT_EQ(producer.refused().size(), 0u)
      << "the producer's held send was refused: " << producer.refused().front().second.what();
  EXPECT_FALSE(producer.unknown());
  const auto acked = producer.acked();

  const auto recovered = recover_and_drain();
  expect_acked_recovered(acked, std::nullopt, below(recovered, 0, kRefusedBase));
  EXPECT_EQ(below(recovered, kRefusedBase, kLaterBase).size(), 0u) << "a refused send was kept";
  EXPECT_EQ(below(recovered, kLaterBase, kLaterBase + 1).size(), 1u);
  EXPECT_EQ(recovered_messages_, recovered.size());

  EXPECT_EQ(expect_rewritten_at_their_offsets(false), kShortWrites);
  report("short pwrite64 x6", acked.size() + 1, 1, 0);
}

// ENOSPC for the Nth write and its two retries, then space "returns".
TEST_F(DurableFault, EnospcForAWhileRefusesDurableRequestsThenRecovers) {
  start_injecting("pwrite64:error=ENOSPC:when=50..52");
  SequentialProducer producer(broker_.socket());
  ASSERT_TRUE(eventually([&] { return log_state_is("failing"); })) << broker_.log();

  Client c(broker_.socket());
  const auto [code, text] = refusal_of_send(kRefusedBase);
  EXPECT_EQ(code, proto::Errc::storage_error) << text;
  EXPECT_NE(text.find("No space left on device"), std::string::npos) << text;
  const auto status = log_status();
  EXPECT_NE(status.value("error", "").find("No space left on device"), std::string::npos)
      << status.dump();
  // A receive from the durable queue needs a record too (its removal).
  try {
    c.receive(kDurable, {.timeout = kNoWait});
    ADD_FAILURE() << "a durable receive was served while the log could not be written";
  } catch (const Error& e) {
    EXPECT_EQ(e.errc(), Errc::storage_error) << e.what();
  }
  expect_plain_queue_served(c);

  ASSERT_TRUE(eventually([&] { return log_state_is("ok"); })) << broker_.log();
  c.send(kDurable, numbered(kLaterBase));
  ASSERT_TRUE(eventually([&] { return producer.acked_count() > 60; }));
  producer.stop();
  EXPECT_EQ(producer.refused().size(), 0u);
  EXPECT_FALSE(producer.unknown());
  const auto acked = producer.acked();

  const auto recovered = recover_and_drain();
  expect_acked_recovered(acked, std::nullopt, below(recovered, 0, kRefusedBase));
  EXPECT_EQ(below(recovered, kRefusedBase, kLaterBase).size(), 0u) << "a refused send was kept";
  EXPECT_EQ(below(recovered, kLaterBase, kLaterBase + 1).size(), 1u);
  EXPECT_EQ(expect_rewritten_at_their_offsets(false), 3);
  report("ENOSPC for writes 50..52", acked.size() + 1, 1, 0);
}

// ENOSPC from the Nth write on: the broker stays up and serves the plain
// queue; the send it accepted before stays held; a crash then loses nothing
// that was acknowledged.
TEST_F(DurableFault, EnospcForGoodKeepsTheBrokerUpAndLosesNothingAcknowledged) {
  start_injecting("pwrite64:error=ENOSPC:when=50+");
  SequentialProducer producer(broker_.socket());
  ASSERT_TRUE(eventually([&] { return log_state_is("failing"); })) << broker_.log();

  Client c(broker_.socket());
  std::vector<uint64_t> refused;
  for (uint64_t i = 0; i < 3; ++i) {
    const auto [code, text] = refusal_of_send(kRefusedBase + i);
    EXPECT_EQ(code, proto::Errc::storage_error) << text;
    refused.push_back(kRefusedBase + i);
  }
  expect_plain_queue_served(c);
  // It stays up and keeps retrying, once a second: two retries seen by strace.
  EXPECT_TRUE(eventually([&] { return injected_writes() >= 3; })) << injected_writes();
  EXPECT_FALSE(broker_.wait_exit(0ms)) << "postboxd exited on a write error";
  EXPECT_TRUE(log_state_is("failing"));
  expect_plain_queue_served(c);

  broker_.kill();
  producer.stop();  // its held send's connection is gone: unknown
  EXPECT_EQ(producer.refused().size(), 0u);
  EXPECT_TRUE(producer.unknown()) << "the send that hit ENOSPC was not held";
  const auto acked = producer.acked();
  const auto recovered = recover_and_drain();
  expect_acked_recovered(acked, producer.unknown(), below(recovered, 0, kRefusedBase));
  EXPECT_EQ(below(recovered, kRefusedBase, kLaterBase).size(), 0u) << "a refused send was kept";
  expect_rewritten_at_their_offsets(true);
  report("ENOSPC from write 50 on", acked.size(), refused.size(), producer.unknown() ? 1 : 0);
}

}  // namespace
}  // namespace postbox::testing
