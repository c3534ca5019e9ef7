// The built-in Prometheus endpoint ([apibouncer] metrics_port): scraped with curl as Prometheus
// would, its samples are the admin console's figures (pools, stats totals, lists, APIs, synced
// tables) and follow what clients do.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>

#include "fakeapi_fixture.h"
#include "fixture.h"

using namespace itest;

namespace {

// Sample line "name{labels} value" -> value, for every sample of the scrape.
std::map<std::string, double> scrape(int port, std::string& text) {
  int status = -1;
  text = runCommand("curl -s -f http://127.0.0.1:" + std::to_string(port) + "/metrics", status);
  REQUIRE(status == 0);
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  const std::regex sample(R"(^([a-zA-Z_][a-zA-Z0-9_]*(\{[^}]*\})?) (-?[0-9.]+)$)");
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::smatch match;
    INFO(line);
    REQUIRE(std::regex_match(line, match, sample));  // every line parses
    samples[match[1].str()] = std::stod(match[3].str());
  }
  return samples;
}

}  // namespace

TEST_CASE("metrics: /metrics serves the console's figures in Prometheus text", "[metrics]") {
  int port = freePort();
  PoolerProcess pooler(
      PoolerConfig{"", "[apibouncer]\nmetrics_port = " + std::to_string(port) + "\n", "", true});
  Conn conn = connectOk(pooler);
  for (int i = 0; i < 5; ++i) CHECK(queryValue(conn.get(), "SELECT 1") == "1");

  std::string text;
  auto samples = scrape(port, text);
  INFO(text);
  CHECK(text.find("# TYPE apibouncer_pools_cl_active gauge") != std::string::npos);
  bool pool_row = false;
  for (const auto& [name, value] : samples)
    if (name.rfind("apibouncer_pools_cl_active{", 0) == 0 &&
        name.find("database=\"app\"") != std::string::npos &&
        name.find("user=\"app\"") != std::string::npos) {
      pool_row = true;
      CHECK(value == 1);  // this session holds its link in session pooling
    }
  CHECK(pool_row);
  CHECK(samples["apibouncer_stats_query_count{database=\"app\"}"] >= 5);
  CHECK(text.find("# TYPE apibouncer_stats_query_count counter") != std::string::npos);

  // More queries, higher counters.
  for (int i = 0; i < 5; ++i) queryValue(conn.get(), "SELECT 1");
  auto later = scrape(port, text);
  CHECK(later["apibouncer_stats_query_count{database=\"app\"}"] >=
        samples["apibouncer_stats_query_count{database=\"app\"}"] + 5);

  // Anything but GET /metrics is refused; the endpoint keeps serving.
  int status = -1;
  std::string code = runCommand(
      "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(port) + "/other",
      status);
  CHECK(code == "404");
  code = runCommand("curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:" +
                        std::to_string(port) + "/metrics",
                    status);
  CHECK(code == "405");
  scrape(port, text);
}

TEST_CASE("metrics: API and synced-table counters follow synced writes", "[metrics]") {
  FakeApiProcess api;
  ensureRole("writer", "writer-secret");
  superuserQuery(
      "SET client_min_messages = warning; DROP TABLE IF EXISTS public.metrics_customers");
  superuserQuery("CREATE TABLE public.metrics_customers (id text PRIMARY KEY, name text)");
  superuserQuery("GRANT SELECT ON public.metrics_customers TO app");
  superuserQuery("GRANT ALL ON public.metrics_customers TO writer");
  int port = freePort();
  std::string settings =
      "[apibouncer]\nwriter_user = writer\nmetrics_port = " + std::to_string(port) +
      "\n[api.crm]\nplatform = http\nbase_url = " + api.baseUrl() +
      "\n[table.public.metrics_customers]\ndatabase = app\napi = crm\n"
      "object = customers\n";
  PoolerProcess pooler(
      PoolerConfig{"", settings, defaultUserlist() + "\"writer\" \"writer-secret\"\n", true});
  Conn conn = connectOk(pooler);
  for (int i = 0; i < 3; ++i) {
    Result r = exec(conn.get(),
                    "INSERT INTO metrics_customers (name) VALUES ('n" + std::to_string(i) + "')");
    INFO(PQresultErrorMessage(r.get()) << pooler.log());
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
  }
  control(api, "/_control/fail", R"({"count":1,"status":422})");
  Result refused = exec(conn.get(), "INSERT INTO metrics_customers (name) VALUES ('bad')");
  CHECK(PQresultStatus(refused.get()) == PGRES_FATAL_ERROR);

  std::string text;
  auto samples = scrape(port, text);
  INFO(text);
  CHECK(samples["apibouncer_api_requests{name=\"crm\",platform=\"http\",oauth=\"no\"}"] == 4);
  CHECK(samples["apibouncer_api_failed{name=\"crm\",platform=\"http\",oauth=\"no\"}"] == 1);
  std::string table_labels =
      "{table=\"public.metrics_customers\",database=\"app\",api=\"crm\",object=\"customers\"}";
  CHECK(samples["apibouncer_synced_table_writes_ok" + table_labels] == 3);
  CHECK(samples["apibouncer_synced_table_writes_refused" + table_labels] == 1);
}

TEST_CASE("log_stats: a stats line per database every stats_period, none with log_stats = 0",
          "[metrics]") {
  PoolerProcess pooler(PoolerConfig{"", "stats_period = 1\n", "", true});
  Conn conn = connectOk(pooler);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // Queries keep flowing while we wait for two periods to pass.
  while (!pooler.logContains("stats: app: ") && std::chrono::steady_clock::now() < deadline)
    queryValue(conn.get(), "SELECT pg_sleep(0.1)");
  INFO(pooler.log());
  CHECK(pooler.logContains("stats: app: "));
  CHECK(pooler.logContains(" queries/s, "));

  PoolerProcess quiet(PoolerConfig{"", "stats_period = 1\nlog_stats = 0\n", "", true});
  Conn quiet_conn = connectOk(quiet);
  for (int i = 0; i < 25; ++i) queryValue(quiet_conn.get(), "SELECT pg_sleep(0.1)");
  CHECK_FALSE(quiet.logContains("stats: app: "));
}
