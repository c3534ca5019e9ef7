// Direct writes to synced tables must fail: the SQL from `apibouncer --guard-sql` leaves
// INSERT/UPDATE/DELETE/TRUNCATE to writer_user, checked against the real database.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace itest;

TEST_CASE("guard SQL (apibouncer --guard-sql) leaves writes on synced tables to the writer",
          "[interceptor]") {
  superuserQuery(
      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'guard_writer') THEN "
      "CREATE ROLE guard_writer; END IF; END $$");
  superuserQuery("DROP TABLE IF EXISTS public.guard_customers");
  superuserQuery("CREATE TABLE public.guard_customers (id text PRIMARY KEY, name text)");
  superuserQuery("GRANT ALL ON public.guard_customers TO app");  // a careless setup
  Conn app_direct = connect(Sandbox::get().superuserConninfo() + " user=app password=app-secret");
  REQUIRE(PQstatus(app_direct.get()) == CONNECTION_OK);
  REQUIRE(PQresultStatus(
              exec(app_direct.get(), "INSERT INTO guard_customers VALUES ('before', 'x')").get()) ==
          PGRES_COMMAND_OK);

  PoolerProcess pooler({"",
                        "[apibouncer]\nwriter_user = guard_writer\n"
                        "[api.crm]\nplatform = http\nbase_url = http://127.0.0.1:1\n"
                        "[table.public.guard_customers]\ndatabase = app\napi = crm\n"
                        "object = customer\n",
                        "", true});
  int status = 0;
  std::string sql = runCommand(
      poolerBinary() + " --guard-sql " + pooler.dir() + "/pooler.ini 2>/dev/null", status);
  INFO(sql);
  REQUIRE(status == 0);
  CHECK(sql.find("FROM app;") != std::string::npos);
  Conn super = connect(Sandbox::get().superuserConninfo());
  Result applied = exec(super.get(), sql);
  INFO(PQerrorMessage(super.get()));
  REQUIRE(PQresultStatus(applied.get()) == PGRES_COMMAND_OK);

  for (const char* write : {"INSERT INTO guard_customers VALUES ('after', 'y')",
                            "UPDATE guard_customers SET name = 'z'", "DELETE FROM guard_customers",
                            "TRUNCATE guard_customers"}) {
    Result r = exec(app_direct.get(), write);
    INFO(write);
    CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "42501");  // permission denied
  }
  CHECK(queryValue(app_direct.get(), "SELECT count(*) FROM guard_customers") == "1");  // reads ok
  REQUIRE(PQresultStatus(exec(super.get(), "SET ROLE guard_writer").get()) == PGRES_COMMAND_OK);
  CHECK(PQresultStatus(
            exec(super.get(), "INSERT INTO guard_customers VALUES ('writer', 'w')").get()) ==
        PGRES_COMMAND_OK);
}

TEST_CASE("guard SQL without synced tables says so and fails", "[interceptor]") {
  PoolerProcess pooler;
  int status = 0;
  std::string out =
      runCommand(poolerBinary() + " --guard-sql " + pooler.dir() + "/pooler.ini", status);
  CHECK(status != 0);
  CHECK(out.find("no [table.SCHEMA.TABLE] sections") != std::string::npos);
}
