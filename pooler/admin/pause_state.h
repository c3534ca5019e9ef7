// What the admin console (and SIGUSR1/SIGUSR2) switched off: PAUSE (all or one database),
// SUSPEND, DISABLE, RECONNECT marks, and the console sessions waiting for a PAUSE or WAIT_CLOSE to
// finish. Owned by the Pooler; pools ask it before handing out or opening server links.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace apibouncer::admin {

class AdminSession;

struct PauseState {
  bool all_paused = false;
  // SUSPEND: pooled clients and server links read nothing and no connection is accepted
  // until RESUME (Pooler::suspend); since `suspended_at_ms`, for suspend_timeout.
  bool suspended = false;
  uint64_t suspended_at_ms = 0;
  std::set<std::string, std::less<>> paused_databases;
  std::set<std::string, std::less<>> disabled_databases;
  // RECONNECT / WAIT_CLOSE: links of a database created at or before this loop time close
  // once their client lets go of them.
  std::map<std::string, uint64_t, std::less<>> retire_before_ms;

  bool paused(std::string_view database) const {
    return all_paused || paused_databases.contains(database);
  }
  bool disabled(std::string_view database) const { return disabled_databases.contains(database); }
  uint64_t retireBefore(std::string_view database) const {
    auto it = retire_before_ms.find(database);
    return it == retire_before_ms.end() ? 0 : it->second;
  }

  // A console command that answers once `done()` holds (checked by the pooler's upkeep).
  struct Waiter {
    AdminSession* session;
    std::string tag;  // the CommandComplete tag: "PAUSE", "SUSPEND", "WAIT_CLOSE"
    std::function<bool()> done;
  };
  std::vector<Waiter> waiters;
};

}  // namespace apibouncer::admin
