// Per-database counters and their periodic averages (see stats.h).
#include "pooler/stats.h"

namespace apibouncer {

DatabaseStats& DatabaseStats::operator+=(const DatabaseStats& o) {
  xact_count += o.xact_count;
  query_count += o.query_count;
  server_assignment_count += o.server_assignment_count;
  bytes_received += o.bytes_received;
  bytes_sent += o.bytes_sent;
  xact_time_us += o.xact_time_us;
  query_time_us += o.query_time_us;
  wait_time_us += o.wait_time_us;
  client_parse_count += o.client_parse_count;
  server_parse_count += o.server_parse_count;
  bind_count += o.bind_count;
  return *this;
}

DatabaseStats averageOver(const DatabaseStats& newer, const DatabaseStats& older,
                          double period_seconds) {
  DatabaseStats avg;
  if (period_seconds <= 0) return avg;
  auto rate = [&](uint64_t DatabaseStats::*member) {
    return static_cast<uint64_t>(static_cast<double>(newer.*member - older.*member) /
                                 period_seconds);
  };
  auto per = [&](uint64_t DatabaseStats::*time, uint64_t DatabaseStats::*count) -> uint64_t {
    uint64_t n = newer.*count - older.*count;
    return n > 0 ? (newer.*time - older.*time) / n : 0;
  };
  avg.xact_count = rate(&DatabaseStats::xact_count);
  avg.query_count = rate(&DatabaseStats::query_count);
  avg.server_assignment_count = rate(&DatabaseStats::server_assignment_count);
  avg.bytes_received = rate(&DatabaseStats::bytes_received);
  avg.bytes_sent = rate(&DatabaseStats::bytes_sent);
  avg.client_parse_count = rate(&DatabaseStats::client_parse_count);
  avg.server_parse_count = rate(&DatabaseStats::server_parse_count);
  avg.bind_count = rate(&DatabaseStats::bind_count);
  avg.xact_time_us = per(&DatabaseStats::xact_time_us, &DatabaseStats::xact_count);
  avg.query_time_us = per(&DatabaseStats::query_time_us, &DatabaseStats::query_count);
  avg.wait_time_us = per(&DatabaseStats::wait_time_us, &DatabaseStats::server_assignment_count);
  return avg;
}

DatabaseStats& StatsRegistry::forDatabase(std::string_view database) {
  auto it = entries_.find(database);
  if (it == entries_.end()) it = entries_.emplace(std::string(database), Entry{}).first;
  return it->second.totals;
}

bool StatsRegistry::maybeRoll(uint64_t now_ms, uint64_t period_ms) {
  if (last_roll_ms_ == 0) {
    last_roll_ms_ = now_ms;
    return false;
  }
  if (period_ms == 0 || now_ms - last_roll_ms_ < period_ms) return false;
  period_seconds_ = static_cast<double>(now_ms - last_roll_ms_) / 1000.0;
  last_roll_ms_ = now_ms;
  for (auto& [name, entry] : entries_) {
    entry.older = entry.newer;
    entry.newer = entry.totals;
  }
  return true;
}

}  // namespace apibouncer
