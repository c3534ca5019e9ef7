// The admin console's command table: SHOW (and SELECT, as PgBouncer) dispatch to
// show_commands.h, the rest are the actions (PAUSE, RESUME, RELOAD, SET, KILL, SHUTDOWN, ...).
// Permissions as PgBouncer: stats_users may only SHOW (not SHOW FDS); admin_users anything.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace apibouncer {
class Pooler;
}

namespace apibouncer::admin {

class AdminSession;

struct Outcome {
  std::string bytes;            // the answer without its ReadyForQuery
  bool ready = true;            // false: no ReadyForQuery now (waiting, or shutting down)
  bool wait = false;            // the answer comes later (AdminSession::complete)
  std::function<void()> after;  // runs once `bytes` are on their way (SHUTDOWN)
};

Outcome runCommand(AdminSession& session, std::string_view query);

// ERROR 08P01 with `message`, as PgBouncer's admin_error.
std::string consoleError(std::string_view message, std::string_view sqlstate = "08P01");

// Pooler upkeep: answers PAUSE / WAIT_CLOSE commands whose condition now holds.
void answerFinishedWaits(Pooler& pooler);

// SIGUSR1 / SIGUSR2: PAUSE and RESUME of every database, without a console to answer.
// resumeAll also ends a SUSPEND.
void pauseAll(Pooler& pooler);
void resumeAll(Pooler& pooler);

}  // namespace apibouncer::admin
