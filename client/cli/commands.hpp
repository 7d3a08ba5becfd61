// One function per postbox subcommand; run() picks one and turns failures into the exit status.
#pragma once

#include <optional>
#include <string>

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
int run_status(Client& client, const Invocation& inv);
int run_send(Client& client, const Invocation& inv);
int run_recv(Client& client, const Invocation& inv);
// Job commands (jobs_commands.cpp).
int run_settle(Client& client, const Invocation& inv);  // ack, nack, touch, reject
int run_move(Client& client, const Invocation& inv);
int run_consume(Client& client, const Invocation& inv);
int run_publish(Client& client, const Invocation& inv);
// Publish/subscribe commands (topics_commands.cpp).
int run_bind(Client& client, const Invocation& inv);  // bind, unbind
int run_bindings(Client& client, const Invocation& inv);
int run_subscribe(Client& client, const Invocation& inv);
int run_request(Client& client, const Invocation& inv);
int run_respond(Client& client, const Invocation& inv);

/// send's and publish's payload: PAYLOAD, else the whole of --file or stdin.
std::string payload_of(const SendArgs& a);
/// Consumes `queue` with `options` and prints each message until a stop
/// signal or `limit` (consume, subscribe); see run_consume().
int consume_printing(Client& client, const Invocation& inv, const std::string& queue,
                     const ConsumeOptions& options, std::optional<uint64_t> limit);

}  // namespace postbox::cli
