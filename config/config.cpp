// The public face of config/: Overflow names, load_file(), load_string(), validate().
//
// Loading happens in two passes: read_json() checks each key's type and range
// as it copies it into the Config (so errors can quote the file's own text),
// then detail::check_rules() checks the whole result, including rules across keys.
// validate() runs the second pass alone, for Configs changed by flags. Errors
// inside are Problems without an origin; the functions here add it.
#include "config/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/json_reader.hpp"
#include "config/problem.hpp"
#include "config/rules.hpp"

namespace postbox::config {
namespace {

/// A config file is a few KiB; this only stops a mistaken /dev/zero.
constexpr std::size_t kMaxFileSize = 4u << 20;

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

}  // namespace

std::string_view to_string(Overflow o) noexcept {
  switch (o) {
    case Overflow::reject:
      return "reject";
    case Overflow::drop_new:
      return "drop-new";
    case Overflow::drop_oldest:
      return "drop-oldest";
    case Overflow::drop_lowest_priority:
      return "drop-lowest-priority";
  }
  return "unknown";  // not reached: the switch names every enumerator
}

std::optional<Overflow> parse_overflow(std::string_view s) noexcept {
  for (auto o : {Overflow::reject, Overflow::drop_new, Overflow::drop_oldest,
                 Overflow::drop_lowest_priority}) {
    if (s == to_string(o)) return o;
  }
  return std::nullopt;
}

std::string_view to_string(Fsync f) noexcept {
  switch (f) {
    case Fsync::always:
      return "always";
    case Fsync::interval:
      return "interval";
    case Fsync::never:
      return "never";
  }
  return "unknown";
}

std::optional<Fsync> parse_fsync(std::string_view s) noexcept {
  for (auto f : {Fsync::always, Fsync::interval, Fsync::never}) {
    if (s == to_string(f)) return f;
  }
  return std::nullopt;
}

Config load_file(const std::string& path, Config base) {
  return load_string(read_file(path), path, std::move(base));
}

Config load_string(const std::string& text, const std::string& origin, Config base) {
  try {
    detail::read_json(text, base);
    detail::check_rules(base);
  } catch (const detail::Problem& p) {
    throw ConfigError(origin + ": " + p.what());
  }
  return base;
}

void validate(const Config& c) {
  try {
    detail::check_rules(c);
  } catch (const detail::Problem& p) {
    throw ConfigError(std::string("config: ") + p.what());
  }
}

}  // namespace postbox::config
