// DiskSpace: the free-space check that makes durable sends stop before the disk is full.
#include "broker/journal/disk_space.hpp"

#include <sys/statvfs.h>

#include <gtest/gtest.h>

#include "tests/unit/journal/journal_rig.hpp"

namespace postbox::broker::journal::test {
namespace {

uint64_t free_in(const std::string& dir) {
  struct statvfs st {};
  EXPECT_EQ(::statvfs(dir.c_str(), &st), 0);
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

TEST(DiskSpace, IsLowOnlyBelowItsLimit) {
  TempDir dir;
  boost::asio::io_context io;
  const uint64_t free = free_in(dir.path());
  ASSERT_GT(free, 0u);

  DiskSpace off(io, dir.path(), 0);
  off.start();
  EXPECT_FALSE(off.low());
  EXPECT_GT(off.free_bytes(), 0u);

  DiskSpace roomy(io, dir.path(), 1);
  roomy.start();
  EXPECT_FALSE(roomy.low());

  const uint64_t limit = uint64_t{1} << 50;  // more than any disk here
  DiskSpace tight(io, dir.path(), limit);
  EXPECT_FALSE(tight.low()) << "nothing is known before the first check";
  tight.start();
  EXPECT_TRUE(tight.low());
  EXPECT_EQ(tight.why(), "only " + std::to_string(tight.free_bytes()) + " bytes free in " +
                             dir.path() + ", below disk_free_limit " + std::to_string(limit));
  tight.stop();
}

TEST(DiskSpace, ChecksAgainAfterEnoughIsWritten) {
  TempDir dir;
  boost::asio::io_context io;
  DiskSpace space(io, dir.path(), 0);
  space.wrote(DiskSpace::kCheckBytes);  // not started: no check
  EXPECT_EQ(space.free_bytes(), 0u);
  space.start();
  const uint64_t first = space.free_bytes();
  EXPECT_GT(first, 0u);
  space.wrote(DiskSpace::kCheckBytes - 1);
  space.wrote(1);  // the check ran again: it still reads the file system
  EXPECT_GT(space.free_bytes(), 0u);
  space.stop();
}

TEST(DiskSpace, ADirectoryItCannotReadIsNotLow) {
  boost::asio::io_context io;
  DiskSpace space(io, "/nonexistent/postbox-journal", uint64_t{1} << 50);
  space.start();
  // statvfs fails: the writes themselves will tell whether there is room.
  EXPECT_FALSE(space.low());
  EXPECT_EQ(space.free_bytes(), 0u);
  space.stop();
}

TEST(DiskSpace, TheJournalReportsItAndStartsItWithItsFiles) {
  TempDir dir;
  boost::asio::io_context io;
  Journal journal(
      io, JournalOptions{dir.path(), config::Fsync::never, 1000, 1u << 20, uint64_t{1} << 50});
  QueueStore store(config::QueueLimits{}, 1u << 20);
  journal.recover(store);
  EXPECT_FALSE(journal.status().low_space) << "no files yet, nothing checked";
  DeclareSpec spec;
  spec.name = "jobs";
  spec.durable = true;
  ASSERT_EQ(store.declare(spec, broker::test::kAlice, 1).code, Errc::ok);
  EXPECT_TRUE(journal.status().low_space);
  EXPECT_GT(journal.status().free_bytes, 0u);
  EXPECT_FALSE(journal.status().failing) << "low on space is not a write error";
  journal.close();
}

}  // namespace
}  // namespace postbox::broker::journal::test
