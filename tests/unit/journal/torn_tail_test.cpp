// The torn-tail test: a real journal cut at every byte offset within
// its last records, and with a byte flipped in each of them, recovers every
// message whose record lies before the damage and nothing after it.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "broker/journal/record.hpp"
#include "broker/journal/segment.hpp"
#include "journal_rig.hpp"

namespace postbox::broker::journal::test {
namespace {

namespace fs = std::filesystem;

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
  uint64_t added = 0;  // the id of the message an ADD record added; 0 for other records
};

/// The records of a segment file, by walking their length fields.
std::vector<Span> records_of(const std::string& file) {
  std::vector<Span> out;
  std::size_t pos = kSegmentMagic.size();
  while (pos + kRecordHeader <= file.size()) {
    uint32_t len = 0;
    std::memcpy(&len, file.data() + pos, 4);
    Span s{pos, pos + kRecordHeader + len, 0};
    if (auto rec = decode(std::string_view(file).substr(pos + kRecordHeader, len))) {
      if (auto* a = std::get_if<AddRecord>(&*rec)) s.added = a->id;
    }
    out.push_back(s);
    pos = s.end;
  }
  EXPECT_EQ(pos, file.size());
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<long>(bytes.size()));
}

/// Recovers a copy of `original` whose only segment holds `bytes`; returns
/// the ids recovered and checks what was kept on disk.
std::set<uint64_t> recover_from(const std::string& original, const std::string& segment_name,
                                const std::string& bytes, std::size_t expect_kept) {
  TempDir copy;
  fs::copy(original, copy.path(), fs::copy_options::recursive);
  const std::string path = copy.path() + "/journal/" + segment_name;
  write_file(path, bytes);
  std::set<uint64_t> ids;
  {
    JournalRig rig(copy.path());
    Queue* q = rig.store.find("jobs");
    if (q) {
      for (auto& [id, img] : image_of(*q)) ids.insert(id);
    }
  }
  // The damaged segment was cut back to its last good record.
  EXPECT_EQ(fs::file_size(path), expect_kept);
  return ids;
}

class TornTail : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::err);  // hundreds of recoveries, each warning about its cut
    {
      JournalRig rig(dir.path());
      Queue& q = rig.declare("jobs");
      for (int i = 0; i < 6; ++i) {
        const uint64_t id =
            rig.send(q, {{.type = i + 1, .payload = "message " + std::to_string(i)}});
        rig.settle();  // one write per message, as separate sends would be
        sent.push_back(id);
      }
    }  // closed: the room reserved past the last record is given back
    auto names = list_segments(dir.path() + "/journal");
    ASSERT_EQ(names.size(), 1u);
    segment_name = fs::path(segment_path("", names[0])).filename().string();
    file = read_file(dir.path() + "/journal/" + segment_name);
    records = records_of(file);
    ASSERT_GE(records.size(), 8u);  // begin, queue, 6 adds
    ASSERT_EQ(records.back().added, sent.back());
  }

  /// The ids whose ADD record ends at or before `offset`.
  std::set<uint64_t> before(std::size_t offset) const {
    std::set<uint64_t> ids;
    for (const Span& s : records)
      if (s.added != 0 && s.end <= offset) ids.insert(s.added);
    return ids;
  }
  /// Where the record holding `offset` begins.
  std::size_t record_start(std::size_t offset) const {
    for (const Span& s : records)
      if (offset < s.end) return s.begin;
    return file.size();
  }

  TempDir dir;
  std::vector<uint64_t> sent;
  std::string segment_name;
  std::string file;
  std::vector<Span> records;
};

TEST_F(TornTail, CutAtEveryByteOfTheLastThreeRecordsRecoversEverythingBefore) {
  const std::size_t from = records[records.size() - 3].begin;
  for (std::size_t cut = from; cut < file.size(); ++cut) {
    // A cut at a record boundary leaves nothing to cut off.
    const auto got = recover_from(dir.path(), segment_name, file.substr(0, cut), record_start(cut));
    ASSERT_EQ(got, before(cut)) << "cut at byte " << cut << " of " << file.size();
  }
  EXPECT_EQ(before(file.size()).size(), sent.size());
}

// A crash leaves the room the journal reserved (Segment::reserve) as zeros after the
// last write: at a record boundary that is a clean end, inside a record the damage it was.
TEST_F(TornTail, ACutFollowedByReservedZerosRecoversTheSameAndLosesTheZeros) {
  const std::size_t from = records[records.size() - 3].begin;
  for (std::size_t cut = from; cut <= file.size(); ++cut) {
    const std::string bytes = file.substr(0, cut) + std::string(4096, '\0');
    const auto got = recover_from(dir.path(), segment_name, bytes, record_start(cut));
    ASSERT_EQ(got, before(cut)) << "cut at byte " << cut << " of " << file.size();
  }
}

TEST_F(TornTail, ASegmentOfZerosAfterTheLastIsOneNeverWrittenAndIsDeleted) {
  TempDir copy;
  fs::copy(dir.path(), copy.path(), fs::copy_options::recursive);
  const uint64_t next = list_segments(copy.path() + "/journal").back() + 1;
  write_file(segment_path(copy.path() + "/journal", next), std::string(1 << 16, '\0'));
  std::set<uint64_t> ids;
  {
    JournalRig rig(copy.path());
    ASSERT_NE(rig.store.find("jobs"), nullptr);
    for (auto& [id, img] : image_of(*rig.store.find("jobs"))) ids.insert(id);
  }
  EXPECT_EQ(ids, std::set<uint64_t>(sent.begin(), sent.end()));
  for (const auto& entry : fs::directory_iterator(copy.path() + "/journal"))
    EXPECT_EQ(entry.path().string().find(".dropped"), std::string::npos) << entry.path();
}

TEST_F(TornTail, AFlippedByteInAnyOfTheLastThreeRecordsLosesOnlyThatRecordAndWhatFollows) {
  const std::size_t from = records[records.size() - 3].begin;
  for (std::size_t at = from; at < file.size(); ++at) {
    std::string damaged = file;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
    const std::size_t start = record_start(at);
    const auto got = recover_from(dir.path(), segment_name, damaged, start);
    ASSERT_EQ(got, before(start)) << "flipped byte " << at;
  }
}

}  // namespace
}  // namespace postbox::broker::journal::test
