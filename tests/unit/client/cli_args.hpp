// Helpers for tests of the CLI's parser: argv from words, and an invocation that must parse.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/cli/parse.hpp"

namespace postbox::cli::testing {

/// parse() on `postbox ARGS...`.
inline Parsed parse_args(std::vector<std::string> args) {
  args.insert(args.begin(), "postbox");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse(static_cast<int>(argv.size()), argv.data());
}

/// The invocation of a command line that must be valid (a test failure otherwise).
inline Invocation parse_ok(std::vector<std::string> args) {
  Parsed p = parse_args(std::move(args));
  EXPECT_TRUE(p.invocation) << p.error;
  return p.invocation.value_or(Invocation{});
}

}  // namespace postbox::cli::testing
