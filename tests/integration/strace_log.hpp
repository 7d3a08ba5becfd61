// Reading what `strace -f -o FILE` wrote: one entry per system call, in the order the calls
// started, with "<unfinished ...>" / "<... resumed>" halves (two threads at once) joined.
// Parsed by hand: std::regex trips g++ 12's -Wmaybe-uninitialized under the sanitizers.
#pragma once

#include <cctype>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postbox::testing {

struct TracedCall {
  long tid = 0;
  std::string name;       // "pwrite64", "fdatasync"
  std::string args;       // as strace printed them, without the parentheses
  std::string result;     // "110", "-1 EIO (Input/output error) (INJECTED)"; "" if unfinished
  bool injected = false;  // strace tampered with it
  /// The return value (-1 for errors); nullopt while unfinished.
  std::optional<long long> ret() const {
    if (result.empty()) return std::nullopt;
    return std::stoll(result);
  }
  /// pwrite64's last two arguments: the count and the offset.
  std::optional<std::pair<long long, long long>> count_and_offset() const {
    const auto last = args.rfind(", ");
    if (last == std::string::npos || last == 0) return std::nullopt;
    const auto before = args.rfind(", ", last - 1);
    if (before == std::string::npos) return std::nullopt;
    const std::string count = args.substr(before + 2, last - before - 2);
    const std::string offset = args.substr(last + 2);
    const auto digits = [](const std::string& s) {
      if (s.empty()) return false;
      for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      return true;
    };
    if (!digits(count) || !digits(offset)) return std::nullopt;
    return std::pair{std::stoll(count), std::stoll(offset)};
  }
};

namespace strace_log_detail {

/// Splits "ARGS) = RESULT" (spaces allowed before '=') at its last such point.
inline bool split_result(const std::string& s, std::string& before, std::string& result) {
  for (std::size_t i = s.size() >= 2 ? s.size() - 2 : 0; i > 0; --i) {
    if (s[i] != '=' || s[i + 1] != ' ') continue;
    std::size_t j = i;
    while (j > 0 && s[j - 1] == ' ') --j;
    if (j == 0 || s[j - 1] != ')') continue;
    before = s.substr(0, j - 1);
    result = s.substr(i + 2);
    return true;
  }
  return false;
}

}  // namespace strace_log_detail

/// The calls in `path` (written with -f, so each line starts with a tid).
inline std::vector<TracedCall> read_strace_log(const std::string& path) {
  using strace_log_detail::split_result;
  constexpr std::string_view kUnfinished = " <unfinished ...>";
  std::vector<TracedCall> calls;
  std::map<long, std::size_t> open;  // tid -> its unfinished call
  std::ifstream in(path);
  std::string line;
  const auto finish = [](TracedCall& c, std::string result) {
    c.injected = result.find("(INJECTED)") != std::string::npos;
    c.result = std::move(result);
  };
  while (std::getline(in, line)) {
    std::size_t p = 0;
    while (p < line.size() && std::isdigit(static_cast<unsigned char>(line[p]))) ++p;
    if (p == 0) continue;
    const long tid = std::stol(line.substr(0, p));
    while (p < line.size() && line[p] == ' ') ++p;
    const std::string rest = line.substr(p);
    std::string args, result;
    if (rest.rfind("<... ", 0) == 0) {  // "<... NAME resumed>ARGS) = RESULT"
      const auto end = rest.find(" resumed>");
      const auto it = open.find(tid);
      if (end == std::string::npos || it == open.end()) continue;
      if (!split_result(rest.substr(end + 9), args, result)) continue;
      calls[it->second].args += args;
      finish(calls[it->second], result);
      open.erase(it);
      continue;
    }
    std::size_t n = 0;
    while (n < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[n])) || rest[n] == '_'))
      ++n;
    if (n == 0 || n >= rest.size() || rest[n] != '(') continue;  // signals, exits
    TracedCall call{tid, rest.substr(0, n), "", "", false};
    const std::string tail = rest.substr(n + 1);
    if (tail.size() >= kUnfinished.size() &&
        tail.compare(tail.size() - kUnfinished.size(), kUnfinished.size(), kUnfinished) == 0) {
      call.args = tail.substr(0, tail.size() - kUnfinished.size());
      calls.push_back(std::move(call));
      open[tid] = calls.size() - 1;
    } else if (split_result(tail, args, result)) {
      call.args = std::move(args);
      finish(call, std::move(result));
      calls.push_back(std::move(call));
    }
  }
  return calls;
}

}  // namespace postbox::testing
