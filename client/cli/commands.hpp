// One function per postbox subcommand; run() picks one and turns failures into the exit status.
#pragma once

#include "client/cli/parse.hpp"
#include "postbox/client.hpp"

namespace postbox::cli {

/// Connects, runs the invocation's command and returns the exit status;
/// results go to stdout, a failure is one line on stderr.
int run(const Invocation& inv);

// Each command returns its exit status; postbox::Error escapes to run().
int run_declare(Client& client, const Invocation& inv);
int run_delete(Client& client, const Invocation& inv);
int run_purge(Client& client, const Invocation& inv);
int run_list(Client& client, const Invocation& inv);
int run_stat(Client& client, const Invocation& inv);
int run_send(Client& client, const Invocation& inv);
int run_recv(Client& client, const Invocation& inv);
// Job commands (jobs_commands.cpp).
int run_settle(Client& client, const Invocation& inv);  // ack, nack, touch, reject
int run_move(Client& client, const Invocation& inv);
int run_consume(Client& client, const Invocation& inv);

}  // namespace postbox::cli
