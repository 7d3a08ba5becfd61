// Problem: a config error before its origin is known, and the text of every config message
// (internal).
//
// All messages have one shape, "key 'PATH': expected WHAT, got VALUE", so the
// reader and the rules build them here. The entry points of config.cpp catch
// Problems and prefix the origin ("postboxd.json: ", "config: ").
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/limits.hpp"

namespace postbox::config::detail {

/// A config error without its origin.
struct Problem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Throws "key 'path': expected `expected`, got `got`"; `got` is already text.
[[noreturn]] void fail(const std::string& path, std::string_view expected, const std::string& got);

/// "a, b, c".
std::string join(std::span<const std::string_view> words);
/// A key as it may appear in a one-line message: control bytes escaped as \xNN.
std::string printable(std::string_view key);
/// JSON text of a value, cut to 60 bytes plus "..." so no value floods a line.
std::string shown(std::string json_text);
/// `s` as a JSON string, cut like shown().
std::string quoted(std::string_view s);
/// "0" followed by the octal digits, as modes are written.
std::string octal(uint64_t mode);
/// "an integer MIN..MAX", or "an integer >= MIN" when MAX is the uint64 maximum.
std::string expected_integer(Range r);

inline constexpr std::string_view kModeExpected = "an integer 0..0777 or an octal string";
inline constexpr std::string_view kNameExpected = "1-255 bytes of [A-Za-z0-9._-]";
inline constexpr std::string_view kDeadLetterExpected =
    "a queue name (1-255 bytes of [A-Za-z0-9._-]) or \"\" for none";
inline constexpr std::string_view kOwnDeadLetterExpected =
    "the name of another queue (a queue cannot be its own dead-letter queue)";

}  // namespace postbox::config::detail
