// The job subcommands: settling leases by tag, move, and consume (a push consumer).
#include <cstdio>

#include "client/cli/commands.hpp"
#include "client/cli/exit_status.hpp"
#include "client/cli/output.hpp"
#include "client/cli/stdout.hpp"
#include "client/cli/stop_signals.hpp"
#include "postbox/consumer.hpp"

namespace postbox::cli {

// ack TAG... | nack TAG... [--delay MS] [--priority P] | touch TAG... [--lease MS] | reject TAG...
//
// One request for all the tags. Tags that named no lease fail with
// no_such_lease (exit 10) after the others were settled.
int run_settle(Client& client, const Invocation& inv) {
  const SettleArgs& a = inv.settle;
  std::vector<uint64_t> missing;
  switch (inv.command) {
    case Command::ack:
      missing = client.ack(a.tags);
      break;
    case Command::nack:
      missing = client.nack(a.tags, a.nack);
      break;
    case Command::touch:
      missing = client.touch(a.tags, a.lease);
      break;
    case Command::reject:
      missing = client.reject(a.tags);
      break;
    default:
      throw LocalError("not a settle command");
  }
  if (!missing.empty())
    throw Error(Errc::no_such_lease, missing_leases_text(missing, a.tags.size()));
  if (inv.global.json) print_line("{\"settled\":" + std::to_string(a.tags.size()) + "}");
  return kExitOk;
}

// move SOURCE DEST [--count N] [--type N]
//
// When DEST refused a message (full, or the message too big for it) the
// move stops there: what moved is printed, then the refusal is the failure
// (queue full: 4, too big: 9), so a script knows messages were left behind.
int run_move(Client& client, const Invocation& inv) {
  const MoveResult r = client.move(inv.queue, inv.move.destination, inv.move.options);
  print_line(inv.global.json ? move_json(r) : move_text(r, inv.queue, inv.move.destination));
  if (r.stopped.empty()) return kExitOk;
  std::string why = "move stopped early: queue '" + inv.move.destination + "' refused a message (" +
                    r.stopped + "); it and the rest stay in '" + inv.queue + "'";
  for (Errc code : {Errc::queue_full, Errc::too_big})
    if (r.stopped == to_string(code)) throw Error(code, why);
  throw Error(Errc::internal_error, why);
}

// consume QUEUE [--type N] [--except] [--ack] [--prefetch K] [--lease MS] [--count N]
//
// Prints messages as recv --follow does. With --ack (or --count) each is
// acknowledged once printed, so what a crash interrupts goes back to the
// queue. SIGINT/SIGTERM cancel the consumer and end with status 0; without
// --ack what the broker pushed before the cancel is still printed, with --ack
// what was not printed is returned to the queue.
int run_consume(Client& client, const Invocation& inv) {
  return consume_printing(client, inv, inv.queue, inv.consume.options, inv.consume.count);
}

int consume_printing(Client& client, const Invocation& inv, const std::string& queue,
                     const ConsumeOptions& options, std::optional<uint64_t> limit) {
  install_stop_handlers();  // no half-close: run_consumer cancels the consumer itself
  ConsumerLoopOptions loop;
  loop.stop = &stop_flag();
  loop.limit = limit;
  ConsumerSummary summary;
  try {
    summary = run_consumer(
        client, queue, options,
        [&](const Message& m) {
          print_message(inv, m);
          std::fflush(stdout);
          return Outcome::ack();
        },
        loop);
  } catch (const Error& e) {
    // The broker stopping while we were being stopped anyway is no failure.
    if (stop_flag().load() && e.errc() == Errc::shutting_down) return kExitOk;
    throw;
  }
  print_messages(inv, summary.unhandled);
  if (!summary.missing.empty())
    throw Error(Errc::no_such_lease, missing_leases_text(summary.missing, summary.acked) +
                                         ": their leases expired while printing, so they will "
                                         "be delivered again");
  return kExitOk;
}

}  // namespace postbox::cli
