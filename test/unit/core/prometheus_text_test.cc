// Admin console result sets as Prometheus text: numeric columns become samples, text columns
// their labels, escaped as the exposition format requires.
#include <catch2/catch.hpp>

#include "pooler/metrics/prometheus_text.h"

using namespace apibouncer;

TEST_CASE("numeric columns become samples labelled by the text columns", "[metrics]") {
  admin::ResultSet pools("ssiq", {"database", "user", "cl_active", "maxwait_us"});
  pools.addRow(
      {admin::text("app"), admin::text("alice"), admin::number(3), admin::number(int64_t{1500})});
  pools.addRow({admin::text("we\"ird\\db\n"), admin::text("bob"), admin::number(0), std::nullopt});
  std::string out;
  metrics::appendResultSet(out, "apibouncer_pools", pools, false);
  CHECK(out ==
        "# TYPE apibouncer_pools_cl_active gauge\n"
        "apibouncer_pools_cl_active{database=\"app\",user=\"alice\"} 3\n"
        "apibouncer_pools_cl_active{database=\"we\\\"ird\\\\db\\n\",user=\"bob\"} 0\n"
        "# TYPE apibouncer_pools_maxwait_us gauge\n"
        "apibouncer_pools_maxwait_us{database=\"app\",user=\"alice\"} 1500\n");
}

TEST_CASE("counters, names made safe, and rows without labels", "[metrics]") {
  admin::ResultSet totals("q", {"total xact-count"});
  totals.addRow({admin::number(int64_t{42})});
  std::string out;
  metrics::appendResultSet(out, "apibouncer", totals, true);
  CHECK(out == "# TYPE apibouncer_total_xact_count counter\napibouncer_total_xact_count 42\n");
  CHECK(metrics::metricName("9lives") == "_9lives");
}

TEST_CASE("ignored columns make neither labels nor samples", "[metrics]") {
  admin::ResultSet apis("ssq", {"name", "token_state", "requests"});
  apis.addRow({admin::text("crm"), admin::text("oauth: valid 1740 s"), admin::number(int64_t{7})});
  std::string out;
  metrics::appendResultSet(out, "apibouncer_api", apis, false, {"token_state"});
  CHECK(out == "# TYPE apibouncer_api_requests gauge\napibouncer_api_requests{name=\"crm\"} 7\n");
}
