// libpostbox (Client and AsyncClient) against a real postboxd: the data path, errors, blocking,
// pipelining and out-of-order replies, as an application sees them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "postbox/async_client.hpp"
#include "postbox/client.hpp"
#include "tests/support/client_checks.hpp"
#include "tests/support/test_broker.hpp"

// With the sanitizers on, g++ 12 inlines Asio's coroutine frame allocation and
// then wrongly reports its class-specific operator delete as mismatched (GCC
// PR 109224, a false positive with coroutines).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace postbox::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

/// Every wait a test starts ends by itself after this, so a lost wake-up is a
/// failure (no_message / queue_full) instead of a hung test.
constexpr std::chrono::milliseconds kBound = 10s;
/// How long an AsyncClient scenario's io_context may run before it counts as hung.
constexpr auto kRunBound = 30s;
/// uid and gid of "nobody" on Debian, a user that owns no queue.
constexpr uid_t kNobody = 65534;

uint64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

std::string all_byte_values() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

class LibClient : public ::testing::Test {
 protected:
  TestBroker broker_;
  Client sut_{broker_.socket()};
};

// --- The service use ---------------------------------------------------------

TEST_F(LibClient, DeclareSendReceiveStatListPurgeRemoveWorkEndToEnd) {
  const DeclareResult declared = sut_.declare("jobs");
  EXPECT_TRUE(declared.created);
  EXPECT_EQ(declared.queue.name, "jobs");

  const uint64_t id = sut_.send("jobs", "hello", {.type = 3});
  const Message m = must(sut_.receive("jobs", {.type = 3, .timeout = kBound}));
  EXPECT_EQ(m.payload, "hello");
  EXPECT_EQ(m.id, id);
  EXPECT_EQ(m.type, 3);

  sut_.send("jobs", "one");
  sut_.send("jobs", "three");
  const QueueStat st = sut_.stat("jobs");
  EXPECT_EQ(st.name, "jobs");
  EXPECT_EQ(st.depth, 2u);
  EXPECT_EQ(st.bytes, 8u);
  EXPECT_EQ(st.sent_total, 3u);
  EXPECT_EQ(st.received_total, 1u);
  EXPECT_EQ(st.last_send_pid, static_cast<uint32_t>(::getpid()));

  const auto queues = sut_.list();
  ASSERT_EQ(queues.size(), 1u);
  EXPECT_EQ(queues[0].name, "jobs");
  EXPECT_EQ(queues[0].depth, 2u);
  EXPECT_EQ(queues[0].bytes, 8u);

  EXPECT_EQ(sut_.purge("jobs"), 2u);
  EXPECT_EQ(sut_.stat("jobs").depth, 0u);
  sut_.remove("jobs");
  EXPECT_TRUE(sut_.list().empty());
}

TEST_F(LibClient, DeclareOfAnExistingQueueOpensItUnlessExclusive) {
  sut_.declare("jobs", {.max_messages = 7});
  const DeclareResult again = sut_.declare("jobs");
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.queue.max_messages, 7u);

  const Error e = error_of([&] { sut_.declare("jobs", {.exclusive = true}); });
  EXPECT_EQ(e.errc(), Errc::queue_exists);
  EXPECT_NE(std::string(e.what()).find("jobs"), std::string::npos) << e.what();
}

// --- Payloads and properties ---------------------------------------------------

TEST_F(LibClient, BinaryPayloadsRoundTripByteForByte) {
  const std::size_t kOneMiB = 1024 * 1024;
  ASSERT_GE(sut_.server_info().max_message_size, kOneMiB);
  std::string big(kOneMiB, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) % 251);
  const struct {
    const char* name;
    std::string payload;
  } kCases[] = {
      {"empty", ""},
      {"embedded NULs", std::string("a\0b\0\0c\0", 7)},
      {"every byte value", all_byte_values()},
      {"1 MiB", big},
  };
  sut_.declare("bin");
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    sut_.send("bin", c.payload);
    const Message m = must(sut_.receive("bin", {.timeout = kNoWait}));
    EXPECT_EQ(m.payload.size(), c.payload.size());
    EXPECT_TRUE(m.payload == c.payload);  // not EXPECT_EQ: it would print 1 MiB
    EXPECT_FALSE(m.truncated);
  }
}

TEST_F(LibClient, PropertiesRoundTripIncludingDuplicateHeaders) {
  const Headers kHeaders = {{"k", "v1"}, {"other", ""}, {"k", "v2"}, {std::string("b\0n", 3), "x"}};
  sut_.declare("props");
  sut_.send(
      "props", "body",
      {.correlation_id = std::string("c\0rr-1", 6), .reply_to = "replies", .headers = kHeaders});
  sut_.send("props", "bare");

  const Message with = must(sut_.receive("props", {.timeout = kNoWait}));
  ASSERT_TRUE(with.correlation_id);
  EXPECT_EQ(*with.correlation_id, std::string("c\0rr-1", 6));
  ASSERT_TRUE(with.reply_to);
  EXPECT_EQ(*with.reply_to, "replies");
  EXPECT_EQ(with.headers, kHeaders);

  const Message bare = must(sut_.receive("props", {.timeout = kNoWait}));
  EXPECT_FALSE(bare.correlation_id);
  EXPECT_FALSE(bare.reply_to);
  EXPECT_TRUE(bare.headers.empty());
}

TEST_F(LibClient, DeliveredMessagesCarryTheSenderAndEnqueueTime) {
  sut_.declare("meta");
  const uint64_t before = realtime_ns();
  sut_.send("meta", "x", {.type = 9, .priority = 4});
  const uint64_t after = realtime_ns();

  const Message m = must(sut_.receive("meta", {.timeout = kNoWait}));
  EXPECT_EQ(m.sender_pid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(m.sender_uid, static_cast<uint32_t>(::getuid()));
  EXPECT_GE(m.enqueue_time_ns, before);
  EXPECT_LE(m.enqueue_time_ns, after);
  EXPECT_EQ(m.type, 9);
  EXPECT_EQ(m.priority, 4);
  EXPECT_EQ(m.delivery_tag, 0u);
  EXPECT_EQ(m.delivery_count, 1u);
}

TEST_F(LibClient, IdsIncreaseAcrossQueuesAndBatchesAreConsecutive) {
  sut_.declare("a");
  sut_.declare("b");
  const uint64_t first = sut_.send("a", "1");
  const uint64_t second = sut_.send("b", "2");
  const std::vector<std::string> kBatch = {"3", "4", "5"};
  const uint64_t batch = sut_.send_batch("a", kBatch);
  EXPECT_GT(second, first);
  EXPECT_GT(batch, second);

  const auto got = sut_.receive_many("a", 10, {.timeout = kNoWait});
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].id, first);
  for (std::size_t i = 0; i < kBatch.size(); ++i) {
    EXPECT_EQ(got[i + 1].id, batch + i);
    EXPECT_EQ(got[i + 1].payload, kBatch[i]);
  }
}

// --- Priorities and selection -------------------------------------------------

TEST_F(LibClient, HigherPriorityIsDeliveredFirstThenArrivalOrder) {
  sut_.declare("prio");
  sut_.send("prio", "low-a", {.priority = 0});
  sut_.send("prio", "mid-a", {.priority = 5});
  sut_.send("prio", "top", {.priority = 255});
  sut_.send("prio", "mid-b", {.priority = 5});
  sut_.send("prio", "low-b", {.priority = 0});
  const auto st = sut_.stat("prio");
  EXPECT_EQ(st.depth_per_priority, (std::map<unsigned, uint64_t>{{0, 2}, {5, 2}, {255, 1}}));

  std::vector<std::string> order;
  while (auto m = sut_.receive("prio", {.timeout = kNoWait})) order.push_back(m->payload);
  EXPECT_EQ(order, (std::vector<std::string>{"top", "mid-a", "mid-b", "low-a", "low-b"}));
}

TEST_F(LibClient, SelectorsFollowMsgrcvInQueueOrder) {
  // Queue order (priority, then arrival): d(5,p9) c(2,p7) a(3) b(2) e(4).
  const OutgoingMessage kQueued[] = {
      {.payload = "a", .type = 3},
      {.payload = "b", .type = 2},
      {.payload = "c", .type = 2, .priority = 7},
      {.payload = "d", .type = 5, .priority = 9},
      {.payload = "e", .type = 4},
  };
  const struct {
    const char* name;
    int64_t type;
    bool except;
    std::optional<std::string> expected;
  } kCases[] = {
      {"0 takes the first of any type", 0, false, "d"},
      {"0 ignores except", 0, true, "d"},
      {"T takes the first of exactly T", 2, false, "c"},
      {"T of a single message", 3, false, "a"},
      {"T with no message of T", 6, false, std::nullopt},
      {"T except skips type T", 5, true, "c"},
      {"T except takes the first of another type", 2, true, "d"},
      {"-T takes the lowest type at or below |T|", -4, false, "c"},
      {"-T at the lowest type", -2, false, "c"},
      {"-T below every type", -1, false, std::nullopt},
      {"-T ignores except", -3, true, "c"},
      {"INT64_MIN reaches every type", std::numeric_limits<int64_t>::min(), false, "c"},
  };
  sut_.declare("sel");
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    sut_.purge("sel");
    sut_.send_batch("sel", kQueued);
    const auto m = sut_.receive("sel", {.type = c.type, .except = c.except, .timeout = kNoWait});
    EXPECT_EQ(m ? std::optional<std::string>(m->payload) : std::nullopt, c.expected);
    EXPECT_EQ(sut_.stat("sel").depth, m ? 4u : 5u);
  }
}

// --- Batches -------------------------------------------------------------------

TEST_F(LibClient, SendBatchLargerThanTheFreeRoomQueuesNothing) {
  sut_.declare("small", {.max_messages = 3});
  sut_.send("small", "old-1");
  sut_.send("small", "old-2");
  const std::vector<std::string> kBatch = {"new-1", "new-2"};

  const Error e =
      error_of([&] { sut_.send_batch("small", kBatch, SendOptions{.timeout = kNoWait}); });

  EXPECT_EQ(e.errc(), Errc::queue_full);
  EXPECT_NE(std::string(e.what()).find("small"), std::string::npos) << e.what();
  const auto left = sut_.receive_many("small", 10, {.timeout = kNoWait});
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].payload, "old-1");
  EXPECT_EQ(left[1].payload, "old-2");
}

TEST_F(LibClient, SendBatchThatCanNeverFitIsTooBigWithoutWaiting) {
  sut_.declare("few", {.max_messages = 3});
  sut_.declare("narrow", {.max_bytes = 10});
  const std::vector<std::string> kFour = {"1", "2", "3", "4"};
  const std::vector<std::string> kTwelveBytes = {"abcdef", "ghijkl"};

  // Timeout forever: waiting could never help, so the broker must not wait.
  const Error by_count = error_of([&] { sut_.send_batch("few", kFour); });
  const Error by_bytes = error_of([&] { sut_.send_batch("narrow", kTwelveBytes); });

  EXPECT_EQ(by_count.errc(), Errc::too_big) << by_count.what();
  EXPECT_EQ(by_bytes.errc(), Errc::too_big) << by_bytes.what();
  EXPECT_EQ(sut_.stat("few").depth, 0u);
  EXPECT_EQ(sut_.stat("narrow").depth, 0u);
}

TEST_F(LibClient, ReceiveManyReturnsUpToNAvailableMessages) {
  sut_.declare("many");
  for (int i = 0; i < 5; ++i) sut_.send("many", "m" + std::to_string(i));

  const auto first = sut_.receive_many("many", 3, {.timeout = kNoWait});
  const auto rest = sut_.receive_many("many", 10, {.timeout = kNoWait});
  const auto none = sut_.receive_many("many", 10, {.timeout = kNoWait});

  ASSERT_EQ(first.size(), 3u);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(first[0].payload, "m0");
  EXPECT_EQ(first[2].payload, "m2");
  EXPECT_EQ(rest[0].payload, "m3");
  EXPECT_EQ(rest[1].payload, "m4");
}

TEST_F(LibClient, EmptyBatchIsInvalidAndLeavesTheConnectionUsable) {
  sut_.declare("q");
  const std::vector<std::string> kNone;
  EXPECT_EQ(error_of([&] { sut_.send_batch("q", kNone); }).errc(), Errc::invalid_argument);
  EXPECT_EQ(sut_.stat("q").depth, 0u);
}

// --- Errors --------------------------------------------------------------------

TEST_F(LibClient, RequestsOnAMissingQueueFailWithNoSuchQueueNamingIt) {
  const struct {
    const char* name;
    std::function<void(Client&)> request;
  } kCases[] = {
      {"stat", [](Client& c) { c.stat("missing"); }},
      {"send", [](Client& c) { c.send("missing", "x"); }},
      {"receive", [](Client& c) { c.receive("missing", {.timeout = kNoWait}); }},
      {"purge", [](Client& c) { c.purge("missing"); }},
      {"remove", [](Client& c) { c.remove("missing"); }},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    const Error e = error_of([&] { c.request(sut_); });
    EXPECT_EQ(e.errc(), Errc::no_such_queue);
    EXPECT_EQ(e.code(), make_error_code(Errc::no_such_queue));
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(sut_.is_connected());
}

TEST_F(LibClient, PayloadOverTheQueueLimitIsTooBig) {
  sut_.declare("tiny", {.max_message_size = 16});

  const Error e = error_of([&] { sut_.send("tiny", std::string(17, 'x')); });

  EXPECT_EQ(e.errc(), Errc::too_big);
  EXPECT_NE(std::string(e.what()), "") << e.what();
  EXPECT_GT(sut_.send("tiny", std::string(16, 'x')), 0u);
}

TEST_F(LibClient, PayloadOverTheBrokerLimitIsRefusedBeforeSendingAndTheClientStaysUsable) {
  sut_.declare("q");
  const std::string huge(sut_.server_info().max_message_size + 1u, 'x');

  const Error e = error_of([&] { sut_.send("q", huge); });

  EXPECT_EQ(e.errc(), Errc::too_big);
  EXPECT_EQ(sut_.pending(), 0u);
  sut_.send("q", "after");
  EXPECT_EQ(must(sut_.receive("q", {.timeout = kNoWait})).payload, "after");
}

TEST_F(LibClient, SendToAFullQueueWithoutWaitingIsQueueFull) {
  sut_.declare("one", {.max_messages = 1});
  sut_.send("one", "first");

  const Error e = error_of([&] { sut_.send("one", "second", {.timeout = kNoWait}); });

  EXPECT_EQ(e.errc(), Errc::queue_full);
  EXPECT_NE(std::string(e.what()).find("one"), std::string::npos) << e.what();
  EXPECT_EQ(sut_.stat("one").depth, 1u);
}

TEST_F(LibClient, ReceiveOverMaxSizeIsTooBigAndKeepsTheMessageUnlessTruncating) {
  sut_.declare("q");
  sut_.send("q", "0123456789");

  const Error e = error_of([&] { sut_.receive("q", {.timeout = kNoWait, .max_size = 4}); });
  EXPECT_EQ(e.errc(), Errc::too_big);
  EXPECT_EQ(sut_.stat("q").depth, 1u);

  const Message cut =
      must(sut_.receive("q", {.timeout = kNoWait, .max_size = 4, .truncate = true}));
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.payload, "0123");
  EXPECT_EQ(sut_.stat("q").depth, 0u);
}

TEST_F(LibClient, NothingToReceiveIsAnEmptyResultNotAnError) {
  sut_.declare("empty");
  EXPECT_FALSE(sut_.receive("empty", {.timeout = kNoWait}));
  EXPECT_TRUE(sut_.receive_many("empty", 5, {.timeout = kNoWait}).empty());
  const Reply r = sut_.wait(sut_.start_receive("empty", {.timeout = kNoWait}));
  EXPECT_EQ(r.error, make_error_code(Errc::no_message));
  EXPECT_TRUE(r.messages.empty());
}

TEST(LibClientConnect, MissingSocketThrowsUnreachableNamingThePath) {
  const std::string kPath = "/tmp/postbox-no-such-dir/postbox.sock";
  Client sut;

  const Error e = error_of([&] { sut.connect(kPath); });

  EXPECT_EQ(e.errc(), Errc::unreachable);
  EXPECT_NE(std::string(e.what()).find(kPath), std::string::npos) << e.what();
  EXPECT_FALSE(sut.is_connected());
  EXPECT_EQ(error_of([&] { sut.list(); }).errc(), Errc::disconnected);
}

TEST(LibClientConnect, ConnectAnnouncesTheBrokersLimits) {
  TestBroker broker;
  Client sut;

  sut.connect(broker.socket(), "client-test");

  EXPECT_TRUE(sut.is_connected());
  EXPECT_EQ(sut.server_info().version, 2u);  // both speak version 2
  EXPECT_GT(sut.server_info().max_frame_body, sut.server_info().max_message_size);
  EXPECT_FALSE(sut.server_info().broker_version.empty());
}

/// Exit statuses of the child in AnotherUidIsRefused, one per way to fail.
enum NobodyStatus : int {
  kRefusedAsExpected = 0,
  kCannotDropPrivileges = 10,
  kReceiveNotDenied = 11,
  kSendNotDenied = 12,
  kStatNotDenied = 13,
  kListShowsTheQueue = 14,
  kUnexpectedError = 15,
};

/// In a forked child: as nobody, every access to root's 0600 queue is refused.
int probe_as_nobody(const std::string& socket, const std::string& queue) noexcept {
  ::alarm(20);  // a hung broker kills the child rather than the test
  if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) return kCannotDropPrivileges;
  auto denied = [](auto&& request) {
    try {
      request();
    } catch (const Error& e) {
      return e.errc() == Errc::permission_denied;
    }
    return false;
  };
  try {
    Client other(socket);
    if (!denied([&] { other.receive(queue, {.timeout = kNoWait}); })) return kReceiveNotDenied;
    if (!denied([&] { other.send(queue, "intruder"); })) return kSendNotDenied;
    if (!denied([&] { other.stat(queue); })) return kStatNotDenied;
    for (const auto& q : other.list())
      if (q.name == queue) return kListShowsTheQueue;
    return kRefusedAsExpected;
  } catch (...) {
    return kUnexpectedError;
  }
}

TEST_F(LibClient, AnotherUidIsRefusedWithPermissionDenied) {
  ASSERT_EQ(::getuid(), 0u) << "needs root to run a client as another uid";
  sut_.declare("private", {.mode = 0600});
  sut_.send("private", "secret");

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(probe_as_nobody(broker_.socket(), "private"));
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);

  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), kRefusedAsExpected);
  EXPECT_EQ(must(sut_.receive("private", {.timeout = kNoWait})).payload, "secret");
}

// --- Blocking ------------------------------------------------------------------

TEST_F(LibClient, ReceiveWithATimeoutReturnsNothingOnceItExpires) {
  sut_.declare("quiet");
  const auto kTimeout = 50ms;
  const auto start = std::chrono::steady_clock::now();

  const auto m = sut_.receive("quiet", {.timeout = kTimeout});

  EXPECT_FALSE(m);
  // The broker measures from when it read the request, so this bound is safe.
  EXPECT_GE(std::chrono::steady_clock::now() - start, kTimeout);
}

TEST_F(LibClient, BlockedReceiveIsSatisfiedBySendFromAnotherClient) {
  Client producer(broker_.socket());
  sut_.declare("wake");
  const auto ticket = sut_.start_receive("wake", {.timeout = kBound});
  // Answered after the receive was read, so the receive is parked by now.
  EXPECT_EQ(sut_.stat("wake").blocked_receivers, 1u);

  producer.send("wake", "up");
  const Reply r = sut_.wait(ticket);

  ASSERT_TRUE(r.ok()) << r.error_message;
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, "up");
}

TEST_F(LibClient, DeletingAQueueFailsItsWaitingReceiveWithQueueRemoved) {
  Client admin(broker_.socket());
  sut_.declare("doomed");
  const auto ticket = sut_.start_receive("doomed", {.timeout = kBound});
  EXPECT_EQ(sut_.stat("doomed").blocked_receivers, 1u);

  admin.remove("doomed");
  const Reply r = sut_.wait(ticket);

  EXPECT_EQ(r.error, make_error_code(Errc::queue_removed)) << r.error_message;
  try {
    r.throw_if_error();
    ADD_FAILURE() << "throw_if_error() did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.errc(), Errc::queue_removed);
  }
}

TEST_F(LibClient, BlockedSendersAreAdmittedInArrivalOrderAsRoomFrees) {
  constexpr int kSenders = 3;
  sut_.declare("gate", {.max_messages = 1});
  sut_.send("gate", "first");
  std::vector<Client> senders;
  std::vector<Client::Ticket> tickets;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back(broker_.socket());
    tickets.push_back(senders[i].start_send("gate", "s" + std::to_string(i), {.timeout = kBound}));
    // Same connection, so the send is read and waiting before this answers.
    EXPECT_EQ(senders[i].stat("gate").blocked_senders, static_cast<uint64_t>(i + 1));
  }

  EXPECT_EQ(must(sut_.receive("gate", {.timeout = kBound})).payload, "first");
  uint64_t last_id = 0;
  for (int i = 0; i < kSenders; ++i) {
    SCOPED_TRACE("sender " + std::to_string(i));
    const Reply sent = senders[i].wait(tickets[i]);
    ASSERT_TRUE(sent.ok()) << sent.error_message;
    EXPECT_GT(sent.first_id, last_id);
    last_id = sent.first_id;
    const Message m = must(sut_.receive("gate", {.timeout = kBound}));
    EXPECT_EQ(m.payload, "s" + std::to_string(i));
    EXPECT_EQ(m.id, sent.first_id);
  }
  EXPECT_EQ(sut_.stat("gate").blocked_senders, 0u);
}

// --- Pipelining ----------------------------------------------------------------

TEST_F(LibClient, TenThousandPipelinedSendsAreAllAnsweredInOrder) {
  constexpr int kSends = 10'000;
  sut_.declare("pipe");
  std::vector<Client::Ticket> tickets;
  tickets.reserve(kSends);
  for (int i = 0; i < kSends; ++i) tickets.push_back(sut_.start_send("pipe", std::to_string(i)));
  EXPECT_EQ(sut_.pending(), static_cast<std::size_t>(kSends));

  sut_.flush();
  uint64_t last_id = 0;
  int failures = 0;
  for (const auto& t : tickets) {
    const Reply r = sut_.wait(t);
    if (!r.ok() || r.count != 1 || r.first_id <= last_id) ++failures;
    last_id = r.first_id;
  }

  EXPECT_EQ(failures, 0);
  EXPECT_EQ(sut_.pending(), 0u);
  EXPECT_EQ(sut_.stat("pipe").depth, static_cast<uint64_t>(kSends));
  int next = 0;
  while (next < kSends) {
    const auto batch = sut_.receive_many("pipe", kSends, {.timeout = kNoWait});
    ASSERT_FALSE(batch.empty()) << "stopped at " << next;
    for (const auto& m : batch) {
      if (m.payload != std::to_string(next)) ADD_FAILURE() << "got " << m.payload << " at " << next;
      ++next;
    }
  }
}

TEST_F(LibClient, ImmediateRequestsAreAnsweredBeforeAnEarlierBlockedReceive) {
  Client producer(broker_.socket());
  sut_.declare("slow");
  sut_.declare("fast");
  const auto blocked = sut_.start_receive("slow", {.timeout = kBound});
  const auto sent = sut_.start_send("fast", "now");
  const auto missing = sut_.start_send("missing", "x");
  const auto taken = sut_.start_receive("fast", {.timeout = kBound});
  sut_.flush();

  const Reply sent_reply = sut_.wait(sent);
  const Reply missing_reply = sut_.wait(missing);
  const Reply taken_reply = sut_.wait(taken);
  const auto queues = sut_.list();  // a synchronous call while `blocked` waits
  EXPECT_EQ(sut_.pending(), 1u);
  producer.send("slow", "late");
  const Reply blocked_reply = sut_.wait(blocked);

  EXPECT_TRUE(sent_reply.ok()) << sent_reply.error_message;
  EXPECT_EQ(missing_reply.error, make_error_code(Errc::no_such_queue));
  EXPECT_NE(missing_reply.error_message.find("missing"), std::string::npos);
  ASSERT_EQ(taken_reply.messages.size(), 1u);
  EXPECT_EQ(taken_reply.messages[0].payload, "now");
  EXPECT_EQ(queues.size(), 2u);
  ASSERT_TRUE(blocked_reply.ok()) << blocked_reply.error_message;
  ASSERT_EQ(blocked_reply.messages.size(), 1u);
  EXPECT_EQ(blocked_reply.messages[0].payload, "late");
}

TEST_F(LibClient, WaitOnATicketNotPendingIsInvalidArgument) {
  sut_.declare("q");
  const auto t = sut_.start_send("q", "x");
  ASSERT_TRUE(sut_.wait(t).ok());

  EXPECT_EQ(error_of([&] { sut_.wait(t); }).errc(), Errc::invalid_argument);
}

// --- AsyncClient -----------------------------------------------------------------

// g++ 12 destroys a braced aggregate argument twice when the call's result is
// co_awaited in the same expression (co_await c.send("q", "x", {.type = 2})
// frees the SendOptions' strings twice), so the coroutines below name their
// options first. Building the awaitable and awaiting it later is not affected.

template <class T>
using Awaitable = AsyncClient::Awaitable<T>;

/// What `a` threw when awaited, or nullopt if it completed.
template <class T>
Awaitable<std::optional<Error>> error_of_awaited(Awaitable<T> a) {
  try {
    co_await std::move(a);
  } catch (const Error& e) {
    co_return e;
  }
  co_return std::nullopt;
}

/// The error of an awaited request that must have failed (throws otherwise).
Error must_fail(std::optional<Error> e) {
  if (!e) throw std::runtime_error("expected a postbox::Error, the request succeeded");
  return std::move(*e);
}

class LibAsyncClient : public ::testing::Test {
 protected:
  /// Runs `scenario(io)` as a coroutine on a fresh io_context, bounded by
  /// kRunBound; rethrows what it threw, so a failed co_await fails the test.
  template <class Scenario>
  void run(Scenario scenario) {
    asio::io_context io;
    bool done = false;
    std::exception_ptr thrown;
    asio::co_spawn(io, scenario(io), [&](std::exception_ptr e) {
      done = true;
      thrown = e;
    });
    io.run_for(kRunBound);
    ASSERT_TRUE(done) << "the scenario did not finish within the bound";
    if (thrown) std::rethrow_exception(thrown);
  }

  TestBroker broker_;
};

TEST_F(LibAsyncClient, ConnectDeclareSendReceiveRoundTrip) {
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());
    co_await sut.connect(broker_.socket());
    EXPECT_TRUE(sut.is_connected());
    const DeclareResult d = co_await sut.declare("jobs");
    EXPECT_TRUE(d.created);

    const SendOptions typed{.type = 2, .correlation_id = "c-1"};
    const ReceiveOptions now{.timeout = kNoWait};
    const uint64_t id = co_await sut.send("jobs", std::string("a\0b", 3), typed);
    const Message m = must(co_await sut.receive("jobs", now));

    EXPECT_EQ(m.id, id);
    EXPECT_EQ(m.payload, std::string("a\0b", 3));
    EXPECT_EQ(m.type, 2);
    EXPECT_EQ(m.correlation_id, std::optional<std::string>("c-1"));
    EXPECT_FALSE(co_await sut.receive("jobs", now));
    EXPECT_EQ((co_await sut.stat("jobs")).received_total, 1u);
  });
}

TEST_F(LibAsyncClient, ReceivesInFlightEachGetTheirOwnMessageWhenRepliesComeInReverse) {
  constexpr int64_t kReceivers = 8;
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());
    co_await sut.connect(broker_.socket());
    co_await sut.declare("sel");
    std::vector<Awaitable<std::optional<Message>>> receives;
    for (int64_t type = 1; type <= kReceivers; ++type)
      receives.push_back(sut.receive("sel", {.type = type, .timeout = kBound}));
    // Requests leave in order, so every receive is parked when STAT answers.
    EXPECT_EQ((co_await sut.stat("sel")).blocked_receivers, static_cast<uint64_t>(kReceivers));

    for (int64_t type = kReceivers; type >= 1; --type) {
      const SendOptions typed{.type = type};
      co_await sut.send("sel", "for " + std::to_string(type), typed);
    }

    for (int64_t type = 1; type <= kReceivers; ++type) {
      const Message m = must(co_await std::move(receives[type - 1]));
      EXPECT_EQ(m.type, type);
      EXPECT_EQ(m.payload, "for " + std::to_string(type));
    }
  });
}

TEST_F(LibAsyncClient, ManySendsInFlightCompleteWithIncreasingIds) {
  constexpr int kSends = 2000;
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());
    co_await sut.connect(broker_.socket());
    co_await sut.declare("pipe");
    std::vector<Awaitable<uint64_t>> sends;
    for (int i = 0; i < kSends; ++i) sends.push_back(sut.send("pipe", std::to_string(i)));

    uint64_t last_id = 0;
    int out_of_order = 0;
    for (auto& s : sends) {
      const uint64_t id = co_await std::move(s);
      if (id <= last_id) ++out_of_order;
      last_id = id;
    }

    EXPECT_EQ(out_of_order, 0);
    EXPECT_EQ((co_await sut.stat("pipe")).depth, static_cast<uint64_t>(kSends));
  });
}

TEST_F(LibAsyncClient, ErrorReplySurfacesAsErrorWithTheBrokersCode) {
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());
    co_await sut.connect(broker_.socket());

    const Error e = must_fail(co_await error_of_awaited(sut.stat("missing")));
    const QueueOptions one{.max_messages = 1};
    co_await sut.declare("full", one);
    co_await sut.send("full", "x");
    const SendOptions no_wait{.timeout = kNoWait};
    const Error full = must_fail(co_await error_of_awaited(sut.send("full", "y", no_wait)));

    EXPECT_EQ(e.errc(), Errc::no_such_queue);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
    EXPECT_EQ(full.errc(), Errc::queue_full);
    EXPECT_TRUE(sut.is_connected());
  });
}

TEST_F(LibAsyncClient, ConnectToAMissingSocketThrowsUnreachable) {
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());

    const Error e =
        must_fail(co_await error_of_awaited(sut.connect(broker_.dir() + "/nothing.sock")));

    EXPECT_EQ(e.errc(), Errc::unreachable);
    EXPECT_FALSE(sut.is_connected());
  });
}

TEST_F(LibAsyncClient, ClosingTheClientFailsAPendingReceiveWithDisconnected) {
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());
    co_await sut.connect(broker_.socket());
    co_await sut.declare("q");
    auto pending = sut.receive("q", {.timeout = kBound});
    EXPECT_EQ((co_await sut.stat("q")).blocked_receivers, 1u);

    sut.close();
    const Error e = must_fail(co_await error_of_awaited(std::move(pending)));

    EXPECT_EQ(e.errc(), Errc::disconnected);
    EXPECT_FALSE(sut.is_connected());
  });
}

TEST_F(LibAsyncClient, DestroyingTheClientFailsAPendingReceiveWithDisconnected) {
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    auto sut = std::make_unique<AsyncClient>(io.get_executor());
    co_await sut->connect(broker_.socket());
    co_await sut->declare("q");
    auto pending = sut->receive("q", {.timeout = kBound});
    EXPECT_EQ((co_await sut->stat("q")).blocked_receivers, 1u);

    sut.reset();
    const Error e = must_fail(co_await error_of_awaited(std::move(pending)));

    EXPECT_EQ(e.errc(), Errc::disconnected);
  });
}

TEST_F(LibAsyncClient, SuspendedReceiveInAnotherCoroutineFailsWithDisconnectedOnClose) {
  // Unlike above, the receive's handler is already parked when close() comes.
  struct Waiting {
    bool started = false;
    bool finished = false;
    std::optional<Error> failure;
  };
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());
    co_await sut.connect(broker_.socket());
    co_await sut.declare("q");
    auto waiting = std::make_shared<Waiting>();
    asio::co_spawn(
        io,
        [&sut, waiting]() -> asio::awaitable<void> {
          auto receive = sut.receive("q", {.timeout = kBound});
          waiting->started = true;
          waiting->failure = co_await error_of_awaited(std::move(receive));
          waiting->finished = true;
        },
        asio::detached);
    // Bounded yields to the executor, not a timing wait: each runs what is queued.
    for (int i = 0; i < 100 && !waiting->started; ++i)
      co_await asio::post(io.get_executor(), asio::use_awaitable);
    EXPECT_EQ((co_await sut.stat("q")).blocked_receivers, 1u);

    sut.close();
    for (int i = 0; i < 100 && !waiting->finished; ++i)
      co_await asio::post(io.get_executor(), asio::use_awaitable);

    EXPECT_TRUE(waiting->finished);
    const Error e = must_fail(waiting->failure);
    EXPECT_EQ(e.errc(), Errc::disconnected);
  });
}

TEST_F(LibAsyncClient, BrokerSigtermFailsAPendingReceiveWithShuttingDown) {
  run([&](asio::io_context& io) -> asio::awaitable<void> {
    AsyncClient sut(io.get_executor());
    co_await sut.connect(broker_.socket());
    co_await sut.declare("q");
    auto pending = sut.receive("q", {.timeout = kBound});
    EXPECT_EQ((co_await sut.stat("q")).blocked_receivers, 1u);

    // Blocks until postboxd has exited; its last reply waits in our socket.
    const int status = broker_.stop(SIGTERM);
    const Error e = must_fail(co_await error_of_awaited(std::move(pending)));

    EXPECT_EQ(status, 0);
    EXPECT_EQ(e.errc(), Errc::shutting_down) << e.what();
  });
}

}  // namespace
}  // namespace postbox::testing
