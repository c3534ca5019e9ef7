// Process log implementation: formats one line per call and writes it unbuffered.
#include "pooler/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace apibouncer::log {
namespace {

Options g_options;
int g_file_fd = -1;

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

void configure(const Options& options) {
  g_options = options;
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
  int n =
      std::snprintf(line, sizeof line, "%04d-%02d-%02d %02d:%02d:%02d.%03d UTC [%d] %s ",
                    utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                    utc.tm_sec, static_cast<int>(tv.tv_usec / 1000), getpid(), levelName(level));
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  size_t len = n + (m < 0 ? 0 : std::min<size_t>(m, sizeof line - n - 2));
  line[len++] = '\n';
  if (g_options.to_stderr) (void)!::write(STDERR_FILENO, line, len);
  if (g_file_fd >= 0) (void)!::write(g_file_fd, line, len);
}

}  // namespace apibouncer::log
