// Direct writes to synced tables must fail: the SQL from `apibouncer --guard-sql` leaves
// INSERT/UPDATE/DELETE/TRUNCATE to writer_user, checked against the real database.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <thread>

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

// True once the pooler's log has `text` (the privilege check runs after start, on the loop).
static bool logEventually(const PoolerProcess& pooler, const std::string& text) {
  for (int i = 0; i < 100; ++i) {
    if (pooler.logContains(text)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST_CASE("at start and reload apibouncer warns about roles that can bypass the API",
          "[interceptor]") {
  ensureRole("check_writer", "check-secret");
  superuserQuery("DROP TABLE IF EXISTS public.check_customers, public.check_later");
  superuserQuery("CREATE TABLE public.check_customers (id text PRIMARY KEY, name text)");
  superuserQuery("GRANT ALL ON public.check_customers TO app");  // a careless setup
  superuserQuery("GRANT SELECT ON public.check_customers TO check_writer");
  PoolerProcess pooler({"",
                        "[apibouncer]\nwriter_user = check_writer\n"
                        "[api.crm]\nplatform = http\nbase_url = http://127.0.0.1:1\n"
                        "[table.public.check_customers]\ndatabase = app\napi = crm\n"
                        "object = customer\n"
                        "[table.public.check_later]\ndatabase = app\napi = crm\n"
                        "object = later\n",
                        defaultUserlist() + "\"check_writer\" \"check-secret\"\n", true});
  CHECK(logEventually(pooler,
                      "role app can DELETE, INSERT, TRUNCATE, UPDATE on synced table "
                      "check_customers directly, bypassing the API"));
  CHECK(logEventually(pooler,
                      "writer_user check_writer lacks DELETE, INSERT, UPDATE on synced table "
                      "check_customers"));
  CHECK(logEventually(pooler, "synced table public.check_later does not exist"));
  CHECK_FALSE(pooler.logContains("privileges checked"));

  // The fix: the guard SQL, and the missing table created; a reload checks again.
  superuserQuery("CREATE TABLE public.check_later (id text PRIMARY KEY)");
  int status = 0;
  std::string sql = runCommand(
      poolerBinary() + " --guard-sql " + pooler.dir() + "/pooler.ini 2>/dev/null", status);
  REQUIRE(status == 0);
  superuserQuery(sql);
  pooler.signal(SIGHUP);
  CHECK(logEventually(pooler,
                      "privileges checked: only check_writer (and superusers) can write the 2 "
                      "synced table(s) of database app"));
}
