// Process log: PgBouncer-style lines ("2026-01-01 12:00:00.000 UTC [pid] LOG ...") to stderr
// and/or the logfile. Every line about a connection carries its id (see Client/ServerLink).
#pragma once

#include <cstdarg>
#include <optional>
#include <string>
#include <string_view>

namespace apibouncer::log {

enum class Level { kError, kWarning, kLog, kDebug, kNoise };

struct Options {
  std::string logfile;    // empty = no file
  bool to_stderr = true;  // false with -q or when daemonized
  int verbose = 0;        // 1 enables kDebug, 2 kNoise
  bool syslog = false;    // also to syslog(3), without the timestamp and pid prefix
  std::string syslog_ident = "pgbouncer";
  std::string syslog_facility = "daemon";  // daemon, user, auth, authpriv, local0..local7
};

// (Re)opens the logfile and the syslog connection; safe to call again (SIGHUP reopens).
void configure(const Options& options);
// The syslog(3) facility for a PgBouncer syslog_facility name; nullopt if unknown.
std::optional<int> syslogFacility(std::string_view name);
bool enabled(Level level);

[[gnu::format(printf, 2, 3)]] void write(Level level, const char* fmt, ...);

#define APB_LOG(level, ...)                                                              \
  do {                                                                                   \
    if (::apibouncer::log::enabled(level)) ::apibouncer::log::write(level, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(...) APB_LOG(::apibouncer::log::Level::kError, __VA_ARGS__)
#define LOG_WARNING(...) APB_LOG(::apibouncer::log::Level::kWarning, __VA_ARGS__)
#define LOG_INFO(...) APB_LOG(::apibouncer::log::Level::kLog, __VA_ARGS__)
#define LOG_DEBUG(...) APB_LOG(::apibouncer::log::Level::kDebug, __VA_ARGS__)
#define LOG_NOISE(...) APB_LOG(::apibouncer::log::Level::kNoise, __VA_ARGS__)

}  // namespace apibouncer::log
