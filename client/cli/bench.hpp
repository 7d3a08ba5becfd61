// The hook for `postbox bench`: its options and entry point, implemented in bench.cpp.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace postbox::cli {

struct GlobalOptions;

/// Adds bench's own flags to the `bench` subcommand; called while the parser
/// is built. The options are kept by bench.cpp.
void add_bench_options(CLI::App& bench);
/// Runs `postbox bench` after parsing; returns the exit status.
int run_bench(const GlobalOptions& global);

}  // namespace postbox::cli
