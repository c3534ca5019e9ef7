// Process log implementation: formats one line per call and writes it unbuffered.
// <syslog.h> names its priorities LOG_WARNING, LOG_INFO and LOG_DEBUG, as our log.h names its
// macros: take the priorities as constants first, then let log.h have the names.
#include <syslog.h>
namespace {
constexpr int kSyslogError = LOG_ERR, kSyslogWarning = LOG_WARNING, kSyslogNotice = LOG_NOTICE,
              kSyslogInfo = LOG_INFO, kSyslogDebug = LOG_DEBUG;
}
#undef LOG_WARNING
#undef LOG_INFO
#undef LOG_DEBUG

#include "pooler/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <utility>

namespace apibouncer::log {
namespace {

Options g_options;
int g_file_fd = -1;
std::string g_syslog_ident;  // openlog keeps the pointer: it must outlive the connection
bool g_syslog_open = false;

int syslogPriority(Level level) {
  switch (level) {
    case Level::kError:
      return kSyslogError;
    case Level::kWarning:
      return kSyslogWarning;
    case Level::kLog:
      return kSyslogInfo;
    case Level::kDebug:
    case Level::kNoise:
      return kSyslogDebug;
  }
  return kSyslogNotice;
}

void configureSyslog(const Options& options) {
  if (g_syslog_open) closelog();
  g_syslog_open = false;
  if (!options.syslog) return;
  g_syslog_ident = options.syslog_ident;
  openlog(g_syslog_ident.c_str(), LOG_PID | LOG_NDELAY,
          syslogFacility(options.syslog_facility).value_or(LOG_DAEMON));
  g_syslog_open = true;
}

const char* levelName(Level level) {
  switch (level) {
    case Level::kError:
      return "ERROR";
    case Level::kWarning:
      return "WARNING";
    case Level::kLog:
      return "LOG";
    case Level::kDebug:
      return "DEBUG";
    case Level::kNoise:
      return "NOISE";
  }
  return "LOG";
}

}  // namespace

std::optional<int> syslogFacility(std::string_view name) {
  static const std::pair<std::string_view, int> kFacilities[] = {
      {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"daemon", LOG_DAEMON},
      {"user", LOG_USER},     {"local0", LOG_LOCAL0},     {"local1", LOG_LOCAL1},
      {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},     {"local4", LOG_LOCAL4},
      {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},     {"local7", LOG_LOCAL7}};
  for (const auto& [known, facility] : kFacilities)
    if (known == name) return facility;
  return std::nullopt;
}

void configure(const Options& options) {
  g_options = options;
  configureSyslog(options);
  if (g_file_fd >= 0) close(g_file_fd);
  g_file_fd = -1;
  if (!options.logfile.empty()) {
    g_file_fd = open(options.logfile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (g_file_fd < 0) std::fprintf(stderr, "cannot open logfile %s\n", options.logfile.c_str());
  }
}

bool enabled(Level level) {
  switch (level) {
    case Level::kDebug:
      return g_options.verbose >= 1;
    case Level::kNoise:
      return g_options.verbose >= 2;
    default:
      return true;
  }
}

void write(Level level, const char* fmt, ...) {
  char line[4096];
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm utc;
  gmtime_r(&tv.tv_sec, &utc);
  // "<time> UTC [pid] " then "LEVEL message": syslog adds its own time and pid, so it gets
  // only the part from the level on.
  int level_at =
      std::snprintf(line, sizeof line, "%04d-%02d-%02d %02d:%02d:%02d.%03d UTC [%d] ",
                    utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                    utc.tm_sec, static_cast<int>(tv.tv_usec / 1000), getpid());
  int n =
      level_at + std::snprintf(line + level_at, sizeof line - level_at, "%s ", levelName(level));
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  size_t len = n + (m < 0 ? 0 : std::min<size_t>(m, sizeof line - n - 2));
  line[len++] = '\n';
  if (g_options.to_stderr) (void)!::write(STDERR_FILENO, line, len);
  if (g_file_fd >= 0) (void)!::write(g_file_fd, line, len);
  if (g_syslog_open)
    ::syslog(syslogPriority(level), "%.*s", static_cast<int>(len - 1 - level_at), line + level_at);
}

}  // namespace apibouncer::log
