// SHOW STATS, STATS_TOTALS, STATS_AVERAGES and TOTALS (PgBouncer's per-database counters, see
// pooler/stats.h), and apibouncer's SHOW APIS and SHOW SYNCED_TABLES.
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "pooler/admin/show_rows.h"
#include "pooler/client.h"
#include "pooler/pool.h"
#include "pooler/pooler.h"
#include "pooler/server.h"

namespace apibouncer::admin::rows {
namespace {

using StatMember = uint64_t DatabaseStats::*;
constexpr StatMember kStatMembers[] = {&DatabaseStats::xact_count,
                                       &DatabaseStats::query_count,
                                       &DatabaseStats::server_assignment_count,
                                       &DatabaseStats::bytes_received,
                                       &DatabaseStats::bytes_sent,
                                       &DatabaseStats::xact_time_us,
                                       &DatabaseStats::query_time_us,
                                       &DatabaseStats::wait_time_us,
                                       &DatabaseStats::client_parse_count,
                                       &DatabaseStats::server_parse_count,
                                       &DatabaseStats::bind_count};
constexpr std::string_view kTotalNames[] = {
    "total_xact_count",         "total_query_count", "total_server_assignment_count",
    "total_received",           "total_sent",        "total_xact_time",
    "total_query_time",         "total_wait_time",   "total_client_parse_count",
    "total_server_parse_count", "total_bind_count"};
constexpr std::string_view kAverageNames[] = {"avg_xact_count",
                                              "avg_query_count",
                                              "avg_server_assignment_count",
                                              "avg_recv",
                                              "avg_sent",
                                              "avg_xact_time",
                                              "avg_query_time",
                                              "avg_wait_time",
                                              "avg_client_parse_count",
                                              "avg_server_parse_count",
                                              "avg_bind_count"};
constexpr std::string_view kPlainNames[] = {
    "xact_count",         "query_count", "server_assignment_count",
    "bytes_received",     "bytes_sent",  "xact_time",
    "query_time",         "wait_time",   "client_parse_count",
    "server_parse_count", "bind_count"};
constexpr size_t kStatCount = std::size(kStatMembers);

// One database column then int8 counters named `names`.
ResultSet statsResult(std::initializer_list<std::span<const std::string_view>> groups) {
  std::vector<std::string_view> names = {"database"};
  for (auto group : groups) names.insert(names.end(), group.begin(), group.end());
  return ResultSet("s" + std::string(names.size() - 1, 'q'), names);
}

void appendStats(std::vector<Cell>& row, const DatabaseStats& stats) {
  for (StatMember member : kStatMembers) row.push_back(number(stats.*member));
}

}  // namespace

ResultSet showStats(Pooler& pooler) {
  ResultSet out = statsResult({kTotalNames, kAverageNames});
  pooler.stats().forEach([&out](const StatsRegistry::Row& r) {
    std::vector<Cell> row = {text(*r.database)};
    appendStats(row, *r.totals);
    appendStats(row, r.averages);
    out.addRow(std::move(row));
  });
  return out;
}

ResultSet showStatsTotals(Pooler& pooler) {
  ResultSet out = statsResult({kPlainNames});
  pooler.stats().forEach([&out](const StatsRegistry::Row& r) {
    std::vector<Cell> row = {text(*r.database)};
    appendStats(row, *r.totals);
    out.addRow(std::move(row));
  });
  return out;
}

ResultSet showStatsAverages(Pooler& pooler) {
  ResultSet out = statsResult({kPlainNames});
  pooler.stats().forEach([&out](const StatsRegistry::Row& r) {
    std::vector<Cell> row = {text(*r.database)};
    appendStats(row, r.averages);
    out.addRow(std::move(row));
  });
  return out;
}

// Every database summed, one (name, value) row per counter.
ResultSet showTotals(Pooler& pooler) {
  DatabaseStats totals, averages;
  pooler.stats().forEach([&](const StatsRegistry::Row& r) {
    totals += *r.totals;
    averages += r.averages;
  });
  ResultSet out("sq", {"name", "value"});
  for (size_t i = 0; i < kStatCount; ++i)
    out.addRow({text(kTotalNames[i]), number(totals.*kStatMembers[i])});
  for (size_t i = 0; i < kStatCount; ++i)
    out.addRow({text(kAverageNames[i]), number(averages.*kStatMembers[i])});
  return out;
}

ResultSet showApis(Pooler& pooler) {
  ResultSet out("sssqqqqqqqqqqqqqqiis", {"name",
                                         "platform",
                                         "oauth",
                                         "requests",
                                         "failed",
                                         "retries",
                                         "rate_limited",
                                         "throttled_ms",
                                         "errors_refused",
                                         "errors_auth",
                                         "errors_throttled",
                                         "errors_upstream",
                                         "errors_transport",
                                         "token_refreshes",
                                         "avg_ms",
                                         "p50_ms",
                                         "p99_ms",
                                         "last_status",
                                         "in_flight",
                                         "token_state"});
  if (pooler.interceptor() == nullptr) return out;
  for (const auto& api : pooler.interceptor()->apiStats()) {
    const auto& s = api.stats;
    out.addRow({text(api.name),
                text(api.platform),
                text(api.oauth ? "yes" : "no"),
                number(s.requests),
                number(s.failed),
                number(s.retries),
                number(s.rate_limited),
                number(s.throttled_ms),
                number(s.errors_refused),
                number(s.errors_auth),
                number(s.errors_throttled),
                number(s.errors_upstream),
                number(s.errors_transport),
                number(s.token_refreshes),
                number(s.requests > 0 ? s.total_ms / s.requests : 0),
                number(s.p50_ms),
                number(s.p99_ms),
                number(s.last_status),
                number(static_cast<int64_t>(s.in_flight)),
                text(s.token_state)});
  }
  return out;
}

ResultSet showSyncedTables(Pooler& pooler) {
  ResultSet out("ssssiiiqqqq",
                {"table", "database", "api", "object", "max_insert", "max_update", "max_delete",
                 "writes_ok", "writes_refused", "writes_partial", "writes_lost"});
  if (pooler.interceptor() == nullptr) return out;
  for (const auto& t : pooler.interceptor()->syncedTables())
    out.addRow({text(t.table), text(t.database), text(t.api), text(t.object),
                number(t.limits.insert), number(t.limits.update), number(t.limits.del),
                number(t.writes_ok), number(t.writes_refused), number(t.writes_partial),
                number(t.writes_lost)});
  return out;
}

}  // namespace apibouncer::admin::rows
