// Stand-in for bench.cpp until `postbox bench` is implemented: the subcommand exists but fails.
#include <cstdio>

#include "client/cli/bench.hpp"

namespace postbox::cli {

void add_bench_options(CLI::App&) {}

int run_bench(const GlobalOptions&) {
  std::fputs("postbox: bench is not implemented in this build\n", stderr);
  return 1;
}

}  // namespace postbox::cli
