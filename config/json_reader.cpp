// Reading config JSON text into a Config: see json_reader.hpp.
//
// nlohmann::json does the syntax; this file does everything it would let
// through silently: unknown keys, repeated keys, wrong types, and numbers out
// of range (get<uint32_t>() would truncate 2^40 without a word).
#include "config/json_reader.hpp"

#include <array>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/limits.hpp"
#include "config/problem.hpp"
#include "config/rules.hpp"

namespace postbox::config::detail {
namespace {

using Json = nlohmann::json;

constexpr std::array<std::string_view, 14> kTopKeys{
    "socket",         "socket_mode",        "data_dir",  "fsync",          "fsync_interval_ms",
    "segment_size",   "disk_free_limit",    "log_level", "queue_defaults", "max_connections",
    "max_frame_size", "max_pending_output", "spin_us",   "queues"};
constexpr std::array<std::string_view, 10> kLimitKeys{
    "max_messages",   "max_bytes",   "max_message_size", "mode",   "overflow",
    "max_deliveries", "dead_letter", "lease_ms",         "ttl_ms", "durable"};
constexpr std::array<std::string_view, 11> kQueueKeys{
    "name",           "max_messages", "max_bytes", "max_message_size", "mode",   "overflow",
    "max_deliveries", "dead_letter",  "lease_ms",  "ttl_ms",           "durable"};

/// The value as JSON text, cut short.
std::string describe(const Json& v) {
  return shown(v.dump(-1, ' ', false, Json::error_handler_t::replace));
}

using detail::fail;
[[noreturn]] void fail(const std::string& path, std::string_view expected, const Json& got) {
  fail(path, expected, describe(got));
}

// ---- Values ---------------------------------------------------------------

std::optional<uint32_t> parse_octal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '7') return std::nullopt;
    value = value * 8 + static_cast<uint64_t>(ch - '0');
    if (value > kMaxMode) return std::nullopt;  // also stops overflow on long strings
  }
  return static_cast<uint32_t>(value);
}

/// A non-negative JSON integer (-0 included); floats never count.
std::optional<uint64_t> as_unsigned(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() == 0) return 0;
  return std::nullopt;
}

uint64_t read_uint(const Json& v, const std::string& path, Range r) {
  auto n = as_unsigned(v);
  if (!n || *n < r.min || *n > r.max) fail(path, expected_integer(r), v);
  return *n;
}

uint32_t read_u32(const Json& v, const std::string& path, Range r) {
  static_assert(kU32 <= kU64);
  return static_cast<uint32_t>(read_uint(v, path, {r.min, std::min(r.max, kU32)}));
}

uint32_t read_mode(const Json& v, const std::string& path) {
  if (v.is_string()) {
    if (auto m = parse_octal(v.get_ref<const std::string&>())) return *m;
  } else if (auto n = as_unsigned(v); n && *n <= kMaxMode) {
    return static_cast<uint32_t>(*n);
  }
  fail(path, kModeExpected, v);
}

const std::string& read_string(const Json& v, const std::string& path) {
  if (!v.is_string()) fail(path, "a string", v);
  return v.get_ref<const std::string&>();
}

std::string read_path(const Json& v, const std::string& path) {
  const std::string& s = read_string(v, path);
  if (s.find('\0') != std::string::npos) fail(path, "a path without NUL bytes", v);
  return s;
}

std::string read_log_level(const Json& v, const std::string& path) {
  if (v.is_string()) {
    for (auto level : kLogLevels) {
      if (v.get_ref<const std::string&>() == level) return std::string(level);
    }
  }
  fail(path, "one of " + join(kLogLevels), v);
}

Overflow read_overflow(const Json& v, const std::string& path) {
  if (v.is_string()) {
    if (auto o = parse_overflow(v.get_ref<const std::string&>())) return *o;
  }
  fail(path, "one of reject, drop-new, drop-oldest, drop-lowest-priority", v);
}

bool read_bool(const Json& v, const std::string& path) {
  if (!v.is_boolean()) fail(path, "true or false", v);
  return v.get<bool>();
}

Fsync read_fsync(const Json& v, const std::string& path) {
  if (v.is_string()) {
    if (auto f = parse_fsync(v.get_ref<const std::string&>())) return *f;
  }
  fail(path, "one of always, interval, never", v);
}

/// "" (none) or a valid queue name. Whether it names the queue itself is a rule
/// across keys (the name, or queue_defaults), left to check_rules().
std::string read_dead_letter(const Json& v, const std::string& path) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty() || valid_queue_name(s)) return s;
  }
  fail(path, kDeadLetterExpected, v);
}

// ---- Objects --------------------------------------------------------------

/// `prefix` + `key`, where prefix is "" or ends in ".".
std::string key_path(const std::string& prefix, std::string_view key) {
  return prefix + std::string(key);
}

void require_object(const Json& v, const std::string& path, std::string_view expected) {
  if (!v.is_object()) fail(path, expected, v);
}

/// Every key of `obj` must be known: a misspelt key would otherwise be
/// ignored and its setting silently left at the default.
void check_keys(const Json& obj, const std::string& prefix,
                std::span<const std::string_view> known) {
  for (const auto& item : obj.items()) {
    bool found = false;
    for (auto k : known) found = found || item.key() == k;
    if (!found) {
      throw Problem("unknown key '" + printable(key_path(prefix, item.key())) +
                    "' (known: " + join(known) + ")");
    }
  }
}

const Json* find(const Json& obj, std::string_view key) {
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &*it;
}

void read_limits(const Json& obj, const std::string& path, QueueLimits& l) {
  require_object(obj, path, "an object");
  const std::string p = path + ".";
  check_keys(obj, p, kLimitKeys);
  if (auto* v = find(obj, "max_messages"))
    l.max_messages = read_uint(*v, p + "max_messages", kMaxMessagesRange);
  if (auto* v = find(obj, "max_bytes"))
    l.max_bytes = read_uint(*v, p + "max_bytes", kMaxBytesRange);
  if (auto* v = find(obj, "max_message_size"))
    l.max_message_size = read_u32(*v, p + "max_message_size", kMessageSizeRange);
  if (auto* v = find(obj, "mode")) l.mode = read_mode(*v, p + "mode");
  if (auto* v = find(obj, "overflow")) l.overflow = read_overflow(*v, p + "overflow");
  if (auto* v = find(obj, "max_deliveries"))
    l.max_deliveries = read_u32(*v, p + "max_deliveries", kMaxDeliveriesRange);
  if (auto* v = find(obj, "dead_letter")) l.dead_letter = read_dead_letter(*v, p + "dead_letter");
  if (auto* v = find(obj, "lease_ms")) l.lease_ms = read_u32(*v, p + "lease_ms", kLeaseRange);
  if (auto* v = find(obj, "ttl_ms")) l.ttl_ms = read_uint(*v, p + "ttl_ms", kTtlRange);
  if (auto* v = find(obj, "durable")) l.durable = read_bool(*v, p + "durable");
}

QueueDecl read_queue(const Json& obj, const std::string& path) {
  require_object(obj, path, "an object with at least a \"name\"");
  const std::string p = path + ".";
  check_keys(obj, p, kQueueKeys);
  QueueDecl q;
  auto* name = find(obj, "name");
  if (name == nullptr) throw Problem("key '" + path + "': missing required key 'name'");
  q.name = read_string(*name, p + "name");
  if (!valid_queue_name(q.name)) fail(p + "name", kNameExpected, *name);
  if (auto* v = find(obj, "max_messages"))
    q.max_messages = read_uint(*v, p + "max_messages", kMaxMessagesRange);
  if (auto* v = find(obj, "max_bytes"))
    q.max_bytes = read_uint(*v, p + "max_bytes", kMaxBytesRange);
  if (auto* v = find(obj, "max_message_size"))
    q.max_message_size = read_u32(*v, p + "max_message_size", kMessageSizeRange);
  if (auto* v = find(obj, "mode")) q.mode = read_mode(*v, p + "mode");
  if (auto* v = find(obj, "overflow")) q.overflow = read_overflow(*v, p + "overflow");
  if (auto* v = find(obj, "max_deliveries"))
    q.max_deliveries = read_u32(*v, p + "max_deliveries", kMaxDeliveriesRange);
  if (auto* v = find(obj, "dead_letter")) q.dead_letter = read_dead_letter(*v, p + "dead_letter");
  if (auto* v = find(obj, "lease_ms")) q.lease_ms = read_u32(*v, p + "lease_ms", kLeaseRange);
  if (auto* v = find(obj, "ttl_ms")) q.ttl_ms = read_uint(*v, p + "ttl_ms", kTtlRange);
  if (auto* v = find(obj, "durable")) q.durable = read_bool(*v, p + "durable");
  return q;
}

/// The file's list replaces the base's: a queue list is one setting.
std::vector<QueueDecl> read_queues(const Json& v) {
  if (!v.is_array()) fail("queues", "an array of queue objects", v);
  std::vector<QueueDecl> queues;
  for (std::size_t i = 0; i < v.size(); ++i) {
    queues.push_back(read_queue(v[i], "queues[" + std::to_string(i) + "]"));
  }
  return queues;
}

void read_object(const Json& root, Config& c) {
  if (!root.is_object()) {
    throw Problem("expected a JSON object at the top level, got " + describe(root));
  }
  check_keys(root, "", kTopKeys);
  if (auto* v = find(root, "socket")) c.socket_path = read_path(*v, "socket");
  if (auto* v = find(root, "socket_mode")) c.socket_mode = read_mode(*v, "socket_mode");
  if (auto* v = find(root, "data_dir")) c.data_dir = read_path(*v, "data_dir");
  if (auto* v = find(root, "fsync")) c.fsync = read_fsync(*v, "fsync");
  if (auto* v = find(root, "fsync_interval_ms"))
    c.fsync_interval_ms = read_u32(*v, "fsync_interval_ms", kFsyncIntervalRange);
  if (auto* v = find(root, "segment_size"))
    c.segment_size = read_uint(*v, "segment_size", kSegmentSizeRange);
  if (auto* v = find(root, "disk_free_limit"))
    c.disk_free_limit = read_uint(*v, "disk_free_limit", kDiskFreeLimitRange);
  if (auto* v = find(root, "log_level")) c.log_level = read_log_level(*v, "log_level");
  if (auto* v = find(root, "queue_defaults")) read_limits(*v, "queue_defaults", c.queue_defaults);
  if (auto* v = find(root, "max_connections"))
    c.max_connections = read_u32(*v, "max_connections", kConnectionsRange);
  if (auto* v = find(root, "max_frame_size"))
    c.max_frame_size = read_u32(*v, "max_frame_size", kFrameSizeRange);
  if (auto* v = find(root, "max_pending_output"))
    c.max_pending_output = read_uint(*v, "max_pending_output", kPendingOutputRange);
  if (auto* v = find(root, "spin_us")) c.spin_us = read_u32(*v, "spin_us", kSpinRange);
  if (auto* v = find(root, "queues")) c.queues = read_queues(*v);
}

// ---- JSON text ------------------------------------------------------------

/// Parser callback that rejects a key repeated in one object, naming its full
/// path: nlohmann::json would silently keep the last of the two.
class DuplicateKeyCheck {
 public:
  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    using E = Json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        count_element();
        levels_.emplace_back().is_array = event == E::array_start;
        break;
      case E::object_end:
      case E::array_end:
        levels_.pop_back();
        break;
      case E::key:
        levels_.back().key = parsed.get<std::string>();
        if (!levels_.back().keys.insert(levels_.back().key).second) {
          throw Problem("duplicate key '" + printable(path()) + "'");
        }
        break;
      case E::value:
        count_element();
        break;
    }
    return true;
  }

 private:
  struct Level {
    bool is_array = false;
    std::size_t index = 0;  // elements started so far, when is_array
    std::string key;        // the current key, when an object
    std::set<std::string> keys;
  };

  void count_element() {
    if (!levels_.empty() && levels_.back().is_array) ++levels_.back().index;
  }

  std::string path() const {
    std::string out;
    for (const auto& l : levels_) {
      if (l.is_array) {
        out += "[" + std::to_string(l.index - 1) + "]";
      } else {
        out += (out.empty() ? "" : ".") + l.key;
      }
    }
    return out;
  }

  std::vector<Level> levels_;
};

/// nlohmann's what() without its "[json.exception.parse_error.101] " tag.
std::string untagged(const char* what) {
  std::string_view s = what;
  if (s.starts_with("[json.exception.")) {
    auto end = s.find("] ");
    if (end != std::string_view::npos) s.remove_prefix(end + 2);
  }
  if (s.starts_with("parse error at ")) s.remove_prefix(15);  // "line 2, column 5: ..."
  return std::string(s);
}

Json parse_json(const std::string& text) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw Problem("empty; expected a JSON object ({} keeps every default)");
  }
  try {
    return Json::parse(text, DuplicateKeyCheck{}, /*allow_exceptions=*/true,
                       /*ignore_comments=*/true);
  } catch (const Json::parse_error& e) {
    throw Problem("invalid JSON at byte " + std::to_string(e.byte) + ", " + untagged(e.what()));
  } catch (const Json::exception& e) {  // e.g. out_of_range 406 for 1e400
    throw Problem("invalid JSON: " + untagged(e.what()));
  }
}

}  // namespace

void read_json(const std::string& text, Config& c) {
  read_object(parse_json(text), c);
}

}  // namespace postbox::config::detail
