// --due's time values: nanoseconds since the epoch, or RFC 3339 with its offset.
#include <charconv>
#include <chrono>
#include <limits>
#include <string>

#include "client/cli/parse.hpp"

namespace postbox::cli {

std::chrono::system_clock::time_point parse_time(std::string_view flag, std::string_view text) {
  using namespace std::chrono;
  auto bad = [&]() -> UsageError {
    return UsageError(std::string(flag) +
                      ": expected RFC 3339 (2026-12-02T10:00:00Z) or nanoseconds since the "
                      "epoch, got " +
                      "'" + std::string(text) + "'");
  };
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    uint64_t ns = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
    if (ec != std::errc() || ns > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw bad();
    return system_clock::time_point(duration_cast<system_clock::duration>(nanoseconds(ns)));
  }
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); 't', 'z' and ' ' as RFC 3339 allows.
  std::size_t at = 0;
  auto digits = [&](std::size_t n) -> int {
    if (at + n > text.size()) throw bad();
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      char ch = text[at + i];
      if (ch < '0' || ch > '9') throw bad();
      v = v * 10 + (ch - '0');
    }
    at += n;
    return v;
  };
  auto expect = [&](std::string_view one_of) {
    if (at >= text.size() || one_of.find(text[at]) == std::string_view::npos) throw bad();
    ++at;
  };
  const int year = digits(4);
  expect("-");
  const unsigned month = static_cast<unsigned>(digits(2));
  expect("-");
  const unsigned day = static_cast<unsigned>(digits(2));
  expect("Tt ");
  const int hour = digits(2);
  expect(":");
  const int minute = digits(2);
  expect(":");
  const int second = digits(2);
  nanoseconds fraction{0};
  if (at < text.size() && text[at] == '.') {
    ++at;
    std::size_t n = 0;
    int64_t scale = 1'000'000'000;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      scale /= 10;  // digits past nanoseconds are dropped
      fraction += nanoseconds((text[at] - '0') * scale);
      ++at;
      ++n;
    }
    if (n == 0) throw bad();
  }
  minutes offset{0};
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int sign = text[at] == '-' ? -1 : 1;
    ++at;
    const int oh = digits(2);
    expect(":");
    const int om = digits(2);
    if (oh > 23 || om > 59) throw bad();
    offset = minutes(sign * (oh * 60 + om));
  } else {
    throw bad();
  }
  const year_month_day date{std::chrono::year(year), std::chrono::month(month),
                            std::chrono::day(day)};
  if (at != text.size() || !date.ok() || hour > 23 || minute > 59 || second > 60) throw bad();
  // A leap second (:60) is read as the next second, as time_t would have it.
  auto t = sys_days(date) + hours(hour) + minutes(minute) + seconds(second) + fraction - offset;
  if (t.time_since_epoch().count() < 0) throw bad();
  return time_point_cast<system_clock::duration>(t);
}

}  // namespace postbox::cli
