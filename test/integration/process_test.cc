// The process: config errors, signals and shutdown modes, pgbench through the pooler.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "fixture.h"

using namespace itest;

TEST_CASE("an unknown config key stops the process naming file, line and key", "[process]") {
  PoolerProcess pooler({"", "no_such_key = 1\n", "", false});
  auto status = pooler.waitExit(std::chrono::seconds(5));
  REQUIRE(status);
  CHECK(*status != 0);
  std::string err = pooler.stderrText();
  CHECK(err.find("pooler.ini:") != std::string::npos);
  CHECK(err.find("no_such_key") != std::string::npos);
}

TEST_CASE("a synced table with a dangling reference stops the process at its line",
          "[process][interceptor]") {
  // The generated ini ends with these lines, after [pgbouncer].
  PoolerProcess pooler({"",
                        "[apibouncer]\nwriter_user = writer\n"
                        "[table.public.customers]\ndatabase = app\napi = nope\nobject = customer\n",
                        "", false});
  auto status = pooler.waitExit(std::chrono::seconds(5));
  REQUIRE(status);
  CHECK(*status != 0);
  std::string err = pooler.stderrText();
  INFO(err);
  CHECK(err.find("pooler.ini:") != std::string::npos);
  CHECK(err.find("[table.public.customers] key 'api': no [api.nope] section") != std::string::npos);
}

TEST_CASE("a valid synced table loads and the pooler serves", "[process][interceptor]") {
  PoolerProcess pooler({"",
                        "[apibouncer]\nwriter_user = writer\n"
                        "[api.crm]\nplatform = http\nbase_url = http://127.0.0.1:1\n"
                        "api_key = literal-key\nrate_limit = 10/s\n"
                        "[table.public.customers]\ndatabase = app\napi = crm\nobject = customer\n",
                        "", true});
  Conn conn = connectOk(pooler);
  CHECK(queryValue(conn.get(), "SELECT 1") == "1");
  CHECK(pooler.logContains("1 synced table(s): writes to them go to their API first"));
}

TEST_CASE("a bad value stops the process with a reason", "[process]") {
  PoolerProcess pooler({"", "pool_mode = sometimes\n", "", false});
  auto status = pooler.waitExit(std::chrono::seconds(5));
  REQUIRE(status);
  CHECK(*status != 0);
  CHECK(pooler.stderrText().find("pool_mode") != std::string::npos);
}

TEST_CASE("SIGTERM waits for clients to leave, then exits", "[process][signals]") {
  PoolerProcess pooler;
  Conn conn = connect(pooler.conninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  pooler.signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  REQUIRE(pooler.alive());
  CHECK(PQresultStatus(exec(conn.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
  Conn late = connect(pooler.conninfo());
  CHECK(PQstatus(late.get()) == CONNECTION_BAD);
  conn.reset();
  auto status = pooler.waitExit(std::chrono::seconds(5));
  REQUIRE(status);
  CHECK(*status == 0);
}

TEST_CASE("SIGINT waits for servers to be released; a second SIGINT exits at once",
          "[process][signals]") {
  PoolerProcess pooler;
  Conn conn = connect(pooler.conninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  pooler.signal(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  REQUIRE(pooler.alive());
  CHECK(PQresultStatus(exec(conn.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
  pooler.signal(SIGINT);
  auto status = pooler.waitExit(std::chrono::seconds(5));
  REQUIRE(status);
  CHECK(*status == 0);
}

TEST_CASE("SIGQUIT exits immediately", "[process][signals]") {
  PoolerProcess pooler;
  Conn conn = connect(pooler.conninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  pooler.signal(SIGQUIT);
  CHECK(pooler.waitExit(std::chrono::seconds(5)));
}

TEST_CASE("pgbench -S runs through the pooler without errors (simple and extended)",
          "[process][pgbench]") {
  ensureRole("bench", "bench-secret");
  if (superuserQuery("SELECT count(*) FROM pg_database WHERE datname = 'benchdb'") == "0")
    superuserQuery("CREATE DATABASE benchdb OWNER bench");
  const Sandbox& pg = Sandbox::get();
  int status = 0;
  std::string init = runCommand(
      "pgbench -i -s 1 -q -h 127.0.0.1 -p " + std::to_string(pg.port) + " -U postgres benchdb",
      status);
  INFO(init);
  REQUIRE(status == 0);
  std::string databases = "benchdb = host=127.0.0.1 port=" + std::to_string(pg.port) +
                          " dbname=benchdb user=postgres\n";
  PoolerProcess pooler({databases, "auth_type = trust\n", "\"bench\" \"\"\n", true});
  for (const char* mode : {"simple", "extended", "prepared"}) {
    std::string out =
        runCommand("pgbench -S -M " + std::string(mode) + " -c 4 -j 2 -t 200 -h 127.0.0.1 -p " +
                       std::to_string(pooler.port()) + " -U bench benchdb",
                   status);
    INFO(mode << ": " << out << pooler.log());
    CHECK(status == 0);
    CHECK(out.find("number of failed transactions: 0") != std::string::npos);
    CHECK(out.find("number of transactions actually processed: 800/800") != std::string::npos);
  }
}

TEST_CASE("the command line answers -V and -h, and needs a config file", "[process]") {
  std::string binary = poolerBinary();
  int status = 0;
  CHECK(runCommand(binary + " -V", status).find("apibouncer ") != std::string::npos);
  CHECK(status == 0);
  CHECK(runCommand(binary + " --help", status).find("--daemon") != std::string::npos);
  CHECK(status == 0);
  runCommand(binary, status);
  CHECK(status != 0);
  CHECK(runCommand(binary + " /nonexistent.ini", status).find("/nonexistent.ini") !=
        std::string::npos);
  CHECK(status != 0);
}

TEST_CASE("SIGHUP with a broken synced table keeps the running configuration",
          "[process][interceptor]") {
  PoolerProcess pooler;
  Conn before = connectOk(pooler);
  {
    std::FILE* ini = std::fopen((pooler.dir() + "/pooler.ini").c_str(), "a");
    REQUIRE(ini != nullptr);
    std::fputs("[table.public.customers]\ndatabase = app\napi = missing\nobject = c\n", ini);
    std::fclose(ini);
  }
  pooler.signal(SIGHUP);
  for (int i = 0; i < 50 && !pooler.logContains("reload failed"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(pooler.logContains("reload failed, keeping the old configuration"));
  CHECK(pooler.logContains("no [api.missing] section"));
  CHECK(queryValue(before.get(), "SELECT 'still here'") == "still here");
  Conn after = connectOk(pooler);
  CHECK(queryValue(after.get(), "SELECT 2") == "2");
}
