// Per-database traffic counters (PgBouncer's SHOW STATS): plain integers bumped on the hot path
// through a reference each pool keeps, and snapshots every stats_period for the averages.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace apibouncer {

// Totals since start. Times in microseconds, as PgBouncer reports them.
struct DatabaseStats {
  uint64_t xact_count = 0;
  uint64_t query_count = 0;
  uint64_t server_assignment_count = 0;
  uint64_t bytes_received = 0;  // from clients
  uint64_t bytes_sent = 0;      // to clients
  uint64_t xact_time_us = 0;
  uint64_t query_time_us = 0;
  uint64_t wait_time_us = 0;
  uint64_t client_parse_count = 0;
  uint64_t server_parse_count = 0;
  uint64_t bind_count = 0;

  DatabaseStats& operator+=(const DatabaseStats& other);
};

// Averages over the last complete stats_period: counts and bytes per second, times per
// transaction / query / assignment.
DatabaseStats averageOver(const DatabaseStats& newer, const DatabaseStats& older,
                          double period_seconds);

class StatsRegistry {
 public:
  // The counters of `database`, created on first use. The reference stays valid for the
  // registry's lifetime (map nodes do not move), so pools keep it and bump it directly.
  DatabaseStats& forDatabase(std::string_view database);

  // Called by the pooler's upkeep; takes a snapshot once `period_ms` has passed since the last
  // and then returns true (the averages are new).
  bool maybeRoll(uint64_t now_ms, uint64_t period_ms);

  struct Row {
    const std::string* database;
    const DatabaseStats* totals;
    DatabaseStats averages;
  };
  // One row per database in name order.
  template <class Visit>
  void forEach(Visit&& visit) const {
    for (const auto& [name, entry] : entries_)
      visit(Row{&name, &entry.totals, averageOver(entry.newer, entry.older, period_seconds_)});
  }

 private:
  struct Entry {
    DatabaseStats totals;
    DatabaseStats newer;  // snapshot at the last roll
    DatabaseStats older;  // snapshot at the roll before
  };
  std::map<std::string, Entry, std::less<>> entries_;
  uint64_t last_roll_ms_ = 0;
  double period_seconds_ = 0;  // between the two snapshots
};

}  // namespace apibouncer
