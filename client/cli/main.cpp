// postbox: parse the command line, run the subcommand, exit with its status.
#include <cstdio>

#include "client/cli/commands.hpp"
#include "client/cli/parse.hpp"
#include "client/cli/worker.hpp"

int main(int argc, char** argv) {
  // `worker` parses its own command line: what follows its `--` belongs to COMMAND.
  if (auto status = postbox::cli::run_worker_if_invoked(argc, argv)) return *status;
  auto parsed = postbox::cli::parse(argc, argv);
  std::fputs(parsed.output.c_str(), stdout);
  std::fputs(parsed.error.c_str(), stderr);
  if (!parsed.invocation) return parsed.exit_status;
  return postbox::cli::run(*parsed.invocation);
}
