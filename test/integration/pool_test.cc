// Pooling behaviour: many clients on a small pool, limits, a server dying under a client.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "fixture.h"

using namespace itest;

TEST_CASE("50 clients on a pool of 2 are all served, never by more than 2 servers", "[pool]") {
  ensureRole("pool50", "pool50-secret");
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=2"), "", "\"pool50\" \"pool50-secret\"\n", true});
  std::atomic<int> served{0};
  std::atomic<bool> done{false};
  int most_backends = 0;
  std::thread monitor([&] {
    while (!done) {
      most_backends = std::max(most_backends, backendsOf("pool50"));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::vector<std::thread> clients;
  for (int i = 0; i < 50; ++i) {
    clients.emplace_back([&] {
      Conn conn = connect(pooler.conninfo("pool50", "pool50-secret"));
      if (PQstatus(conn.get()) != CONNECTION_OK) return;
      Result r = exec(conn.get(), "SELECT pg_sleep(0.05)");
      if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) ++served;
    });
  }
  for (auto& t : clients) t.join();
  done = true;
  monitor.join();
  CHECK(served == 50);
  CHECK(most_backends >= 1);
  CHECK(most_backends <= 2);
}

TEST_CASE("a server killed under an idle client: the client gets an error, others go on",
          "[pool]") {
  PoolerProcess pooler;
  Conn conn = connect(pooler.conninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  Result pid = exec(conn.get(), "SELECT pg_backend_pid()");
  REQUIRE(PQresultStatus(pid.get()) == PGRES_TUPLES_OK);
  superuserQuery(std::string("SELECT pg_terminate_backend(") + PQgetvalue(pid.get(), 0, 0) + ")");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Result after = exec(conn.get(), "SELECT 1");
  CHECK(PQresultStatus(after.get()) != PGRES_TUPLES_OK);
  Conn fresh = connect(pooler.conninfo());
  INFO(PQerrorMessage(fresh.get()));
  REQUIRE(PQstatus(fresh.get()) == CONNECTION_OK);
  CHECK(PQresultStatus(exec(fresh.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
}

TEST_CASE("max_client_conn refuses the extra client with a clear error", "[pool]") {
  PoolerProcess pooler({"", "max_client_conn = 2\nadmin_users = admin\n",
                        defaultUserlist() + "\"admin\" \"admin-secret\"\n", true});
  Conn first = connect(pooler.conninfo());
  Conn second = connect(pooler.conninfo());
  REQUIRE(PQstatus(first.get()) == CONNECTION_OK);
  REQUIRE(PQstatus(second.get()) == CONNECTION_OK);
  Conn third = connect(pooler.conninfo());
  CHECK(PQstatus(third.get()) == CONNECTION_BAD);
  CHECK(std::string(PQerrorMessage(third.get()))
            .find("no more connections allowed (max_client_conn)") != std::string::npos);
  // As in PgBouncer, the admin console is not counted out: a full pooler is when it is needed.
  Conn admin = connect(pooler.conninfo("admin", "admin-secret", "pgbouncer"));
  INFO(PQerrorMessage(admin.get()));
  CHECK(PQstatus(admin.get()) == CONNECTION_OK);
  admin.reset();
  first.reset();
  Conn fourth = connect(pooler.conninfo());
  for (int i = 0; i < 50 && PQstatus(fourth.get()) != CONNECTION_OK; ++i) {  // closes noticed
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    fourth = connect(pooler.conninfo());
  }
  CHECK(PQstatus(fourth.get()) == CONNECTION_OK);
}

TEST_CASE("a released server link is reset and reused", "[pool]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1"), "", "", true});
  std::string first_pid;
  {
    Conn conn = connect(pooler.conninfo());
    REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
    exec(conn.get(), "SET work_mem = '7MB'");
    first_pid = PQgetvalue(exec(conn.get(), "SELECT pg_backend_pid()").get(), 0, 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Conn conn = connect(pooler.conninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  CHECK(std::string(PQgetvalue(exec(conn.get(), "SELECT pg_backend_pid()").get(), 0, 0)) ==
        first_pid);
  // DISCARD ALL ran between the two clients.
  CHECK(std::string(PQgetvalue(exec(conn.get(), "SHOW work_mem").get(), 0, 0)) == "4MB");
}

TEST_CASE("a client that leaves inside a transaction does not hand over a dirty link", "[pool]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1"), "", "", true});
  {
    Conn conn = connect(pooler.conninfo());
    REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
    exec(conn.get(), "BEGIN");
    exec(conn.get(), "CREATE TEMP TABLE leftover (x int)");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Conn conn = connect(pooler.conninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  Result status = exec(conn.get(), "SELECT 1");
  CHECK(PQresultStatus(status.get()) == PGRES_TUPLES_OK);
  CHECK(PQtransactionStatus(conn.get()) == PQTRANS_IDLE);
  CHECK(PQresultStatus(exec(conn.get(), "SELECT * FROM leftover").get()) == PGRES_FATAL_ERROR);
}

TEST_CASE("an unreachable server gives waiting clients an error", "[pool]") {
  RefusingPort nobody;
  std::string databases =
      "app = host=127.0.0.1 port=" + std::to_string(nobody.port()) + " dbname=app\n";
  PoolerProcess pooler({databases, "", "", true});
  Conn conn = connect(pooler.conninfo());
  CHECK(PQstatus(conn.get()) == CONNECTION_BAD);
  CHECK(std::string(PQerrorMessage(conn.get())).find("could not connect") != std::string::npos);
  CHECK(pooler.alive());
}

TEST_CASE("a failed login of one more link turns no client away while the pool has links",
          "[pool]") {
  // The role may have one backend: the pool's second link fails to log in (53300). As in
  // PgBouncer, clients wait for the link that works instead of getting that error, also
  // within server_login_retry.
  ensureRole("onelink", "onelink-secret");
  superuserQuery("ALTER ROLE onelink CONNECTION LIMIT 1");
  for (int i = 0; i < 50 && backendsOf("onelink") > 0; ++i)  // an earlier run's, still exiting
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  PoolerProcess pooler({sandboxDatabase("pool_size=2 pool_mode=transaction"), "",
                        defaultUserlist() + "\"onelink\" \"onelink-secret\"\n", true});
  auto connectAs = [&] {
    Conn conn = connect(pooler.conninfo("onelink", "onelink-secret"));
    INFO(PQerrorMessage(conn.get()) << pooler.log());
    REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
    return conn;
  };
  Conn holder = connectAs();
  REQUIRE(PQresultStatus(exec(holder.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  Conn waiter = connectAs();
  // The holder commits only once the second link's login has failed while the waiter waits.
  std::atomic<bool> login_failed{false};
  std::thread release([&] {
    for (int i = 0; i < 100 && !login_failed; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      login_failed = pooler.logContains("too many connections for role");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    exec(holder.get(), "COMMIT");
  });
  std::string served = queryValueInThread(waiter.get(), "SELECT 'served'");
  release.join();
  INFO(pooler.log());
  CHECK(login_failed);
  CHECK(served == "served");
  // Within the retry window, with the link idle again: served at once.
  Conn later = connectAs();
  CHECK(queryValue(later.get(), "SELECT 'later'") == "later");
}

TEST_CASE("idle clients hold no server link until they send a query", "[pool]") {
  ensureRole("idleclients", "idleclients-secret");
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=2"), "", "\"idleclients\" \"idleclients-secret\"\n", true});
  std::vector<Conn> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(connect(pooler.conninfo("idleclients", "idleclients-secret")));
    INFO(PQerrorMessage(clients.back().get()));
    REQUIRE(PQstatus(clients.back().get()) == CONNECTION_OK);
  }
  CHECK(backendsOf("idleclients") <= 1);
  // Parameters in the welcome match what the link reports once one is used.
  CHECK(std::string(PQparameterStatus(clients.back().get(), "server_encoding")) == "UTF8");
  CHECK(PQresultStatus(exec(clients.back().get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
}
