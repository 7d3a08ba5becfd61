// postboxd: parse flags → load config → run the broker → exit status.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "broker/broker.hpp"
#include "broker/exit_status.hpp"
#include "broker/logging.hpp"
#include "config/config.hpp"
#include "config/paths.hpp"

namespace {

using postbox::broker::ExitStatus;

struct Flags {
  std::optional<std::string> config_file;
  std::optional<std::string> socket;
  std::optional<std::string> data_dir;
  std::optional<std::string> fsync;
  std::optional<uint32_t> fsync_interval_ms;
  std::optional<uint64_t> segment_size;
  std::optional<uint64_t> disk_free_limit;
  std::optional<std::string> log_level;
  std::optional<uint32_t> spin_us;
};

postbox::config::Config load_config(const Flags& f) {
  postbox::config::Config c;
  if (f.config_file) c = postbox::config::load_file(*f.config_file);
  if (f.socket) c.socket_path = *f.socket;
  if (f.data_dir) c.data_dir = *f.data_dir;
  if (f.fsync) {
    auto policy = postbox::config::parse_fsync(*f.fsync);
    if (!policy) {
      throw postbox::config::ConfigError("--fsync: expected always, interval or never, got '" +
                                         *f.fsync + "'");
    }
    c.fsync = *policy;
  }
  if (f.fsync_interval_ms) c.fsync_interval_ms = *f.fsync_interval_ms;
  if (f.segment_size) c.segment_size = *f.segment_size;
  if (f.disk_free_limit) c.disk_free_limit = *f.disk_free_limit;
  if (f.log_level) c.log_level = *f.log_level;
  if (f.spin_us) c.spin_us = *f.spin_us;
  if (c.socket_path.empty()) c.socket_path = postbox::config::default_socket_path();
  if (c.data_dir.empty()) c.data_dir = postbox::config::default_data_dir();
  postbox::config::validate(c);
  return c;
}

int fail(ExitStatus status, const std::string& what) {
  std::fprintf(stderr, "postboxd: %s\n", what.c_str());
  return static_cast<int>(status);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"postboxd: the postbox message broker"};
  app.set_version_flag("--version", "postboxd " POSTBOX_VERSION);
  app.add_option("--config", flags.config_file, "JSON configuration file (comments allowed)");
  app.add_option("--socket", flags.socket, "Unix socket path (overrides the file)");
  app.add_option("--data-dir", flags.data_dir, "directory for durable queues");
  app.add_option("--fsync", flags.fsync,
                 "when durable changes reach the disk: always (default), interval, never");
  app.add_option("--fsync-interval-ms", flags.fsync_interval_ms,
                 "with --fsync interval: fdatasync this often (default 1000)");
  app.add_option("--segment-size", flags.segment_size,
                 "bytes per durable log segment (default 64 MiB)");
  app.add_option("--disk-free-limit", flags.disk_free_limit,
                 "refuse durable sends while the data directory's file system has less free "
                 "(bytes; default 64 MiB, 0: never)");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error, critical, off");
  app.add_option("--spin-us", flags.spin_us,
                 "busy-poll this many µs after activity before blocking");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ExitStatus::usage);
  }

  postbox::config::Config cfg;
  try {
    cfg = load_config(flags);
  } catch (const postbox::config::ConfigError& e) {
    return fail(ExitStatus::config, e.what());
  }
  postbox::broker::setup_logging(cfg.log_level);
  // Writes to a vanished client must fail with EPIPE, not kill the broker.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    auto broker = std::make_unique<postbox::broker::Broker>(std::move(cfg));
    broker->run();
    // Shutdown is under way: a repeated SIGTERM (systemd, a test harness)
    // must not kill the teardown, and destroying the signal_set restores the
    // default action. Blocked, later signals stay pending and die with us.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    broker.reset();
  } catch (const postbox::broker::StartupError& e) {
    return fail(e.status, e.what());
  } catch (const std::exception& e) {
    return fail(ExitStatus::failure, e.what());
  }
  return static_cast<int>(ExitStatus::ok);
}
