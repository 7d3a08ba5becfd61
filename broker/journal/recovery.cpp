// Recovery: applying records in order to rebuild the durable queues.
#include "broker/journal/recovery.hpp"

#include <unistd.h>

#include <cstdio>

#include <cstring>
#include <system_error>

#include "broker/journal/record.hpp"
#include "broker/journal/segment.hpp"

namespace postbox::broker::journal {
namespace {

MessagePtr message_of(const AddRecord& a) {
  auto m = std::make_unique<Message>();
  m->id = a.id;
  m->type = a.type;
  m->priority = a.priority;
  m->sender_pid = a.sender_pid;
  m->sender_uid = a.sender_uid;
  m->enqueue_time_ns = a.enqueue_time_ns;
  m->delivery_count = a.delivery_count;
  m->due_ns = a.due_wall_ns;
  m->expires_ns = a.expires_wall_ns;
  m->key_offset = a.key_offset;
  m->key_size = a.key_size;
  m->props_size = a.props_size;
  m->data.assign(a.data);
  return m;
}

class Applier {
 public:
  explicit Applier(Replay& r) : r_(r) {}
  uint64_t segment = 0;

  void operator()(const Record& rec) {
    std::visit([this](const auto& x) { apply(x); }, rec);
    ++r_.records;
  }

 private:
  void apply(const BeginRecord& b) { raise(b.next_id); }
  void apply(const QueueRecord& q) {
    std::string why;
    auto img = parse_queue_json(q.json, why);
    if (!img) {
      r_.warnings.push_back("segment " + std::to_string(segment) + ": queue record " +
                            std::to_string(q.queue) + " skipped: " + why);
      return;
    }
    r_.queues[q.queue] = std::move(*img);
  }
  void apply(const DropRecord& d) {
    r_.queues.erase(d.queue);
    std::erase_if(r_.messages, [&](const auto& kv) { return kv.second.queue == d.queue; });
  }
  void apply(const AddRecord& a) {
    raise(a.id + 1);
    // A copy forward (compaction) or a restore repeats the id: the latest wins.
    r_.messages[a.id] = RecoveredMessage{a.queue, message_of(a), false, segment};
  }
  void apply(const RemoveRecord& x) { r_.messages.erase(x.id); }
  void apply(const LeaseRecord& l) {
    if (auto it = r_.messages.find(l.id); it != r_.messages.end()) {
      it->second.leased = true;
      it->second.message->delivery_count = l.delivery_count;
    }
  }
  void apply(const UpdateRecord& u) {
    if (auto it = r_.messages.find(u.id); it != r_.messages.end()) {
      Message& m = *it->second.message;
      m.priority = u.priority;
      m.due_ns = u.due_wall_ns;
      m.delivery_count = u.delivery_count;
      it->second.leased = u.leased;
    }
  }
  void apply(const PurgeRecord& p) {
    std::erase_if(r_.messages,
                  [&](const auto& kv) { return kv.second.queue == p.queue && !kv.second.leased; });
  }
  void raise(uint64_t id) {
    if (id > r_.next_id) r_.next_id = id;
  }

  Replay& r_;
};

std::string_view magic() {
  return {kSegmentMagic.data(), kSegmentMagic.size()};
}

/// Takes a segment out of the journal: deleted when empty, else renamed to
/// "<name>.dropped" so that an operator can still look at what it held.
void set_aside(const std::string& path, bool empty) {
  if (empty) {
    if (::unlink(path.c_str()) != 0)
      throw std::system_error(errno, std::generic_category(), "cannot delete " + path);
    return;
  }
  // Never over an earlier one: the segment's number may have been reused
  // since that damage was set aside.
  std::string aside = path + ".dropped";
  for (int n = 1; ::access(aside.c_str(), F_OK) == 0; ++n)
    aside = path + ".dropped." + std::to_string(n);
  if (::rename(path.c_str(), aside.c_str()) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot rename " + path);
}

}  // namespace

Replay replay(const std::string& dir) {
  Replay r;
  const std::vector<uint64_t> numbers = list_segments(dir);
  Applier apply(r);
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    const std::string path = segment_path(dir, numbers[i]);
    const std::string bytes = read_file(path);
    apply.segment = numbers[i];
    ScanResult scanned;
    std::size_t keep = 0;
    const bool blank = all_zero(bytes);  // created (and perhaps reserved), never written
    if (blank || bytes.size() < magic().size() ||
        std::string_view(bytes).substr(0, magic().size()) != magic()) {
      // A segment created but never written (the crash came before its
      // first write) is empty, zeros or a cut-short magic; anything else is not ours.
      const bool torn = blank || magic().starts_with(bytes);
      scanned.end = torn ? ScanEnd::torn : ScanEnd::corrupt;
      scanned.why =
          torn ? "a segment header cut short" : "no segment header (not a postbox journal file)";
    } else {
      scanned = scan(std::string_view(bytes).substr(magic().size()), std::ref(apply));
      keep = magic().size() + scanned.good_bytes;
    }
    if (scanned.end == ScanEnd::clean) {
      // The zeros the journal reserved and never wrote go, as a shutdown
      // would have trimmed them.
      if (scanned.zero_tail > 0) truncate_file(path, keep);
      r.segments.push_back({numbers[i], keep});
      continue;
    }
    r.damage = path + ": " + (scanned.end == ScanEnd::torn ? "torn" : "corrupt") +
               " record at byte " + std::to_string(keep) + ": " + scanned.why;
    r.dropped_bytes += bytes.size() - keep;
    if (keep == 0) {
      set_aside(path, blank);
    } else {
      truncate_file(path, keep);
      r.segments.push_back({numbers[i], keep});
    }
    for (std::size_t j = i + 1; j < numbers.size(); ++j) {
      const std::string later = segment_path(dir, numbers[j]);
      r.dropped_bytes += read_file(later).size();
      ++r.dropped_segments;
      set_aside(later, false);
    }
    break;
  }
  return r;
}

}  // namespace postbox::broker::journal
