// postboxd as a process: socket ownership, stale sockets, clean shutdown, start-up errors.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "proto/messages.hpp"
#include "proto/properties.hpp"
#include "tests/support/process.hpp"
#include "tests/support/raw_conn.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using proto::Errc;
using proto::Kind;

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

/// Context switches of `pid` so far: every wake-up of an idle process is one.
long context_switches(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  long total = 0;
  while (std::getline(f, line)) {
    if (line.find("ctxt_switches:") != std::string::npos) {
      total += std::stol(line.substr(line.find(':') + 1));
    }
  }
  return total;
}

/// True once `pid` sits in epoll_wait (x86-64 syscall 232, epoll_pwait 281):
/// the broker has finished all it was given and blocks.
bool blocked_in_epoll(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/syscall");
  long nr = -1;
  f >> nr;
  return nr == 232 || nr == 281;
}

/// Declares queue "q" and leaves a receive (request id 2) waiting on it with no deadline.
void park_receive_forever(RawConn& c) {
  c.hello();
  std::vector<std::byte> out;
  proto::encode_json(Kind::declare, R"({"queue":"q"})", out, 1);
  proto::ReceiveRequest r;
  r.queue = "q";
  r.timeout_ms = proto::kWaitForever;
  proto::encode(r, out, 2);
  c.send(out);
  ASSERT_TRUE(c.expect());  // the DECLARE_OK; the receive, sent behind it, waits
}

TEST(Daemon, IdleBrokerNeverWakesUp) {
  TestBroker b;
  RawConn c(b.socket());
  park_receive_forever(c);
  bool blocked = false;
  for (int i = 0; i < 100000 && !blocked; ++i) blocked = blocked_in_epoll(b.pid());
  ASSERT_TRUE(blocked) << "postboxd never settled in epoll_wait";
  const long before = context_switches(b.pid());
  // A measurement window, not a synchronisation: nothing is due in it, so
  // a broker without polling loops or periodic timers is never scheduled.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(context_switches(b.pid()), before);
}

// Delays and TTLs (and leases) run on one timer for the earliest deadline: a
// broker holding many of them, none due soon, sleeps like an idle one.
TEST(Daemon, ManyDelayedMessagesCostNoWakeUps) {
  TestBroker b;
  RawConn c(b.socket());
  park_receive_forever(c);  // queue "q", and a receive that waits on it
  constexpr uint32_t kBatches = 10;
  constexpr uint32_t kPerBatch = 10000;
  proto::Properties later;
  later.delay_ms = 3'600'000;
  later.ttl_ms = 7'200'000;
  const auto props = proto::encode_properties(later);
  const std::string payload(16, 'd');
  for (uint32_t i = 0; i < kBatches; ++i) {
    std::vector<std::byte> out;
    auto body = proto::begin_send({"q", 0, kPerBatch}, out, 10 + i);
    for (uint32_t k = 0; k < kPerBatch; ++k) {
      proto::OutgoingMessage m;
      m.properties = props;
      m.payload = std::as_bytes(std::span(payload.data(), payload.size()));
      proto::append_outgoing(m, out);
    }
    proto::finish_frame(out, body);
    c.send(out);
    auto f = c.expect();
    ASSERT_TRUE(f);
    ASSERT_EQ(f->header.kind, proto::reply_kind(Kind::send));
  }
  bool blocked = false;
  for (int i = 0; i < 100000 && !blocked; ++i) blocked = blocked_in_epoll(b.pid());
  ASSERT_TRUE(blocked) << "postboxd never settled in epoll_wait";
  const long before = context_switches(b.pid());
  // A measurement window, not a synchronisation: the earliest deadline is an hour away.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(context_switches(b.pid()), before);
  std::vector<std::byte> out;
  proto::encode_json(Kind::stat, R"({"queue":"q"})", out, 99);
  c.send(out);
  auto f = c.expect();
  ASSERT_TRUE(f);
  const std::string stat(reinterpret_cast<const char*>(f->body.data()), f->body.size());
  EXPECT_NE(stat.find("\"delayed\":100000"), std::string::npos) << stat;
}

TEST(Daemon, AdoptsTheSocketOfSystemdSocketActivation) {
  char tmpl[] = "/tmp/postbox-act-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/activated.sock";
  int err[2];
  ASSERT_EQ(::pipe(err), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(err[1], 2);
    ::close(err[0]);
    const std::string broker = binary_from_env("POSTBOXD");
    ::execl("/usr/bin/systemd-socket-activate", "systemd-socket-activate", "-l", path.c_str(),
            broker.c_str(), "--socket", "/nonexistent/ignored.sock", nullptr);
    ::_exit(127);
  }
  ::close(err[1]);
  // systemd-socket-activate says when it listens; the broker starts on the first connection.
  std::string said;
  char buf[256];
  while (said.find("Listening on") == std::string::npos) {
    ssize_t n = ::read(err[0], buf, sizeof buf);
    ASSERT_GT(n, 0) << "systemd-socket-activate ended: " << said;
    said.append(buf, static_cast<std::size_t>(n));
  }
  {
    RawConn c(path);
    c.hello();
    std::vector<std::byte> out;
    proto::encode_json(Kind::list, "{}", out, 2);
    c.send(out);
    auto f = c.expect();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->header.kind, proto::reply_kind(Kind::list));
  }
  ::kill(pid, SIGTERM);
  int st = 0;
  ::waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_TRUE(exists(path));  // the service manager's file, not ours to remove
  ::close(err[0]);
  std::filesystem::remove_all(tmpl);
}

TEST(Daemon, SecondBrokerOnALiveSocketRefusesToStart) {
  TestBroker first;
  TestBroker::Options opts;
  opts.socket = first.socket();
  auto second = start_expecting_failure(opts);
  EXPECT_EQ(second.status, 4);
  EXPECT_NE(second.log.find("another broker is already listening"), std::string::npos)
      << second.log;
  RawConn still(first.socket());  // the first broker's socket is untouched
  still.hello();
}

TEST(Daemon, StaleSocketFileIsReplaced) {
  std::string socket_path;
  {
    TestBroker crashed;
    socket_path = crashed.socket();
    EXPECT_EQ(crashed.stop(SIGKILL), 128 + SIGKILL);
    ASSERT_TRUE(exists(socket_path));  // SIGKILL leaves the file behind
    TestBroker::Options opts;
    opts.socket = socket_path;
    TestBroker next(opts);
    RawConn c(next.socket());
    c.hello();
  }
}

TEST(Daemon, SigtermExitsCleanlyAndRemovesTheSocket) {
  TestBroker b;
  const std::string path = b.socket();
  EXPECT_EQ(b.stop(SIGTERM), 0);
  EXPECT_FALSE(exists(path));
}

TEST(Daemon, SigtermFailsBlockedRequestsWithShuttingDown) {
  TestBroker b;
  RawConn c(b.socket());
  park_receive_forever(c);
  ::kill(b.pid(), SIGTERM);
  auto f = c.expect();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->header.request_id, 2u);
  ASSERT_EQ(f->header.kind, Kind::error);
  EXPECT_EQ(proto::decode_error(f->body)->code, Errc::shutting_down);
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(b.stop(SIGTERM), 0);
}

TEST(Daemon, PathThatIsNotASocketIsLeftAlone) {
  char tmpl[] = "/tmp/postbox-notsock-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/file";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("data", f);
    std::fclose(f);
  }
  TestBroker::Options opts;
  opts.socket = path;
  auto r = start_expecting_failure(opts);
  EXPECT_EQ(r.status, 5);
  EXPECT_NE(r.log.find("is not a socket"), std::string::npos) << r.log;
  EXPECT_TRUE(exists(path));
  std::filesystem::remove_all(tmpl);
}

TEST(Daemon, InvalidConfigNamesTheKey) {
  TestBroker::Options opts;
  opts.config_json = R"({"queue_defaults": {"mode": "rw"}})";
  auto r = start_expecting_failure(opts);
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.log.find("queue_defaults.mode"), std::string::npos) << r.log;
}

TEST(Daemon, ConfiguredQueuesExistAtStart) {
  TestBroker::Options opts;
  opts.config_json = R"({"queues": [{"name": "jobs", "max_messages": 10}]})";
  TestBroker b(opts);
  RawConn c(b.socket());
  c.hello();
  std::vector<std::byte> out;
  proto::encode_json(Kind::stat, R"({"queue":"jobs"})", out, 2);
  c.send(out);
  auto f = c.expect();
  ASSERT_TRUE(f);
  ASSERT_EQ(f->header.kind, proto::reply_kind(Kind::stat));
  std::string body(reinterpret_cast<const char*>(f->body.data()), f->body.size());
  EXPECT_NE(body.find("\"max_messages\":10"), std::string::npos) << body;
}

}  // namespace
}  // namespace postbox::testing
