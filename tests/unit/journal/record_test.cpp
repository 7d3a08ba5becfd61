// Journal records: every kind round-trips, and scanning stops at the first damage.
#include "broker/journal/record.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace postbox::broker::journal {
namespace {

std::vector<Record> scan_all(const std::string& bytes, ScanResult* result = nullptr) {
  std::vector<Record> out;
  ScanResult r = scan(bytes, [&](const Record& rec) { out.push_back(rec); });
  if (result) *result = r;
  return out;
}

AddRecord sample_add() {
  AddRecord a;
  a.queue = 3;
  a.id = 42;
  a.type = 7;
  a.priority = 9;
  a.sender_pid = 1234;
  a.sender_uid = 1000;
  a.enqueue_time_ns = 1'700'000'000'000'000'000;
  a.delivery_count = 2;
  a.due_wall_ns = 1'700'000'000'500'000'000;
  a.expires_wall_ns = 1'700'000'009'000'000'000;
  a.key_offset = 1;
  a.key_size = 2;
  a.props_size = 4;
  a.data = std::string_view("PROPpayload\0with a NUL", 22);
  return a;
}

TEST(JournalRecord, EveryKindRoundTrips) {
  std::string json = R"({"name":"jobs"})";
  const AddRecord add = sample_add();
  std::string buf;
  append(BeginRecord{5, 99}, buf);
  append(QueueRecord{3, json}, buf);
  append(add, buf);
  append(LeaseRecord{42, 3}, buf);
  append(UpdateRecord{42, 200, 123456789, 3, true}, buf);
  append(RemoveRecord{42}, buf);
  append(PurgeRecord{3}, buf);
  append(DropRecord{3}, buf);
  ScanResult r;
  auto recs = scan_all(buf, &r);
  ASSERT_EQ(r.end, ScanEnd::clean) << r.why;
  EXPECT_EQ(r.good_bytes, buf.size());
  ASSERT_EQ(recs.size(), 8u);
  EXPECT_EQ(std::get<BeginRecord>(recs[0]).segment, 5u);
  EXPECT_EQ(std::get<BeginRecord>(recs[0]).next_id, 99u);
  EXPECT_EQ(std::get<QueueRecord>(recs[1]).queue, 3u);
  EXPECT_EQ(std::get<QueueRecord>(recs[1]).json, json);
  const auto& a = std::get<AddRecord>(recs[2]);
  EXPECT_EQ(a.queue, add.queue);
  EXPECT_EQ(a.id, add.id);
  EXPECT_EQ(a.type, add.type);
  EXPECT_EQ(a.priority, add.priority);
  EXPECT_EQ(a.sender_pid, add.sender_pid);
  EXPECT_EQ(a.sender_uid, add.sender_uid);
  EXPECT_EQ(a.enqueue_time_ns, add.enqueue_time_ns);
  EXPECT_EQ(a.delivery_count, add.delivery_count);
  EXPECT_EQ(a.due_wall_ns, add.due_wall_ns);
  EXPECT_EQ(a.expires_wall_ns, add.expires_wall_ns);
  EXPECT_EQ(a.key_offset, add.key_offset);
  EXPECT_EQ(a.key_size, add.key_size);
  EXPECT_EQ(a.props_size, add.props_size);
  EXPECT_EQ(a.data, add.data);
  EXPECT_EQ(std::get<LeaseRecord>(recs[3]).delivery_count, 3u);
  const auto& u = std::get<UpdateRecord>(recs[4]);
  EXPECT_EQ(u.priority, 200);
  EXPECT_EQ(u.due_wall_ns, 123456789u);
  EXPECT_TRUE(u.leased);
  EXPECT_EQ(std::get<RemoveRecord>(recs[5]).id, 42u);
  EXPECT_EQ(std::get<PurgeRecord>(recs[6]).queue, 3u);
  EXPECT_EQ(std::get<DropRecord>(recs[7]).queue, 3u);
}

TEST(JournalRecord, MalformedBodiesAreRefusedEvenWithAGoodCrc) {
  EXPECT_FALSE(decode(std::string_view("\x63", 1)));  // unknown kind
  std::string buf;
  append(RemoveRecord{1}, buf);
  std::string body = buf.substr(kRecordHeader);
  EXPECT_TRUE(decode(body));
  EXPECT_FALSE(decode(body + "x"));                       // trailing bytes
  EXPECT_FALSE(decode(body.substr(0, body.size() - 1)));  // short
  AddRecord bad = sample_add();
  bad.props_size = 100;  // past the data
  buf.clear();
  append(bad, buf);
  EXPECT_FALSE(decode(std::string_view(buf).substr(kRecordHeader)));
  bad = sample_add();
  bad.type = 0;  // no such message type
  buf.clear();
  append(bad, buf);
  EXPECT_FALSE(decode(std::string_view(buf).substr(kRecordHeader)));
}

TEST(JournalRecord, ScanStopsAtEveryCutAndEveryFlippedByteKeepingWhatCameBefore) {
  std::string buf;
  std::vector<std::size_t> ends;  // end offset of each record
  for (uint64_t i = 1; i <= 4; ++i) {
    AddRecord a = sample_add();
    a.id = i;
    append(a, buf);
    ends.push_back(buf.size());
  }
  auto records_before = [&](std::size_t offset) {
    std::size_t n = 0;
    while (n < ends.size() && ends[n] <= offset) ++n;
    return n;
  };
  for (std::size_t cut = 0; cut < buf.size(); ++cut) {
    ScanResult r;
    auto recs = scan_all(buf.substr(0, cut), &r);
    const std::size_t want = records_before(cut);
    ASSERT_EQ(recs.size(), want) << "cut at " << cut;
    EXPECT_EQ(r.good_bytes, want == 0 ? 0 : ends[want - 1]) << "cut at " << cut;
    EXPECT_EQ(r.end, cut == r.good_bytes ? ScanEnd::clean : ScanEnd::torn) << "cut at " << cut;
  }
  for (std::size_t at = 0; at < buf.size(); ++at) {
    std::string damaged = buf;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    ScanResult r;
    auto recs = scan_all(damaged, &r);
    const std::size_t hit = records_before(at);  // the record holding the flipped byte
    ASSERT_EQ(recs.size(), hit) << "flipped byte " << at;
    EXPECT_NE(r.end, ScanEnd::clean) << "flipped byte " << at;
    for (std::size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(std::get<AddRecord>(recs[i]).id, i + 1);
  }
}

TEST(JournalRecord, ZerosToTheEndAreReservedRoomNotDamage) {
  std::string bytes;
  append(RemoveRecord{7}, bytes);
  const std::size_t record = bytes.size();
  bytes.append(100, '\0');  // what Segment::reserve() leaves after the last write
  ScanResult r;
  EXPECT_EQ(scan_all(bytes, &r).size(), 1u);
  EXPECT_EQ(r.end, ScanEnd::clean);
  EXPECT_EQ(r.good_bytes, record);
  EXPECT_EQ(r.zero_tail, 100u);
  EXPECT_TRUE(scan_all(std::string(64, '\0'), &r).empty());
  EXPECT_EQ(r.end, ScanEnd::clean);
  EXPECT_EQ(r.zero_tail, 64u);
}

TEST(JournalRecord, AZeroOrHugeLengthIsDamageNotARecord) {
  // A zero length with something after it: a record lost before later ones.
  std::string zeros(64, '\0');
  zeros.back() = 1;
  ScanResult r;
  EXPECT_TRUE(scan_all(zeros, &r).empty());
  EXPECT_EQ(r.end, ScanEnd::corrupt);
  EXPECT_EQ(r.zero_tail, 0u);
  const std::string huge("\xff\xff\xff\xff\0\0\0\0", 8);
  EXPECT_TRUE(scan_all(huge, &r).empty());
  EXPECT_EQ(r.end, ScanEnd::corrupt);
}

}  // namespace
}  // namespace postbox::broker::journal
