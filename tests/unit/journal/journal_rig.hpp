// JournalRig: a QueueStore with its Journal in a temporary directory, and what
// its durable queues hold, for comparing a broker before and after a restart.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "broker/clock.hpp"
#include "broker/exit_status.hpp"
#include "broker/journal/journal.hpp"
#include "broker/store.hpp"
#include "tests/unit/broker/job_test_support.hpp"

namespace postbox::broker::journal::test {

using broker::test::Job;
using broker::test::kAlice;
using broker::test::make_jobs;

/// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string templ =
        (std::filesystem::temp_directory_path() / "postbox-journal-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

struct JournalRig {
  explicit JournalRig(const std::string& data_dir, config::Fsync fsync = config::Fsync::never,
                      uint64_t segment_size = 1u << 20)
      : journal(io, JournalOptions{data_dir, fsync, 1000, segment_size}),
        store(config::QueueLimits{}, 1u << 20) {
    journal.recover(store);
  }
  ~JournalRig() { journal.close(); }

  /// Runs the loop until every record appended is durable (written, or
  /// synced under "always").
  void settle() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
      io.restart();
      io.poll();
      if (journal.durable_seq() >= journal.appended_seq()) return;
      io.restart();
      io.run_one_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    FAIL() << "the journal did not become durable within 10 s";
  }

  Queue& declare(const std::string& name, bool durable = true) {
    DeclareSpec spec;
    spec.name = name;
    spec.durable = durable;
    auto r = store.declare(spec, kAlice, 1);
    EXPECT_EQ(r.code, Errc::ok) << r.error;
    return *r.queue;
  }

  uint64_t send(Queue& q, std::initializer_list<Job> jobs) {
    Batch b = make_jobs(jobs, steady_ns());
    uint64_t first = 0;
    EXPECT_EQ(q.send(b, kAlice, first), Errc::ok);
    return first;
  }

  boost::asio::io_context io{1};
  Journal journal;
  QueueStore store;
};

/// What recovery must restore of a message.
struct Image {
  int64_t type;
  unsigned priority;
  std::string data;
  uint32_t delivery_count;
  bool delayed;
  bool leased;
  bool has_ttl;
  uint32_t sender_pid;
  uint64_t enqueue_time_ns;
  auto tie() const {
    return std::tie(type, priority, data, delivery_count, delayed, leased, has_ttl, sender_pid,
                    enqueue_time_ns);
  }
  bool operator==(const Image& o) const { return tie() == o.tie(); }
};

inline std::ostream& operator<<(std::ostream& os, const Image& i) {
  return os << "{type " << i.type << " prio " << i.priority << " data '" << i.data << "' count "
            << i.delivery_count << (i.delayed ? " delayed" : "") << (i.leased ? " leased" : "")
            << (i.has_ttl ? " ttl" : "") << "}";
}

/// Every message of `q` by id.
inline std::map<uint64_t, Image> image_of(Queue& q) {
  std::map<uint64_t, Image> out;
  q.for_each_message([&](Message& m) {
    out[m.id] = Image{m.type,
                      m.priority,
                      m.data,
                      m.delivery_count,
                      m.state == MessageState::delayed,
                      m.state == MessageState::leased,
                      m.expires_ns != 0,
                      m.sender_pid,
                      m.enqueue_time_ns};
  });
  return out;
}

}  // namespace postbox::broker::journal::test
