// The publish/subscribe subcommands: bindings, subscribe, request and respond (publish lives
// with send in commands.cpp, whose input handling it shares).
#include <signal.h>

#include <cstdio>
#include <optional>

#include "client/cli/commands.hpp"
#include "client/cli/exit_status.hpp"
#include "client/cli/output.hpp"
#include "client/cli/stdout.hpp"
#include "client/cli/stop_signals.hpp"
#include "client/cli/worker_job.hpp"
#include "postbox/responder.hpp"

extern char** environ;

namespace postbox::cli {

// bind QUEUE PATTERN | unbind QUEUE PATTERN
//
// Binding twice, or unbinding what is not bound, is no failure: the output says so.
int run_bind(Client& client, const Invocation& inv) {
  const bool bind = inv.command == Command::bind;
  const bool changed =
      bind ? client.bind(inv.queue, inv.pattern) : client.unbind(inv.queue, inv.pattern);
  print_line(inv.global.json ? bind_json(bind, changed)
                             : bind_text(bind, changed, inv.queue, inv.pattern));
  return kExitOk;
}

// bindings [QUEUE]
int run_bindings(Client& client, const Invocation& inv) {
  const Bindings b = client.bindings(
      inv.queue.empty() ? std::nullopt : std::optional<std::string_view>(inv.queue));
  if (inv.global.json)
    print_line(bindings_json(b));
  else
    print(bindings_text(b));
  return kExitOk;
}

// subscribe PATTERN...
//
// A temporary queue bound to the patterns, streamed as `consume` streams;
// SIGINT/SIGTERM end it with status 0, and the queue goes with the connection.
int run_subscribe(Client& client, const Invocation& inv) {
  const std::string queue = client.subscription_queue(inv.patterns);
  return consume_printing(client, inv, queue, {}, std::nullopt);
}

// request TARGET [PAYLOAD] [--timeout MS] [--queue | --topic] [--type N] [--priority P]
//         [--header KEY=VALUE]...
//
// Prints the reply as recv prints a message; no reply in time is status 3,
// no queue of that name and nobody bound to the topic is status 5 at once.
int run_request(Client& client, const Invocation& inv) {
  SendArgs input;
  input.payload = inv.request.payload;
  const std::optional<Message> reply =
      client.request(inv.queue, payload_of(input), inv.request.options);
  if (!reply)
    throw Error(Errc::no_message, "no reply to the request to '" + inv.queue + "' within " +
                                      std::to_string(inv.request.options.timeout.count()) + " ms");
  print_messages(inv, {*reply});
  return kExitOk;
}

// respond (PATTERN... | --queue QUEUE) -- COMMAND [ARGS...]
//
// One request at a time (ack, prefetch 1: responders sharing a queue take
// turns, and what a crash interrupts is delivered again). COMMAND gets the
// payload on stdin and the worker's environment; exit 0 replies with its
// stdout, anything else sends no reply (the requester times out) and says so
// on stderr. SIGINT/SIGTERM: the request in hand is finished, then status 0.
int run_respond(Client& client, const Invocation& inv) {
  ensure_standard_descriptors();
  ::signal(SIGPIPE, SIG_IGN);  // a COMMAND that does not read its stdin must not kill us
  install_stop_handlers();
  const RespondArgs& a = inv.respond;
  const std::string queue = a.patterns.empty() ? inv.queue : client.subscription_queue(a.patterns);
  const JobEnvironment env(
      environ, inv.global.socket.empty() ? std::nullopt : std::optional(inv.global.socket), queue);

  ResponderOptions options;
  options.consume.ack = true;
  options.consume.prefetch = 1;
  options.loop.stop = &stop_flag();
  auto handler = [&](const Message& m) -> std::optional<Response> {
    CapturedRun run = run_captured(a.command, env.for_message(m), m.payload);
    if (run.status == 0) return Response(std::move(run.out));
    std::fprintf(stderr, "postbox: %s exited with status %d for message %llu; no reply sent\n",
                 a.command.front().c_str(), run.status, static_cast<unsigned long long>(m.id));
    return std::nullopt;
  };
  try {
    run_responder(client, queue, handler, options);
  } catch (const Error& e) {
    if (stop_flag().load() && e.errc() == Errc::shutting_down) return kExitOk;
    throw;
  }
  return kExitOk;
}

}  // namespace postbox::cli
