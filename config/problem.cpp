// The text of config messages: see problem.hpp.
#include "config/problem.hpp"

#include <nlohmann/json.hpp>

namespace postbox::config::detail {

void fail(const std::string& path, std::string_view expected, const std::string& got) {
  throw Problem("key '" + printable(path) + "': expected " + std::string(expected) + ", got " +
                got);
}

std::string join(std::span<const std::string_view> words) {
  std::string out;
  for (auto w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

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

std::string shown(std::string json_text) {
  constexpr std::size_t kMaxShown = 60;
  if (json_text.size() > kMaxShown) json_text = json_text.substr(0, kMaxShown) + "...";
  return json_text;
}

std::string quoted(std::string_view s) {
  using Json = nlohmann::json;
  return shown(Json(s).dump(-1, ' ', false, Json::error_handler_t::replace));
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

}  // namespace postbox::config::detail
