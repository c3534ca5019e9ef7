// The Prometheus text exposition format (version 0.0.4) of admin console result sets: the
// figures an operator's dashboards already read from SHOW POOLS / STATS_TOTALS / LISTS, plus
// apibouncer's SHOW APIS and SYNCED_TABLES, without a separate exporter. Each numeric column
// becomes a sample `<prefix>_<column>{<the row's text columns as labels>} value`. Pure.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "pooler/admin/result_set.h"

namespace apibouncer::metrics {

// Appends the samples of `rows` to `out`, each metric preceded once by its # TYPE line
// (`counter` when `counters` is true, else `gauge`).
// Columns named in `ignored` are left out (text that changes all the time, such as a token's
// remaining lifetime, would make a new series at every scrape).
void appendResultSet(std::string& out, std::string_view prefix, const admin::ResultSet& rows,
                     bool counters, std::initializer_list<std::string_view> ignored = {});

// A label value escaped as the format requires (backslash, double quote, newline).
std::string escapeLabel(std::string_view value);
// A metric or label name made of [a-zA-Z0-9_] (anything else becomes '_').
std::string metricName(std::string_view text);

}  // namespace apibouncer::metrics
