// Reading what `strace -f -o FILE` wrote: one entry per system call, in the order the calls
// started, with "<unfinished ...>" / "<... resumed>" halves (two threads at once) joined.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
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
    static const std::regex tail(R"(, (\d+), (\d+)$)");
    std::smatch m;
    if (!std::regex_search(args, m, tail)) return std::nullopt;
    return std::pair{std::stoll(m[1]), std::stoll(m[2])};
  }
};

/// The calls in `path` (written with -f, so each line starts with a tid).
inline std::vector<TracedCall> read_strace_log(const std::string& path) {
  static const std::regex whole(R"(^(\d+) +(\w+)\((.*)\) += (.*)$)");
  static const std::regex unfinished(R"(^(\d+) +(\w+)\((.*) <unfinished \.\.\.>$)");
  static const std::regex resumed(R"(^(\d+) +<\.\.\. (\w+) resumed>(.*)\) += (.*)$)");
  std::vector<TracedCall> calls;
  std::map<long, std::size_t> open;  // tid -> its unfinished call
  std::ifstream in(path);
  std::string line;
  std::smatch m;
  const auto finish = [](TracedCall& c, const std::string& result) {
    c.result = result;
    c.injected = result.find("(INJECTED)") != std::string::npos;
  };
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, resumed)) {
      const auto it = open.find(std::stol(m[1]));
      if (it == open.end()) continue;
      calls[it->second].args += m[3].str();
      finish(calls[it->second], m[4]);
      open.erase(it);
    } else if (std::regex_match(line, m, unfinished)) {
      calls.push_back({std::stol(m[1]), m[2], m[3], "", false});
      open[calls.back().tid] = calls.size() - 1;
    } else if (std::regex_match(line, m, whole)) {
      calls.push_back({std::stol(m[1]), m[2], m[3], "", false});
      finish(calls.back(), m[4]);
    }
  }
  return calls;
}

}  // namespace postbox::testing
