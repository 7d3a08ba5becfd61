// postbox: parse the command line, run the subcommand, exit with its status.
#include <cstdio>

#include "client/cli/commands.hpp"
#include "client/cli/parse.hpp"

int main(int argc, char** argv) {
  auto parsed = postbox::cli::parse(argc, argv);
  std::fputs(parsed.output.c_str(), stdout);
  std::fputs(parsed.error.c_str(), stderr);
  if (!parsed.invocation) return parsed.exit_status;
  return postbox::cli::run(*parsed.invocation);
}
