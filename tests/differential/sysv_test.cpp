// The same random script against a Linux SysV message queue and a real postboxd, results compared.
//
// With every priority equal, postbox's selection must be the kernel's msgrcv
// exactly: type 0, T > 0, T < 0, MSG_EXCEPT, E2BIG and MSG_NOERROR truncation,
// and (with max_bytes = max_messages = msg_qbytes) the kernel's full-queue rule.
#include <gtest/gtest.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "proto/messages.hpp"
#include "tests/support/raw_conn.hpp"
#include "tests/support/test_broker.hpp"

namespace postbox::testing {
namespace {

using proto::Errc;

// Small enough that the script fills the queue now and then.
constexpr unsigned kQueueBytes = 600;
constexpr std::size_t kMaxPayload = 40;

enum class Outcome { ok, no_message, too_big, full };

std::string to_string(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::no_message:
      return "no message";
    case Outcome::too_big:
      return "too big";
    case Outcome::full:
      return "full";
  }
  return "?";
}

struct Received {
  Outcome outcome = Outcome::ok;
  long type = 0;
  std::string payload;
  bool operator==(const Received&) const = default;
};

class KernelQueue {
 public:
  KernelQueue() {
    id_ = ::msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id_ < 0) throw std::runtime_error(std::string("msgget: ") + std::strerror(errno));
    msqid_ds ds{};
    ::msgctl(id_, IPC_STAT, &ds);
    ds.msg_qbytes = kQueueBytes;
    if (::msgctl(id_, IPC_SET, &ds) != 0) throw std::runtime_error("msgctl IPC_SET failed");
  }
  ~KernelQueue() { ::msgctl(id_, IPC_RMID, nullptr); }

  Outcome send(long type, const std::string& payload) {
    buf_.mtype = type;
    std::memcpy(buf_.mtext, payload.data(), payload.size());
    if (::msgsnd(id_, &buf_, payload.size(), IPC_NOWAIT) == 0) return Outcome::ok;
    EXPECT_EQ(errno, EAGAIN) << std::strerror(errno);
    return Outcome::full;
  }

  Received receive(long msgtyp, bool except, std::size_t max_size, bool truncate) {
    int flags = IPC_NOWAIT | (except ? MSG_EXCEPT : 0) | (truncate ? MSG_NOERROR : 0);
    ssize_t n = ::msgrcv(id_, &buf_, max_size, msgtyp, flags);
    if (n < 0) {
      if (errno == ENOMSG) return {Outcome::no_message, 0, {}};
      EXPECT_EQ(errno, E2BIG) << std::strerror(errno);
      return {Outcome::too_big, 0, {}};
    }
    return {Outcome::ok, buf_.mtype, std::string(buf_.mtext, static_cast<std::size_t>(n))};
  }

 private:
  struct {
    long mtype;
    char mtext[kMaxPayload + 1];
  } buf_{};
  int id_ = -1;
};

class BrokerQueue {
 public:
  explicit BrokerQueue(const std::string& socket) : conn_(socket) {
    conn_.hello();
    std::string declare = R"({"queue":"diff","max_bytes":)" + std::to_string(kQueueBytes) +
                          R"(,"max_messages":)" + std::to_string(kQueueBytes) + "}";
    std::vector<std::byte> out;
    proto::encode_json(proto::Kind::declare, declare, out, next_++);
    conn_.send(out);
    auto f = conn_.expect();
    if (!f || f->header.kind != proto::reply_kind(proto::Kind::declare)) {
      throw std::runtime_error("declare failed");
    }
  }

  Outcome send(long type, const std::string& payload) {
    std::vector<std::byte> out;
    auto body = proto::begin_send({"diff", 0, 1}, out, next_++);
    proto::OutgoingMessage m;
    m.type = type;
    m.payload = std::as_bytes(std::span(payload.data(), payload.size()));
    proto::append_outgoing(m, out);
    proto::finish_frame(out, body);
    conn_.send(out);
    auto f = conn_.expect();
    if (!f) throw std::runtime_error("no reply to SEND");
    if (f->header.kind == proto::reply_kind(proto::Kind::send)) return Outcome::ok;
    auto e = proto::decode_error(f->body);
    EXPECT_EQ(e->code, Errc::queue_full) << e->message;
    return Outcome::full;
  }

  Received receive(long msgtyp, bool except, std::size_t max_size, bool truncate) {
    proto::ReceiveRequest r;
    r.queue = "diff";
    r.type = msgtyp;
    r.flags = static_cast<uint16_t>((except ? proto::kReceiveExcept : 0) |
                                    (truncate ? proto::kReceiveTruncate : 0));
    r.max_size = static_cast<uint32_t>(max_size);
    std::vector<std::byte> out;
    proto::encode(r, out, next_++);
    conn_.send(out);
    auto f = conn_.expect();
    if (!f) throw std::runtime_error("no reply to RECEIVE");
    if (f->header.kind == proto::Kind::error) {
      auto e = proto::decode_error(f->body);
      if (e->code == Errc::no_message) return {Outcome::no_message, 0, {}};
      EXPECT_EQ(e->code, Errc::too_big) << e->message;
      return {Outcome::too_big, 0, {}};
    }
    proto::ReceiveReplyReader rr;
    proto::DeliveredMessage m;
    if (!rr.open(f->body) || rr.count() != 1 || !rr.next(m)) throw std::runtime_error("bad reply");
    return {Outcome::ok, static_cast<long>(m.type),
            std::string(reinterpret_cast<const char*>(m.payload.data()), m.payload.size())};
  }

 private:
  RawConn conn_;
  uint32_t next_ = 1;
};

class SysvDifferential : public ::testing::TestWithParam<unsigned> {};

TEST_P(SysvDifferential, RandomScriptMatchesTheKernel) {
  const unsigned seed = GetParam();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  TestBroker broker;
  BrokerQueue ours(broker.socket());
  KernelQueue kernel;

  constexpr int kOps = 4000;
  int sends = 0, receives = 0, full = 0, empty = 0, big = 0;
  for (int op = 0; op < kOps; ++op) {
    // Bias toward sending early and receiving late so the queue both fills and drains.
    const bool send = (rng() % 100) < (op < kOps / 2 ? 60u : 45u);
    if (send) {
      const long type = 1 + static_cast<long>(rng() % 6);
      std::string payload(rng() % (kMaxPayload + 1), '\0');
      for (auto& c : payload) c = static_cast<char>(rng());
      const Outcome k = kernel.send(type, payload);
      const Outcome b = ours.send(type, payload);
      ASSERT_EQ(to_string(b), to_string(k)) << "op " << op << " send type " << type;
      ++sends;
      full += k == Outcome::full;
    } else {
      const long msgtyp = static_cast<long>(rng() % 15) - 7;
      const bool except = rng() % 3 == 0;
      const bool small = rng() % 5 == 0;
      const std::size_t max_size = small ? rng() % (kMaxPayload + 1) : kMaxPayload;
      const bool truncate = small && rng() % 2 == 0;
      const Received k = kernel.receive(msgtyp, except, max_size, truncate);
      const Received b = ours.receive(msgtyp, except, max_size, truncate);
      ASSERT_EQ(to_string(b.outcome), to_string(k.outcome))
          << "op " << op << " msgtyp " << msgtyp << " except " << except << " max " << max_size;
      ASSERT_EQ(b.type, k.type) << "op " << op << " msgtyp " << msgtyp << " except " << except;
      ASSERT_EQ(b.payload, k.payload) << "op " << op;
      ++receives;
      empty += k.outcome == Outcome::no_message;
      big += k.outcome == Outcome::too_big;
    }
  }
  std::printf("%d sends (%d full), %d receives (%d empty, %d too big)\n", sends, full, receives,
              empty, big);
  // The script must have exercised every outcome, or it proves little.
  EXPECT_GT(full, 0);
  EXPECT_GT(empty, 0);
  EXPECT_GT(big, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SysvDifferential, ::testing::Values(1u, 2u, 3u, 20261202u));

}  // namespace
}  // namespace postbox::testing
