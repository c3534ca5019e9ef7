// Per-query and per-transaction limits: query_timeout, idle_transaction_timeout,
// transaction_timeout, query_wait_notify, server_round_robin.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <thread>

#include "fixture.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

using namespace itest;

namespace {

void flush(PGconn* conn) {
  REQUIRE(PQsendFlushRequest(conn) == 1);
  REQUIRE(PQflush(conn) == 0);
}

// Sends `sql` in pipeline mode with a Flush and no Sync.
void sendFlushed(PGconn* conn, const char* sql) {
  REQUIRE(PQsendQueryParams(conn, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1);
  flush(conn);
}

// Sends a Flush every 0.4 s, at most `tries` times, until the statement running is answered;
// whether it was.
bool flushUntilAnswered(PGconn* conn, int tries) {
  for (int i = 0; i < tries; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    REQUIRE(PQconsumeInput(conn) == 1);
    if (PQisBusy(conn) == 0) return true;
    flush(conn);
  }
  return false;
}

// Ends pipeline mode with a Sync, which must be answered as one.
void syncAndLeavePipeline(PGconn* conn) {
  REQUIRE(PQpipelineSync(conn) == 1);
  Result synced(PQgetResult(conn), &PQclear);
  CHECK(PQresultStatus(synced.get()) == PGRES_PIPELINE_SYNC);
  REQUIRE(PQexitPipelineMode(conn) == 1);
}

}  // namespace

TEST_CASE("query_timeout cancels a query that runs too long", "[limits]") {
  PoolerProcess pooler({"", "query_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  auto start = std::chrono::steady_clock::now();
  Result r = exec(conn.get(), "SELECT pg_sleep(20)");
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "57014");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(PQresultStatus(exec(conn.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
}

TEST_CASE("query_timeout cancels an Execute sent with Flush and no Sync", "[limits]") {
  PoolerProcess pooler({"", "pool_mode = transaction\nquery_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  REQUIRE(PQenterPipelineMode(conn.get()) == 1);
  auto start = std::chrono::steady_clock::now();
  sendFlushed(conn.get(), "SELECT pg_sleep(20)");
  Result slept(PQgetResult(conn.get()), &PQclear);
  CHECK(errorField(slept.get(), PG_DIAG_SQLSTATE) == "57014");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(PQgetResult(conn.get()) == nullptr);
  syncAndLeavePipeline(conn.get());
  CHECK(queryValue(conn.get(), "SELECT 'served'") == "served");
}

TEST_CASE("query_timeout disconnects a client whose open exchange a cancel cannot end",
          "[limits]") {
  // Parse, Bind, Execute and Flush, the answer read, and no Sync: the server waits for the
  // client and ignores the cancel. PgBouncer's query_timeout disconnects; so does the pooler,
  // one more query_timeout after its cancel, and the link does not stay taken.
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=1"), "pool_mode = transaction\nquery_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  REQUIRE(PQenterPipelineMode(conn.get()) == 1);
  sendFlushed(conn.get(), "SELECT 1");
  Result one(PQgetResult(conn.get()), &PQclear);
  CHECK(PQresultStatus(one.get()) == PGRES_TUPLES_OK);
  CHECK(PQgetResult(conn.get()) == nullptr);
  // Canceled after 1 s (ignored), disconnected 1 s later. A query waiting for the link
  // meanwhile would run into query_timeout itself, so the other client comes after.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  REQUIRE(PQpipelineSync(conn.get()) == 1);
  Result gone(PQgetResult(conn.get()), &PQclear);
  CHECK(PQresultStatus(gone.get()) != PGRES_PIPELINE_SYNC);
  CHECK(contains(PQerrorMessage(conn.get()), "query timeout"));
  Conn other = connectOk(pooler);
  CHECK(queryValue(other.get(), "SELECT 'link is back'") == "link is back");
}

TEST_CASE("query_timeout times each pipelined statement, not the whole pipeline", "[limits]") {
  PoolerProcess pooler({"", "pool_mode = transaction\nquery_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  // Three statements of 0.6 s each, sent at once: 1.8 s busy, none over the limit.
  REQUIRE(PQenterPipelineMode(conn.get()) == 1);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(PQsendQueryParams(conn.get(), "SELECT pg_sleep(0.6)", 0, nullptr, nullptr, nullptr,
                              nullptr, 0) == 1);
    REQUIRE(PQpipelineSync(conn.get()) == 1);
  }
  for (int i = 0; i < 3; ++i) {
    Result slept(PQgetResult(conn.get()), &PQclear);
    INFO(PQresultErrorMessage(slept.get()));
    CHECK(PQresultStatus(slept.get()) == PGRES_TUPLES_OK);
    CHECK(PQgetResult(conn.get()) == nullptr);
    Result synced(PQgetResult(conn.get()), &PQclear);
    CHECK(PQresultStatus(synced.get()) == PGRES_PIPELINE_SYNC);
  }
  REQUIRE(PQexitPipelineMode(conn.get()) == 1);
  CHECK(queryValue(conn.get(), "SELECT 'served'") == "served");
}

TEST_CASE("query_timeout times each statement of a pipeline flushed without Sync", "[limits]") {
  // As psycopg 3 fetches inside a pipeline: each statement sent with Flush once the last one's
  // answer is read; 2 s in all before the Sync, each statement well under the limit.
  PoolerProcess pooler({"", "pool_mode = transaction\nquery_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  REQUIRE(PQenterPipelineMode(conn.get()) == 1);
  for (int i = 0; i < 5; ++i) {
    sendFlushed(conn.get(), "SELECT pg_sleep(0.4)");
    Result slept(PQgetResult(conn.get()), &PQclear);
    INFO(PQresultErrorMessage(slept.get()));
    CHECK(PQresultStatus(slept.get()) == PGRES_TUPLES_OK);
    CHECK(PQgetResult(conn.get()) == nullptr);
  }
  syncAndLeavePipeline(conn.get());
  CHECK(queryValue(conn.get(), "SELECT 'served'") == "served");
}

TEST_CASE("query_timeout is not put off by a client that keeps sending", "[limits]") {
  PoolerProcess pooler({"", "pool_mode = transaction\nquery_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  REQUIRE(PQenterPipelineMode(conn.get()) == 1);
  auto start = std::chrono::steady_clock::now();
  sendFlushed(conn.get(), "SELECT pg_sleep(20)");
  // A Flush every 0.4 s while the statement runs: no answer came in between, so the
  // statement's clock keeps running.
  CHECK(flushUntilAnswered(conn.get(), 10));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500));
  Result slept(PQgetResult(conn.get()), &PQclear);
  CHECK(errorField(slept.get(), PG_DIAG_SQLSTATE) == "57014");
}

TEST_CASE("query_timeout: notices along the way are no answer, the pooler's own answers are",
          "[limits]") {
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=1"), "pool_mode = transaction\nquery_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  {
    Result prepared(PQprepare(conn.get(), "a", "SELECT pg_sleep(0.6)", 0, nullptr), &PQclear);
    REQUIRE(PQresultStatus(prepared.get()) == PGRES_COMMAND_OK);
  }
  REQUIRE(PQenterPipelineMode(conn.get()) == 1);
  // The link has that statement: the pooler answers this Parse itself. The Execute sent
  // 0.7 s later starts its own clock (0.6 s, under the limit).
  REQUIRE(PQsendPrepare(conn.get(), "b", "SELECT pg_sleep(0.6)", 0, nullptr) == 1);
  flush(conn.get());
  {
    Result parsed(PQgetResult(conn.get()), &PQclear);
    CHECK(PQresultStatus(parsed.get()) == PGRES_COMMAND_OK);
    CHECK(PQgetResult(conn.get()) == nullptr);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  REQUIRE(PQsendQueryPrepared(conn.get(), "b", 0, nullptr, nullptr, nullptr, 0) == 1);
  flush(conn.get());
  {
    Result slept(PQgetResult(conn.get()), &PQclear);
    INFO(PQresultErrorMessage(slept.get()));
    CHECK(PQresultStatus(slept.get()) == PGRES_TUPLES_OK);
    CHECK(PQgetResult(conn.get()) == nullptr);
  }
  // A statement that sends notices as it runs, and a Flush every 0.4 s: still one statement.
  auto start = std::chrono::steady_clock::now();
  sendFlushed(conn.get(),
              "DO $$BEGIN FOR i IN 1..100 LOOP RAISE NOTICE 'tick'; "
              "PERFORM pg_sleep(0.1); END LOOP; END$$");
  CHECK(flushUntilAnswered(conn.get(), 15));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500));
  Result looped(PQgetResult(conn.get()), &PQclear);
  CHECK(errorField(looped.get(), PG_DIAG_SQLSTATE) == "57014");
}

TEST_CASE("[users] query_timeout overrides the global one", "[limits]") {
  PoolerProcess pooler({"", "query_timeout = 0\n[users]\napp = query_timeout=1\n", "", true});
  Conn conn = connectOk(pooler);
  Result r = exec(conn.get(), "SELECT pg_sleep(20)");
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "57014");
}

TEST_CASE("[users] query_timeout = 0 leaves the global one in force, as in PgBouncer", "[limits]") {
  PoolerProcess pooler({"", "query_timeout = 1\n[users]\napp = query_timeout=0\n", "", true});
  Conn conn = connectOk(pooler);
  Result r = exec(conn.get(), "SELECT pg_sleep(20)");
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "57014");
}

TEST_CASE("a database's forced user's [users] query_timeout times what runs on its links",
          "[limits]") {
  // As PgBouncer: the link logs in as app whoever the client is, and app's entry applies.
  PoolerProcess pooler({sandboxDatabase("user=app password=app-secret"),
                        "auth_type = plain\n[users]\napp = query_timeout=1\n", "", true});
  Conn conn = connect(pooler.conninfo("md5user", "md5-secret"));
  INFO(PQerrorMessage(conn.get()) << pooler.log());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  Result r = exec(conn.get(), "SELECT pg_sleep(20)");
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "57014");
}

TEST_CASE("query_timeout leaves a COPY FROM STDIN alone while its data keeps coming", "[limits]") {
  PoolerProcess pooler({"", "query_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(conn.get(), "CREATE TEMP TABLE streamed (n int)").get()) ==
          PGRES_COMMAND_OK);
  REQUIRE(PQresultStatus(exec(conn.get(), "COPY streamed FROM STDIN").get()) == PGRES_COPY_IN);
  for (int row = 0; row < 10; ++row) {  // 2.5 s of rows, a row every 0.25 s
    std::string line = std::to_string(row) + "\n";
    REQUIRE(PQputCopyData(conn.get(), line.data(), static_cast<int>(line.size())) == 1);
    REQUIRE(PQflush(conn.get()) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  REQUIRE(PQputCopyEnd(conn.get(), nullptr) == 1);
  Result done(PQgetResult(conn.get()), &PQclear);
  INFO(PQerrorMessage(conn.get()) << pooler.log());
  CHECK(PQresultStatus(done.get()) == PGRES_COMMAND_OK);
  while (PGresult* extra = PQgetResult(conn.get())) PQclear(extra);
  CHECK(queryValue(conn.get(), "SELECT count(*) FROM streamed") == "10");
}

TEST_CASE("client_idle_timeout ends idle clients without a link, as in PgBouncer", "[limits]") {
  SECTION("transaction pooling: an idle client goes") {
    PoolerProcess pooler(
        {sandboxDatabase("pool_mode=transaction"), "client_idle_timeout = 1\n", "", true});
    Conn conn = connectOk(pooler);
    CHECK(queryValue(conn.get(), "SELECT 1") == "1");
    std::this_thread::sleep_for(std::chrono::milliseconds(1800));
    CHECK(PQresultStatus(exec(conn.get(), "SELECT 1").get()) != PGRES_TUPLES_OK);
    CHECK(contains(PQerrorMessage(conn.get()), "client_idle_timeout"));
  }
  SECTION("session pooling: a client holding its link stays, and so does an admin console") {
    PoolerProcess pooler({"", "client_idle_timeout = 1\nadmin_users = admin\n",
                          defaultUserlist() + "\"admin\" \"admin-secret\"\n", true});
    Conn listener = connectOk(pooler);
    REQUIRE(PQresultStatus(exec(listener.get(), "LISTEN idle_channel").get()) == PGRES_COMMAND_OK);
    Conn admin = connect(pooler.conninfo("admin", "admin-secret", "pgbouncer"));
    REQUIRE(PQstatus(admin.get()) == CONNECTION_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(1800));
    Conn notifier = connectOk(pooler);
    REQUIRE(PQresultStatus(exec(notifier.get(), "NOTIFY idle_channel").get()) == PGRES_COMMAND_OK);
    CHECK(queryValue(listener.get(), "SELECT 'still here'") == "still here");
    PGnotify* notification = PQnotifies(listener.get());
    CHECK(notification != nullptr);
    if (notification != nullptr) PQfreemem(notification);
    CHECK(PQresultStatus(exec(admin.get(), "SHOW VERSION").get()) == PGRES_TUPLES_OK);
  }
}

TEST_CASE("query_timeout covers a query still waiting for a link", "[limits]") {
  // As in PgBouncer: the wait counts, and query_timeout ends it before query_wait_timeout
  // (default 120 s) would. The holder's open transaction runs nothing: it is not canceled.
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=1"), "pool_mode = transaction\nquery_timeout = 1\n", "", true});
  Conn holder = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(holder.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  Conn waiter = connectOk(pooler);
  auto start = std::chrono::steady_clock::now();
  CHECK(PQresultStatus(exec(waiter.get(), "SELECT 1").get()) == PGRES_FATAL_ERROR);
  auto waited = std::chrono::steady_clock::now() - start;
  CHECK(contains(PQerrorMessage(waiter.get()), "query_timeout"));
  CHECK(waited >= std::chrono::milliseconds(900));
  CHECK(waited < std::chrono::seconds(5));
  CHECK(queryValue(holder.get(), "SELECT 'holder still in'") == "holder still in");
}

TEST_CASE("idle_transaction_timeout disconnects a client idle inside a transaction", "[limits]") {
  PoolerProcess pooler({"", "idle_transaction_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(conn.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(1800));
  CHECK(PQresultStatus(exec(conn.get(), "SELECT 1").get()) != PGRES_TUPLES_OK);
  CHECK(std::string(PQerrorMessage(conn.get())).find("idle transaction timeout") !=
        std::string::npos);
  // Outside a transaction, idling is fine.
  Conn other = connectOk(pooler);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(PQresultStatus(exec(other.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
}

TEST_CASE("idle_transaction_timeout counts from the end of the last statement", "[limits]") {
  PoolerProcess pooler({"", "idle_transaction_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(conn.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  // Longer than the timeout, but running: the client is not idle meanwhile, nor right after.
  REQUIRE(PQresultStatus(exec(conn.get(), "SELECT pg_sleep(1.5)").get()) == PGRES_TUPLES_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(PQresultStatus(exec(conn.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
  // An Execute sent with Flush and no Sync runs as long as it needs to.
  REQUIRE(PQenterPipelineMode(conn.get()) == 1);
  sendFlushed(conn.get(), "SELECT pg_sleep(1.5)");
  Result slept(PQgetResult(conn.get()), &PQclear);
  CHECK(PQresultStatus(slept.get()) == PGRES_TUPLES_OK);
  CHECK(PQgetResult(conn.get()) == nullptr);
  syncAndLeavePipeline(conn.get());
  CHECK(PQresultStatus(exec(conn.get(), "COMMIT").get()) == PGRES_COMMAND_OK);
}

TEST_CASE("transaction_timeout ends a transaction that lasts too long", "[limits]") {
  PoolerProcess pooler({"", "transaction_timeout = 1\n", "", true});
  Conn conn = connectOk(pooler);
  // The error comes as the answer to a query, or, when it lands in the same read as the
  // previous query's ReadyForQuery, libpq hands it to the notice receiver.
  std::vector<Notice> notices;
  PQsetNoticeReceiver(conn.get(), collectNotice, &notices);
  REQUIRE(PQresultStatus(exec(conn.get(), "BEGIN").get()) == PGRES_COMMAND_OK);
  bool cut = false;
  for (int i = 0; i < 30 && !cut; ++i) {  // busy, never idle: only transaction_timeout applies
    cut = PQresultStatus(exec(conn.get(), "SELECT pg_sleep(0.1)").get()) != PGRES_TUPLES_OK;
  }
  CHECK(cut);
  CHECK((contains(PQerrorMessage(conn.get()), "transaction timeout") ||
         noticed(notices, "transaction timeout")));
}

TEST_CASE("transaction_timeout cuts a statement still running, in BEGIN or on its own",
          "[limits]") {
  // As in PgBouncer (and PostgreSQL's own transaction_timeout): a statement outside BEGIN is a
  // transaction too, and the clock runs from the statement that opened the transaction.
  PoolerProcess pooler({"", "transaction_timeout = 1\n", "", true});
  for (const char* sql : {"BEGIN; SELECT pg_sleep(10)", "SELECT pg_sleep(10)"}) {
    INFO(sql);
    Conn conn = connectOk(pooler);
    auto start = std::chrono::steady_clock::now();
    CHECK(PQresultStatus(exec(conn.get(), sql).get()) != PGRES_TUPLES_OK);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
    CHECK(contains(PQerrorMessage(conn.get()), "transaction timeout"));
  }
}

TEST_CASE("query_wait_notify tells a waiting client it is waiting", "[limits]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1"), "query_wait_notify = 1\n", "", true});
  Conn holder = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(holder.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
  Conn waiter = connectOk(pooler);
  std::vector<Notice> notices;
  PQsetNoticeReceiver(waiter.get(), collectNotice, &notices);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1800));
    holder.reset();
  });
  CHECK(PQresultStatus(exec(waiter.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
  release.join();
  CHECK(noticed(notices, "client being queued"));
}

TEST_CASE("query_wait_notify says nothing to a client that is still logging in", "[limits]") {
  // The pool's first link takes 2 s to log in (connect_query): the login waits for it and must
  // see nothing but the login's own messages, as PgBouncer notifies welcomed clients only.
  PoolerProcess pooler({sandboxDatabase("connect_query='SELECT pg_sleep(2)'"),
                        "query_wait_notify = 1\nauth_type = trust\n", "", true});
  RawClient client(pooler.port());
  client.sendStartup();
  LoginSeen seen = readLogin(client, 10000);
  INFO(seen.error << pooler.log());
  CHECK(seen.ready);
  CHECK(seen.notices == 0);
}

TEST_CASE("client_login_timeout ends a login still waiting for the pool's first link", "[limits]") {
  // As PgBouncer's "client_login_timeout (server down)": here the first link takes 8 s to log
  // in (connect_query).
  PoolerProcess pooler({sandboxDatabase("connect_query='SELECT pg_sleep(8)'"),
                        "client_login_timeout = 2\nauth_type = trust\n", "", true});
  auto start = std::chrono::steady_clock::now();
  Conn conn = connect(pooler.conninfo());
  CHECK(PQstatus(conn.get()) == CONNECTION_BAD);
  CHECK(contains(PQerrorMessage(conn.get()), "client_login_timeout (server down)"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(6));
}

TEST_CASE("query_wait_notify: a waiting client that is gone does not stop the others' turn",
          "[limits]") {
  PoolerProcess pooler(
      {sandboxDatabase("pool_size=1"), "query_wait_notify = 1\nauth_type = trust\n", "", true});
  Conn holder = connectOk(pooler);  // session mode: holds the only link until it leaves
  REQUIRE(PQresultStatus(exec(holder.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
  // A waiting client that sent more than the pooler keeps for it (1 MB) is no longer read,
  // so its reset shows only when the notice to it fails to send, which ends it while the
  // pool walks its waiting clients; the client queued behind it must still get its notice
  // and its turn.
  RawClient gone(pooler.port());
  gone.logIn();
  REQUIRE(gone.sendBytes(apibouncer::wire::query("SELECT '" + std::string(1100000, 'x') + "'")));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  gone.reset();
  Conn waiter = connectOk(pooler);
  std::vector<Notice> notices;
  PQsetNoticeReceiver(waiter.get(), collectNotice, &notices);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    holder.reset();
  });
  std::string value = queryValueInThread(waiter.get(), "SELECT 'served'");
  release.join();
  INFO(pooler.log());
  CHECK(value == "served");
  CHECK(noticed(notices, "client being queued"));
  waiter.reset();  // session mode: it holds the only link until it leaves
  Conn after = connectOk(pooler);
  CHECK(queryValue(after.get(), "SELECT 'still up'") == "still up");
}

TEST_CASE("server_round_robin spreads clients over idle links", "[limits]") {
  for (bool round_robin : {false, true}) {
    PoolerProcess pooler({sandboxDatabase("pool_size=3 pool_mode=transaction"),
                          std::string("server_round_robin = ") + (round_robin ? "1" : "0") + "\n",
                          "", true});
    {  // three transactions at once open three links; COMMIT gives them back
      std::vector<Conn> conns;
      for (int i = 0; i < 3; ++i) {
        conns.push_back(connectOk(pooler));
        REQUIRE(PQresultStatus(exec(conns.back().get(), "BEGIN").get()) == PGRES_COMMAND_OK);
        exec(conns.back().get(), "SELECT 1");
      }
      for (auto& conn : conns) exec(conn.get(), "COMMIT");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Conn conn = connectOk(pooler);
    std::set<std::string> pids;
    for (int i = 0; i < 6; ++i) {
      Result r = exec(conn.get(), "SELECT pg_backend_pid()");
      REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
      pids.insert(PQgetvalue(r.get(), 0, 0));
    }
    INFO("round robin " << round_robin);
    CHECK(pids.size() == (round_robin ? 3u : 1u));
  }
}
