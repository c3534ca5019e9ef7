// The guard SQL: every pool role loses direct writes on every synced table; the writer keeps
// them and owns the tables.
#include <catch2/catch.hpp>

#include "interceptor/guard_sql.h"

using namespace apibouncer::interceptor;

TEST_CASE("guard SQL revokes writes from everyone but the writer", "[guard_sql]") {
  SyncConfig config;
  config.settings.writer_user = "api_writer";
  TableConfig customers;
  customers.schema = "public";
  customers.table = "customers";
  customers.database = "app";
  config.tables.push_back(customers);
  TableConfig deals = customers;
  deals.schema = "CRM";
  deals.table = "user";
  config.tables.push_back(deals);
  std::string sql = guardSql(config, {"app", "api_writer", "Report Reader"});
  CHECK(sql.find("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.customers FROM PUBLIC;") !=
        std::string::npos);
  CHECK(sql.find("ON public.customers FROM app;") != std::string::npos);
  CHECK(sql.find("ON public.customers FROM \"Report Reader\";") != std::string::npos);
  CHECK(sql.find("FROM api_writer") == std::string::npos);  // the writer keeps its rights
  CHECK(sql.find("ALTER TABLE \"CRM\".\"user\" OWNER TO api_writer;") != std::string::npos);
  CHECK(sql.find("GRANT SELECT, INSERT, UPDATE, DELETE ON public.customers TO api_writer;") !=
        std::string::npos);
  CHECK(sql.rfind("COMMIT;\n") == sql.size() - 8);
}

TEST_CASE("identifiers are quoted only when they must be", "[guard_sql]") {
  CHECK(quoteIdentifier("customers") == "customers");
  CHECK(quoteIdentifier("Customers") == "\"Customers\"");
  CHECK(quoteIdentifier("order") == "\"order\"");
  CHECK(quoteIdentifier("we\"ird") == "\"we\"\"ird\"");
}
