// Output formats of the CLI: message JSON (UTF-8 or base64 payloads), queue and binding
// tables, publish results, error lines.
#include "client/cli/output.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

namespace postbox::cli {

namespace {

using Json = nlohmann::ordered_json;  // keys in the order written, as documented

/// Property strings are opaque bytes; invalid UTF-8 in them is shown as
/// U+FFFD rather than failing the whole line (payloads get base64 instead).
std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

Json optional_string(const std::optional<std::string>& s) {
  return s ? Json(*s) : Json(nullptr);
}

Json headers_json(const Headers& headers) {
  Json out = Json::object();
  for (const auto& [key, value] : headers) {
    auto it = out.find(key);
    if (it == out.end()) {
      out[key] = value;
    } else {
      if (!it->is_array()) *it = Json::array({*it});
      it->push_back(value);
    }
  }
  return out;
}

Json consumers_json(const std::vector<ConsumerStat>& consumers) {
  Json out = Json::array();
  for (const auto& c : consumers)
    out.push_back(Json{{"consumer", c.consumer},
                       {"connection", c.connection},
                       {"pid", c.pid},
                       {"type", c.type},
                       {"except", c.except},
                       {"ack", c.ack},
                       {"prefetch", c.prefetch},
                       {"unacked", c.unacked}});
  return out;
}

Json stat_object(const QueueStat& s, bool jobs) {
  Json depths = Json::object();
  for (const auto& [prio, count] : s.depth_per_priority) depths[std::to_string(prio)] = count;
  Json j{{"name", s.name},
         {"depth", s.depth},
         {"bytes", s.bytes},
         {"max_messages", s.max_messages},
         {"max_bytes", s.max_bytes},
         {"max_message_size", s.max_message_size},
         {"mode", s.mode},
         {"overflow", std::string(to_string(s.overflow))},
         {"owner_uid", s.owner_uid},
         {"owner_gid", s.owner_gid},
         {"created_ns", s.created_ns},
         {"last_send_pid", s.last_send_pid},
         {"last_send_ns", s.last_send_ns},
         {"last_receive_pid", s.last_receive_pid},
         {"last_receive_ns", s.last_receive_ns},
         {"sent_total", s.sent_total},
         {"received_total", s.received_total},
         {"dropped_total", s.dropped_total},
         {"purged_total", s.purged_total},
         {"blocked_senders", s.blocked_senders},
         {"blocked_receivers", s.blocked_receivers},
         {"depth_per_priority", depths}};
  // A version 1 broker has none of these: zeros would claim what it cannot know.
  if (!jobs) return j;
  const std::pair<const char*, uint64_t> counters[] = {
      {"lease_ms", s.lease_ms},
      {"ttl_ms", s.ttl_ms},
      {"leased", s.leased},
      {"delayed", s.delayed},
      {"acked_total", s.acked_total},
      {"nacked_total", s.nacked_total},
      {"redelivered_total", s.redelivered_total},
      {"lease_expired_total", s.lease_expired_total},
      {"expired_total", s.expired_total},
      {"dead_lettered_total", s.dead_lettered_total},
      {"discarded_total", s.discarded_total},
      {"deduplicated_total", s.deduplicated_total},
      {"moved_in_total", s.moved_in_total},
      {"moved_out_total", s.moved_out_total},
  };
  j["max_deliveries"] = s.max_deliveries;
  j["dead_letter"] = s.dead_letter;
  for (const auto& [key, value] : counters) j[key] = value;
  j["consumers"] = consumers_json(s.consumers);
  j["temporary"] = s.temporary;
  j["bindings"] = s.bindings;
  j["published_total"] = s.published_total;
  j["durable"] = s.durable;
  j["log_bytes"] = s.log_bytes;
  j["log_share"] = s.log_share;
  return j;
}

/// 0.1234 -> "12.3%".
std::string percent_text(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100);
  return buf;
}

/// 93784005 ms -> "1d 02h 03m 04.005s", 4005 -> "4.005s": leading zero units are left out.
std::string uptime_text(uint64_t ms) {
  using ull = unsigned long long;
  const ull days = ms / 86'400'000, hours = ms / 3'600'000 % 24, mins = ms / 60'000 % 60;
  const ull secs = ms / 1000 % 60, millis = ms % 1000;
  char buf[96];
  if (days > 0)
    std::snprintf(buf, sizeof buf, "%llud %02lluh %02llum %02llu.%03llus", days, hours, mins, secs,
                  millis);
  else if (hours > 0)
    std::snprintf(buf, sizeof buf, "%lluh %02llum %02llu.%03llus", hours, mins, secs, millis);
  else if (mins > 0)
    std::snprintf(buf, sizeof buf, "%llum %02llu.%03llus", mins, secs, millis);
  else
    std::snprintf(buf, sizeof buf, "%llu.%03llus", secs, millis);
  return buf;
}

std::string plural(uint64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

/// "key  value" rows with the keys padded to one column, as stat prints them.
template <class Table>
std::string key_value_lines(const Table& table) {
  std::string out;
  for (const auto& [key, value] : table) {
    std::string k = key;
    k.resize(20, ' ');
    out += k + value + "\n";
  }
  return out;
}

/// "2023-11-14T22:13:20.123456789Z", or "never" for 0 (the protocol's "never").
std::string time_text(uint64_t ns) {
  if (ns == 0) return "never";
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09lluZ",
                static_cast<unsigned long long>(ns % 1'000'000'000));
  return buf;
}

std::string join(const std::vector<std::string>& words, std::string_view sep) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : std::string(sep)) + w;
  return out;
}

std::string pid_text(uint32_t pid) {
  return pid == 0 ? "none" : std::to_string(pid);
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  auto* end = p + s.size();
  auto cont = [&](std::size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  while (p < end) {
    unsigned c = *p;
    std::size_t len;
    // Well-formed byte sequences, Unicode 15 table 3-7: the second byte's range
    // excludes overlongs (E0, F0), surrogates (ED) and values above U+10FFFF (F4).
    if (c < 0x80)
      len = 1;
    else if (c >= 0xC2 && c <= 0xDF)
      len = cont(1) ? 2 : 0;
    else if (c == 0xE0)
      len = cont(1, 0xA0) && cont(2) ? 3 : 0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
      len = cont(1) && cont(2) ? 3 : 0;
    else if (c == 0xED)
      len = cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    else if (c == 0xF0)
      len = cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    else if (c >= 0xF1 && c <= 0xF3)
      len = cont(1) && cont(2) && cont(3) ? 4 : 0;
    else if (c == 0xF4)
      len = cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    else
      len = 0;
    if (len == 0) return false;
    p += len;
  }
  return true;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto at = [&](std::size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string message_json(const Message& m) {
  Json j;
  j["id"] = m.id;
  j["type"] = m.type;
  j["priority"] = m.priority;
  if (is_valid_utf8(m.payload)) {
    j["payload"] = m.payload;
  } else {
    j["payload"] = base64(m.payload);
    j["encoding"] = "base64";
  }
  j["properties"] = Json{{"correlation_id", optional_string(m.correlation_id)},
                         {"reply_to", optional_string(m.reply_to)},
                         {"headers", headers_json(m.headers)},
                         {"topic", optional_string(m.topic)}};
  j["sender_pid"] = m.sender_pid;
  j["sender_uid"] = m.sender_uid;
  j["enqueue_time_ns"] = m.enqueue_time_ns;
  j["truncated"] = m.truncated;
  j["delivery_tag"] = m.delivery_tag;
  j["delivery_count"] = m.delivery_count;
  if (m.delivery_tag != 0) j["tag"] = m.delivery_tag;
  return dump(j);
}

std::string send_text(const SendResult& r, bool keyed) {
  std::string id = std::to_string(r.id());
  return keyed && r.duplicate() ? id + " duplicate" : id;
}

std::string send_json(const SendResult& r, bool keyed) {
  Json j{{"id", r.id()}};
  if (keyed) j["duplicate"] = r.duplicate();
  return dump(j);
}

std::string missing_leases_text(const std::vector<uint64_t>& missing, std::size_t tags) {
  std::string list;
  for (uint64_t t : missing) list += (list.empty() ? "" : ", ") + std::to_string(t);
  std::string text =
      std::string(missing.size() == 1 ? "no lease with tag " : "no lease with tags ") + list +
      " (expired, settled already, or not yours to settle)";
  if (tags > 1)
    text +=
        "; " + std::to_string(tags - missing.size()) + " of " + std::to_string(tags) + " settled";
  return text;
}

std::string move_text(const MoveResult& r, std::string_view source, std::string_view destination) {
  std::string text = "moved " + std::to_string(r.moved) +
                     (r.moved == 1 ? " message" : " messages") + " from " + in_quotes(source) +
                     " to " + in_quotes(destination);
  if (r.merged > 0)
    text += ", " + std::to_string(r.merged) +
            (r.merged == 1 ? " merged into a message holding its key"
                           : " merged into messages holding their keys");
  return text;
}

std::string move_json(const MoveResult& r) {
  Json j{{"moved", r.moved}, {"merged", r.merged}};
  if (!r.stopped.empty()) j["stopped"] = r.stopped;
  return dump(j);
}

std::string stat_json(const QueueStat& s, bool jobs) {
  return dump(stat_object(s, jobs));
}

std::string stat_text(const QueueStat& s, bool jobs) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", s.mode);
  std::string depths;
  for (const auto& [prio, count] : s.depth_per_priority)
    depths += (depths.empty() ? "" : " ") + std::to_string(prio) + ":" + std::to_string(count);
  const std::pair<const char*, std::string> rows[] = {
      {"name", s.name},
      {"depth", std::to_string(s.depth)},
      {"bytes", std::to_string(s.bytes)},
      {"max_messages", std::to_string(s.max_messages)},
      {"max_bytes", std::to_string(s.max_bytes)},
      {"max_message_size", std::to_string(s.max_message_size)},
      {"mode", mode},
      {"overflow", std::string(to_string(s.overflow))},
      {"owner", std::to_string(s.owner_uid) + ":" + std::to_string(s.owner_gid)},
      {"created", time_text(s.created_ns)},
      {"last_send", time_text(s.last_send_ns) + " (pid " + pid_text(s.last_send_pid) + ")"},
      {"last_receive",
       time_text(s.last_receive_ns) + " (pid " + pid_text(s.last_receive_pid) + ")"},
      {"sent_total", std::to_string(s.sent_total)},
      {"received_total", std::to_string(s.received_total)},
      {"dropped_total", std::to_string(s.dropped_total)},
      {"purged_total", std::to_string(s.purged_total)},
      {"blocked_senders", std::to_string(s.blocked_senders)},
      {"blocked_receivers", std::to_string(s.blocked_receivers)},
      {"depth_per_priority", depths.empty() ? "-" : depths},
  };
  const std::pair<const char*, std::string> job_rows[] = {
      {"max_deliveries", s.max_deliveries == 0 ? "unlimited" : std::to_string(s.max_deliveries)},
      {"dead_letter", s.dead_letter.empty() ? "none" : s.dead_letter},
      {"lease_ms", std::to_string(s.lease_ms)},
      {"ttl_ms", s.ttl_ms == 0 ? "none" : std::to_string(s.ttl_ms)},
      {"leased", std::to_string(s.leased)},
      {"delayed", std::to_string(s.delayed)},
      {"acked_total", std::to_string(s.acked_total)},
      {"nacked_total", std::to_string(s.nacked_total)},
      {"redelivered_total", std::to_string(s.redelivered_total)},
      {"lease_expired_total", std::to_string(s.lease_expired_total)},
      {"expired_total", std::to_string(s.expired_total)},
      {"dead_lettered_total", std::to_string(s.dead_lettered_total)},
      {"discarded_total", std::to_string(s.discarded_total)},
      {"deduplicated_total", std::to_string(s.deduplicated_total)},
      {"moved_in_total", std::to_string(s.moved_in_total)},
      {"moved_out_total", std::to_string(s.moved_out_total)},
      {"temporary", s.temporary ? "yes" : "no"},
      {"bindings", s.bindings.empty() ? "none" : join(s.bindings, " ")},
      {"published_total", std::to_string(s.published_total)},
      {"durable", s.durable ? "yes" : "no"},
      {"log_bytes", std::to_string(s.log_bytes)},
      {"log_share", percent_text(s.log_share)},
      {"consumers", std::to_string(s.consumers.size())},
  };
  std::string out = key_value_lines(rows);
  if (!jobs) return out;  // a version 1 broker knows none of them
  out += key_value_lines(job_rows);
  for (const auto& c : s.consumers) {
    out += "  consumer " + std::to_string(c.consumer) + ": pid " + pid_text(c.pid) +
           ", connection " + std::to_string(c.connection) + ", type " + std::to_string(c.type) +
           (c.except ? " except" : "") +
           (c.ack ? ", ack, prefetch " + std::to_string(c.prefetch) + ", unacked " +
                        std::to_string(c.unacked)
                  : ", auto-ack") +
           "\n";
  }
  return out;
}

std::string list_json(const std::vector<QueueSummary>& queues, bool jobs) {
  Json list = Json::array();
  for (const auto& q : queues) {
    Json row{{"name", q.name}, {"depth", q.depth}, {"bytes", q.bytes}};
    if (jobs) row["bindings"] = q.bindings;
    list.push_back(std::move(row));
  }
  return dump(Json{{"queues", list}});
}

std::string list_text(const std::vector<QueueSummary>& queues, bool jobs) {
  std::size_t name_width = 4, depth_width = 5, bytes_width = 5;  // "NAME", "DEPTH", "BYTES"
  for (const auto& q : queues) {
    name_width = std::max(name_width, q.name.size());
    depth_width = std::max(depth_width, std::to_string(q.depth).size());
    bytes_width = std::max(bytes_width, std::to_string(q.bytes).size());
  }
  auto row = [&](const std::string& name, const std::string& depth, std::string bytes,
                 const std::string& bindings) {
    std::string line = name;
    line.resize(name_width + 2, ' ');
    line += std::string(depth_width - depth.size(), ' ') + depth + "  ";
    // BYTES is the last column without bindings: no padding after it then.
    if (jobs) bytes.resize(bytes_width + 2, ' ');
    return line + bytes + (jobs ? bindings : "") + "\n";
  };
  std::string out = row("NAME", "DEPTH", "BYTES", "BINDINGS");
  for (const auto& q : queues)
    out +=
        row(q.name, std::to_string(q.depth), std::to_string(q.bytes), std::to_string(q.bindings));
  return out;
}

std::string queue_list_json(const QueueList& list, bool jobs) {
  if (!list.log) return list_json(list.queues, jobs);
  Json rows = Json::array();
  for (const auto& q : list.queues)
    rows.push_back(Json{{"name", q.name},
                        {"depth", q.depth},
                        {"bytes", q.bytes},
                        {"bindings", q.bindings},
                        {"durable", q.durable}});
  return dump(Json{{"queues", rows},
                   {"log", {{"bytes", list.log->bytes}, {"segments", list.log->segments}}}});
}

std::string queue_list_text(const QueueList& list, bool jobs) {
  if (!list.log) return list_text(list.queues, jobs);
  std::size_t name_width = 4, depth_width = 5, bytes_width = 5, bindings_width = 8;
  for (const auto& q : list.queues) {
    name_width = std::max(name_width, q.name.size());
    depth_width = std::max(depth_width, std::to_string(q.depth).size());
    bytes_width = std::max(bytes_width, std::to_string(q.bytes).size());
    bindings_width = std::max(bindings_width, std::to_string(q.bindings).size());
  }
  auto row = [&](std::string name, const std::string& depth, std::string bytes,
                 std::string bindings, const std::string& durable) {
    name.resize(name_width + 2, ' ');
    bytes.resize(bytes_width + 2, ' ');
    bindings.resize(bindings_width + 2, ' ');
    return name + std::string(depth_width - depth.size(), ' ') + depth + "  " + bytes + bindings +
           durable + "\n";
  };
  std::string out = row("NAME", "DEPTH", "BYTES", "BINDINGS", "DURABLE");
  for (const auto& q : list.queues)
    out += row(q.name, std::to_string(q.depth), std::to_string(q.bytes), std::to_string(q.bindings),
               q.durable ? "yes" : "no");
  return out + "log  " + plural(list.log->bytes, "byte") + " in " +
         plural(list.log->segments, "segment") + "\n";
}

std::string status_json(const BrokerStatus& s) {
  const LogStatus& l = s.log;
  return dump(Json{{"version", s.version},
                   {"pid", s.pid},
                   {"uptime_ms", s.uptime_ms},
                   {"connections", s.connections},
                   {"queues", s.queues},
                   {"durable_queues", s.durable_queues},
                   {"log",
                    {{"data_dir", l.data_dir},
                     {"fsync", l.fsync},
                     {"fsync_interval_ms", l.fsync_interval_ms},
                     {"segment_size", l.segment_size},
                     {"disk_free_limit", l.disk_free_limit},
                     {"free_bytes", l.free_bytes},
                     {"bytes", l.bytes},
                     {"segments", l.segments},
                     {"live_bytes", l.live_bytes},
                     {"records_total", l.records_total},
                     {"writes_total", l.writes_total},
                     {"syncs_total", l.syncs_total},
                     {"recovered_messages", l.recovered_messages},
                     {"recovery_ms", l.recovery_ms},
                     {"state", l.state},
                     {"error", l.error}}}});
}

std::string status_text(const BrokerStatus& s) {
  const LogStatus& l = s.log;
  const std::string fsync = l.fsync == "interval"
                                ? "interval (every " + std::to_string(l.fsync_interval_ms) + " ms)"
                                : l.fsync;
  const std::pair<const char*, std::string> rows[] = {
      {"version", s.version},
      {"pid", std::to_string(s.pid)},
      {"uptime", uptime_text(s.uptime_ms)},
      {"connections", std::to_string(s.connections)},
      {"queues", std::to_string(s.queues)},
      {"durable_queues", std::to_string(s.durable_queues)},
      {"data_dir", l.data_dir},
      {"fsync", fsync},
      {"segment_size", std::to_string(l.segment_size)},
      {"disk_free", l.segments == 0 ? "unknown (no log yet)"
                                    : std::to_string(l.free_bytes) + " bytes (limit " +
                                          std::to_string(l.disk_free_limit) + ")"},
      {"log_bytes", std::to_string(l.bytes)},
      {"log_segments", std::to_string(l.segments)},
      {"live_bytes", std::to_string(l.live_bytes)},
      {"records_total", std::to_string(l.records_total)},
      {"writes_total", std::to_string(l.writes_total)},
      {"syncs_total", std::to_string(l.syncs_total)},
      {"recovered",
       plural(l.recovered_messages, "message") + " in " + std::to_string(l.recovery_ms) + " ms"},
      {"state", l.state},
      {"error", l.error.empty() ? "none" : l.error},
  };
  return key_value_lines(rows);
}

std::string declare_json(const DeclareResult& r, bool jobs) {
  return dump(Json{{"created", r.created}, {"queue", stat_object(r.queue, jobs)}});
}

std::string declare_text(const DeclareResult& r) {
  return "queue " + in_quotes(r.queue.name) + (r.created ? " created" : " exists");
}

std::string publish_text(const PublishResult& r) {
  return std::to_string(r.queues);
}

std::string publish_json(const PublishResult& r) {
  return dump(Json{{"queues", r.queues}, {"denied", r.denied}, {"dropped", r.dropped}});
}

std::string bind_text(bool bind, bool changed, std::string_view queue, std::string_view pattern) {
  const std::string q = in_quotes(queue), p = in_quotes(pattern);
  if (bind) return changed ? "bound " + q + " to " + p : q + " was already bound to " + p;
  return changed ? "unbound " + q + " from " + p : q + " was not bound to " + p;
}

std::string bind_json(bool bind, bool changed) {
  return dump(Json{{bind ? "created" : "removed", changed}});
}

std::string bindings_text(const Bindings& b) {
  std::vector<Binding> rows = b.bindings;
  std::sort(rows.begin(), rows.end(), [](const Binding& x, const Binding& y) {
    return std::tie(x.queue, x.pattern) < std::tie(y.queue, y.pattern);
  });
  std::size_t width = 5;  // "QUEUE"
  for (const auto& r : rows) width = std::max(width, r.queue.size());
  auto row = [&](std::string queue, const std::string& pattern) {
    queue.resize(width + 2, ' ');
    return queue + pattern + "\n";
  };
  std::string out = row("QUEUE", "PATTERN");
  for (const auto& r : rows) out += row(r.queue, r.pattern);
  return out;
}

std::string bindings_json(const Bindings& b) {
  Json list = Json::array();
  for (const auto& r : b.bindings) list.push_back(Json{{"queue", r.queue}, {"pattern", r.pattern}});
  return dump(Json{{"bindings", list},
                   {"published_total", b.published_total},
                   {"unroutable_total", b.unroutable_total},
                   {"denied_total", b.denied_total},
                   {"dropped_total", b.dropped_total},
                   {"copies_total", b.copies_total}});
}

std::string failure_text(Errc code, std::string_view broker_message, std::string_view queue) {
  if (!broker_message.empty()) return std::string(broker_message);
  std::string q = in_quotes(queue);
  switch (code) {
    case Errc::no_message:
      return "no message in queue " + q;
    case Errc::queue_full:
      return "queue " + q + " is full";
    case Errc::no_such_queue:
      return "no such queue " + q;
    case Errc::queue_exists:
      return "queue " + q + " already exists";
    case Errc::permission_denied:
      return "permission denied on queue " + q;
    case Errc::too_big:
      return "message too big for queue " + q;
    case Errc::queue_removed:
      return "queue " + q + " was deleted";
    default:
      return error_category().message(static_cast<int>(code));
  }
}

std::string failure_text(const Error& e, std::string_view queue) {
  bool generic = e.what() == error_category().message(static_cast<int>(e.errc()));
  return failure_text(e.errc(), generic ? std::string_view{} : std::string_view(e.what()), queue);
}

}  // namespace postbox::cli
