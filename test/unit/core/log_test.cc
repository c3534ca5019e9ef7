// The process log's syslog facility names (PgBouncer's syslog_facility values).
#include <syslog.h>

#include <catch2/catch.hpp>

// <syslog.h> and log.h both define LOG_WARNING, LOG_INFO and LOG_DEBUG: take the facility
// constants above, then let log.h have the names.
namespace {
constexpr int kDaemon = LOG_DAEMON, kLocal3 = LOG_LOCAL3, kAuthpriv = LOG_AUTHPRIV;
}
#undef LOG_WARNING
#undef LOG_INFO
#undef LOG_DEBUG

#include "pooler/log.h"

using apibouncer::log::syslogFacility;

TEST_CASE("syslog_facility names map to syslog(3) facilities", "[log]") {
  CHECK(syslogFacility("daemon") == kDaemon);
  CHECK(syslogFacility("local3") == kLocal3);
  CHECK(syslogFacility("authpriv") == kAuthpriv);
  CHECK_FALSE(syslogFacility("kernel"));
  CHECK_FALSE(syslogFacility("Daemon"));
  CHECK_FALSE(syslogFacility(""));
}
