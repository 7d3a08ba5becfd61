// Loading postboxd's JSON config over a base Config, and the rules every Config obeys.
//
// Reading happens in two passes: the JSON reader checks each key's type and
// range as it copies it into the Config (so errors can quote the file's own
// text), then check_rules() checks the whole result, including rules across
// keys. validate() runs the second pass alone, for Configs changed by flags.
// Errors inside are Problems without an origin; the entry points add it.
#include "config/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

namespace postbox::config {
namespace {

using Json = nlohmann::json;

// ---- Limits ---------------------------------------------------------------

/// Room for a frame's own headers (kind, request id, queue name, type,
/// priority, properties) around a payload of max_message_size bytes.
constexpr uint64_t kFrameHeaderRoom = 256;
/// Below a page, ordinary requests with long queue names would not fit.
constexpr uint64_t kMinFrameSize = 4096;
/// Same as proto::kMaxFrameBodyCeiling (config does not depend on proto).
constexpr uint64_t kMaxFrameSize = 256u << 20;
/// Permission bits only: setuid, setgid and sticky mean nothing for queues.
constexpr uint64_t kMaxMode = 0777;
/// Busy-polling a whole second after each wake-up would only burn a core.
constexpr uint64_t kMaxSpinUs = 1'000'000;
/// sizeof(sockaddr_un::sun_path) is 108 on Linux, including the NUL.
constexpr std::size_t kMaxSocketPath = 107;
constexpr std::size_t kMaxQueueName = 255;
/// A config file is a few KiB; this only stops a mistaken /dev/zero.
constexpr std::size_t kMaxFileSize = 4u << 20;
constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kU64 = std::numeric_limits<uint64_t>::max();

struct Range {
  uint64_t min;
  uint64_t max;
};
constexpr Range kMaxMessagesRange{1, kU64};
constexpr Range kMaxBytesRange{1, kU64};
constexpr Range kMessageSizeRange{1, kMaxFrameSize - kFrameHeaderRoom};
constexpr Range kConnectionsRange{1, kU32};
constexpr Range kFrameSizeRange{kMinFrameSize, kMaxFrameSize};
constexpr Range kPendingOutputRange{1, kU64};
constexpr Range kSpinRange{0, kMaxSpinUs};

constexpr std::string_view kModeExpected = "an integer 0..0777 or an octal string";
constexpr std::string_view kNameExpected = "1-255 bytes of [A-Za-z0-9._-]";
constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
constexpr std::array<std::string_view, 10> kTopKeys{
    "socket",          "socket_mode",    "data_dir",           "log_level", "queue_defaults",
    "max_connections", "max_frame_size", "max_pending_output", "spin_us",   "queues"};
constexpr std::array<std::string_view, 5> kLimitKeys{"max_messages", "max_bytes",
                                                     "max_message_size", "mode", "overflow"};
constexpr std::array<std::string_view, 6> kQueueKeys{
    "name", "max_messages", "max_bytes", "max_message_size", "mode", "overflow"};

// ---- Error text -----------------------------------------------------------

/// A config error without its origin; load_string() and validate() add it.
struct Problem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string join(std::span<const std::string_view> words) {
  std::string out;
  for (auto w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

/// A key as it may appear in a one-line message: control bytes escaped.
std::string printable(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : key) {
    if (ch >= 0x20 && ch != 0x7f) {
      out += static_cast<char>(ch);
    } else {
      out += "\\x";
      out += kHex[ch >> 4];
      out += kHex[ch & 0xf];
    }
  }
  return out;
}

/// The value as JSON text, cut short so one bad value cannot flood a line.
std::string describe(const Json& v) {
  constexpr std::size_t kMaxShown = 60;
  std::string text = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return text;
}

std::string octal(uint64_t mode) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + mode % 8));
    mode /= 8;
  } while (mode != 0);
  return "0" + digits;
}

std::string expected_integer(Range r) {
  if (r.max == kU64) return "an integer >= " + std::to_string(r.min);
  return "an integer " + std::to_string(r.min) + ".." + std::to_string(r.max);
}

[[noreturn]] void fail(const std::string& path, std::string_view expected, const std::string& got) {
  throw Problem("key '" + printable(path) + "': expected " + std::string(expected) + ", got " +
                got);
}

[[noreturn]] void fail(const std::string& path, std::string_view expected, const Json& got) {
  fail(path, expected, describe(got));
}

// ---- Values ---------------------------------------------------------------

bool valid_queue_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxQueueName) return false;
  for (char ch : name) {
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

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
  fail(path, "one of reject, drop-oldest, drop-lowest-priority", v);
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

void read_top(const Json& root, Config& c) {
  if (!root.is_object()) {
    throw Problem("expected a JSON object at the top level, got " + describe(root));
  }
  check_keys(root, "", kTopKeys);
  if (auto* v = find(root, "socket")) c.socket_path = read_path(*v, "socket");
  if (auto* v = find(root, "socket_mode")) c.socket_mode = read_mode(*v, "socket_mode");
  if (auto* v = find(root, "data_dir")) c.data_dir = read_path(*v, "data_dir");
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

std::string read_file(const std::string& path) {
  auto fail_io = [&](const std::string& what) {
    throw ConfigError(path + ": " + what + ": " + std::strerror(errno));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_io("cannot open");
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      fail_io("cannot read");
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileSize) {
      ::close(fd);
      throw ConfigError(path + ": larger than " + std::to_string(kMaxFileSize >> 20) +
                        " MiB; not a config file");
    }
  }
  ::close(fd);
  return text;
}

// ---- Rules ----------------------------------------------------------------

void check_range(const std::string& path, uint64_t value, Range r) {
  if (value < r.min || value > r.max) fail(path, expected_integer(r), std::to_string(value));
}

void check_mode(const std::string& path, uint64_t mode) {
  if (mode > kMaxMode) fail(path, kModeExpected, octal(mode));
}

/// `ceiling` is max_frame_size - kFrameHeaderRoom.
void check_message_size(const std::string& path, uint64_t size, uint64_t ceiling) {
  check_range(path, size, kMessageSizeRange);
  if (size > ceiling) {
    fail(path,
         "at most " + std::to_string(ceiling) + " (max_frame_size - " +
             std::to_string(kFrameHeaderRoom) + ", room for the frame's headers)",
         std::to_string(size));
  }
}

void check_queue(const QueueDecl& q, const std::string& path, uint64_t ceiling) {
  if (!valid_queue_name(q.name)) fail(path + ".name", kNameExpected, describe(Json(q.name)));
  if (q.max_messages) check_range(path + ".max_messages", *q.max_messages, kMaxMessagesRange);
  if (q.max_bytes) check_range(path + ".max_bytes", *q.max_bytes, kMaxBytesRange);
  if (q.max_message_size)
    check_message_size(path + ".max_message_size", *q.max_message_size, ceiling);
  if (q.mode) check_mode(path + ".mode", *q.mode);
}

void check_queues(const std::vector<QueueDecl>& queues, uint64_t ceiling) {
  std::map<std::string_view, std::size_t> seen;  // name -> first index
  for (std::size_t i = 0; i < queues.size(); ++i) {
    const std::string path = "queues[" + std::to_string(i) + "]";
    check_queue(queues[i], path, ceiling);
    auto [it, inserted] = seen.emplace(queues[i].name, i);
    if (!inserted) {
      throw Problem("key '" + path + ".name': duplicate queue name \"" + queues[i].name +
                    "\" (also queues[" + std::to_string(it->second) + "])");
    }
  }
}

void check_rules(const Config& c) {
  if (c.socket_path.size() > kMaxSocketPath) {
    fail("socket", "a path of at most " + std::to_string(kMaxSocketPath) + " bytes (sun_path)",
         "a path of " + std::to_string(c.socket_path.size()) + " bytes");
  }
  check_mode("socket_mode", c.socket_mode);
  bool known_level = false;
  for (auto level : kLogLevels) known_level = known_level || c.log_level == level;
  if (!known_level) fail("log_level", "one of " + join(kLogLevels), describe(Json(c.log_level)));
  check_range("max_connections", c.max_connections, kConnectionsRange);
  check_range("max_frame_size", c.max_frame_size, kFrameSizeRange);
  check_range("max_pending_output", c.max_pending_output, kPendingOutputRange);
  check_range("spin_us", c.spin_us, kSpinRange);
  const uint64_t ceiling = c.max_frame_size - kFrameHeaderRoom;  // >= 3840: range checked above
  const QueueLimits& d = c.queue_defaults;
  check_range("queue_defaults.max_messages", d.max_messages, kMaxMessagesRange);
  check_range("queue_defaults.max_bytes", d.max_bytes, kMaxBytesRange);
  check_message_size("queue_defaults.max_message_size", d.max_message_size, ceiling);
  check_mode("queue_defaults.mode", d.mode);
  check_queues(c.queues, ceiling);
}

}  // namespace

std::string_view to_string(Overflow o) noexcept {
  switch (o) {
    case Overflow::reject:
      return "reject";
    case Overflow::drop_oldest:
      return "drop-oldest";
    case Overflow::drop_lowest_priority:
      return "drop-lowest-priority";
  }
  return "unknown";  // not reached: the switch names every enumerator
}

std::optional<Overflow> parse_overflow(std::string_view s) noexcept {
  for (auto o : {Overflow::reject, Overflow::drop_oldest, Overflow::drop_lowest_priority}) {
    if (s == to_string(o)) return o;
  }
  return std::nullopt;
}

Config load_file(const std::string& path, Config base) {
  return load_string(read_file(path), path, std::move(base));
}

Config load_string(const std::string& text, const std::string& origin, Config base) {
  try {
    read_top(parse_json(text), base);
    check_rules(base);
  } catch (const Problem& p) {
    throw ConfigError(origin + ": " + p.what());
  }
  return base;
}

void validate(const Config& c) {
  try {
    check_rules(c);
  } catch (const Problem& p) {
    throw ConfigError(std::string("config: ") + p.what());
  }
}

}  // namespace postbox::config
