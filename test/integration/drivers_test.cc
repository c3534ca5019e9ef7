// Real client drivers in transaction pooling: asyncpg, psycopg 3 and pgjdbc name their
// prepared statements, so they work only if the pooler carries those statements from link to
// link. More clients than links, so links change hands between every transaction.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace itest;

namespace {

constexpr int kClients = 6;

PoolerConfig twoLinkTransactionPool(const std::string& extra_settings = "") {
  return {sandboxDatabase("pool_size=2"),
          "pool_mode = transaction\nauth_type = trust\n" + extra_settings, "", true};
}

void expectDriverRuns(const PoolerProcess& pooler, const std::string& command) {
  int status = 0;
  std::string out = runCommand(command, status);
  INFO(command << "\n" << out << pooler.log());
  CHECK(status == 0);
  CHECK(out.find("ok") != std::string::npos);
}

std::string script(const std::string& name) {
  return std::string(CLIENT_SCRIPTS_DIR) + "/" + name;
}

}  // namespace

// Debian's python3-asyncpg and python3-psycopg belong to the system interpreter.
TEST_CASE("asyncpg with its statement cache works in transaction pooling", "[drivers]") {
  PoolerProcess pooler(twoLinkTransactionPool());
  std::string dsn = "postgresql://app@127.0.0.1:" + std::to_string(pooler.port()) + "/app";
  expectDriverRuns(pooler, "/usr/bin/python3 " + script("asyncpg_prepared.py") + " '" + dsn + "' " +
                               std::to_string(kClients));
}

TEST_CASE("psycopg 3 prepared statements and pipelines work in transaction pooling", "[drivers]") {
  PoolerProcess pooler(twoLinkTransactionPool());
  std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(pooler.port()) + " dbname=app user=app";
  expectDriverRuns(pooler, "/usr/bin/python3 " + script("psycopg_prepared.py") + " '" + conninfo +
                               "' " + std::to_string(kClients));
}

TEST_CASE("pgjdbc server-prepared statements work in transaction pooling", "[drivers]") {
  // pgjdbc sends extra_float_digits at startup; PgBouncer setups list it here too.
  PoolerProcess pooler(twoLinkTransactionPool("ignore_startup_parameters = extra_float_digits\n"));
  std::string url = "jdbc:postgresql://127.0.0.1:" + std::to_string(pooler.port()) +
                    "/app?user=app&prepareThreshold=1&sslmode=disable";
  expectDriverRuns(pooler, "java -cp /usr/share/java/postgresql.jar " +
                               script("JdbcPrepared.java") + " '" + url + "' " +
                               std::to_string(kClients));
}
