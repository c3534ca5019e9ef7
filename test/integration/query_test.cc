// Queries through the pooler: simple, multi-statement, extended, prepared, COPY, big results,
// and server errors passed through unchanged.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fixture.h"

using namespace itest;

TEST_CASE("simple and multi-statement queries return rows", "[query]") {
  PoolerProcess pooler;
  Conn conn = connectOk(pooler);
  Result one = exec(conn.get(), "SELECT 40 + 2 AS answer, current_user");
  REQUIRE(PQresultStatus(one.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(one.get(), 0, 0)) == "42");
  CHECK(std::string(PQgetvalue(one.get(), 0, 1)) == "app");

  REQUIRE(PQsendQuery(conn.get(), "SELECT 1; SELECT 2, 3; SELECT 'x'") == 1);
  std::vector<int> columns;
  while (PGresult* r = PQgetResult(conn.get())) {
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
    columns.push_back(PQnfields(r));
    PQclear(r);
  }
  CHECK(columns == std::vector<int>{1, 2, 1});
}

TEST_CASE("extended protocol: PQexecParams and prepared statements", "[query]") {
  PoolerProcess pooler;
  Conn conn = connectOk(pooler);
  const char* values[] = {"20", "22"};
  Result sum(
      PQexecParams(conn.get(), "SELECT $1::int + $2::int", 2, nullptr, values, nullptr, nullptr, 0),
      &PQclear);
  REQUIRE(PQresultStatus(sum.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(sum.get(), 0, 0)) == "42");

  Result prepared(PQprepare(conn.get(), "upper_stmt", "SELECT upper($1::text)", 1, nullptr),
                  &PQclear);
  REQUIRE(PQresultStatus(prepared.get()) == PGRES_COMMAND_OK);
  for (const char* word : {"alpha", "beta"}) {
    const char* params[] = {word};
    Result r(PQexecPrepared(conn.get(), "upper_stmt", 1, params, nullptr, nullptr, 0), &PQclear);
    REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
    std::string expected(word);
    for (char& c : expected) c = static_cast<char>(toupper(c));
    CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == expected);
  }
}

TEST_CASE("COPY FROM STDIN and COPY TO STDOUT round-trip", "[query][copy]") {
  PoolerProcess pooler;
  Conn conn = connectOk(pooler);
  REQUIRE(PQresultStatus(exec(conn.get(), "CREATE TEMP TABLE items (id int, name text)").get()) ==
          PGRES_COMMAND_OK);
  Result copy_in = exec(conn.get(), "COPY items FROM STDIN");
  REQUIRE(PQresultStatus(copy_in.get()) == PGRES_COPY_IN);
  std::string data;
  for (int i = 0; i < 1000; ++i) data += std::to_string(i) + "\tname-" + std::to_string(i) + "\n";
  REQUIRE(PQputCopyData(conn.get(), data.data(), static_cast<int>(data.size())) == 1);
  REQUIRE(PQputCopyEnd(conn.get(), nullptr) == 1);
  Result done(PQgetResult(conn.get()), &PQclear);
  CHECK(PQresultStatus(done.get()) == PGRES_COMMAND_OK);
  CHECK(std::string(PQcmdTuples(done.get())) == "1000");
  while (PGresult* extra = PQgetResult(conn.get())) PQclear(extra);

  Result copy_out = exec(conn.get(), "COPY (SELECT * FROM items ORDER BY id) TO STDOUT");
  REQUIRE(PQresultStatus(copy_out.get()) == PGRES_COPY_OUT);
  std::string received;
  char* buffer = nullptr;
  int n;
  while ((n = PQgetCopyData(conn.get(), &buffer, 0)) > 0) {
    received.append(buffer, static_cast<size_t>(n));
    PQfreemem(buffer);
  }
  CHECK(received == data);
}

TEST_CASE("a 100 MB result arrives whole", "[query][large]") {
  PoolerProcess pooler;
  Conn conn = connectOk(pooler);
  Result big = exec(conn.get(), "SELECT repeat('x', 1000000) FROM generate_series(1, 100)");
  REQUIRE(PQresultStatus(big.get()) == PGRES_TUPLES_OK);
  REQUIRE(PQntuples(big.get()) == 100);
  for (int row = 0; row < 100; ++row) CHECK(PQgetlength(big.get(), row, 0) == 1000000);
}

namespace {
// Resident memory of a process in kB, from /proc/PID/status; 0 if unreadable.
long residentKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}
}  // namespace

TEST_CASE("a client that stops reading holds back its server, not the pooler's memory",
          "[query][large]") {
  PoolerProcess pooler;
  Conn conn = connectOk(pooler);
  long before_kb = residentKb(pooler.pid());
  REQUIRE(before_kb > 0);
  // 200 MB that PostgreSQL produces in well under the pause: without backpressure the pooler
  // would read it all from the server and hold it for the client that is not reading.
  REQUIRE(PQsendQuery(conn.get(), "SELECT repeat('x', 1000000) FROM generate_series(1, 200)") == 1);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  long paused_kb = residentKb(pooler.pid());
  CHECK(paused_kb - before_kb < 32 * 1024);

  Result big(PQgetResult(conn.get()), &PQclear);
  while (PGresult* extra = PQgetResult(conn.get())) PQclear(extra);
  REQUIRE(PQresultStatus(big.get()) == PGRES_TUPLES_OK);
  CHECK(PQntuples(big.get()) == 200);
  CHECK(PQgetlength(big.get(), 199, 0) == 1000000);
}

TEST_CASE("sbuf_loopcnt = 1: big results to several fast readers at once arrive whole",
          "[query][large]") {
  // Every full 256 kB read sends its connection to the back of the loop turn, so the four
  // streams below take turns read by read, and the quitter hangs up while its stream flows.
  PoolerProcess pooler(configWith("sbuf_loopcnt = 1\n"));
  constexpr int kReaders = 4;
  std::vector<Conn> readers;
  for (int i = 0; i < kReaders; ++i) readers.push_back(connectOk(pooler));
  Conn quitter = connectOk(pooler);

  std::vector<int> whole_rows(kReaders, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i)
    threads.emplace_back([&, i] {
      Result big =
          exec(readers[i].get(), "SELECT repeat('x', 1000000) FROM generate_series(1, 40)");
      if (PQresultStatus(big.get()) != PGRES_TUPLES_OK) return;
      for (int row = 0; row < PQntuples(big.get()); ++row)
        whole_rows[i] += PQgetlength(big.get(), row, 0) == 1000000;
    });
  // A fast reader that stops after 30 of 200 rows: one row at a time, then PQfinish.
  int quitter_rows = 0;
  std::thread quitting([&] {
    PGconn* conn = quitter.get();
    if (PQsendQuery(conn, "SELECT repeat('y', 1000000) FROM generate_series(1, 200)") != 1 ||
        PQsetSingleRowMode(conn) != 1)
      return;
    while (quitter_rows < 30) {
      Result row(PQgetResult(conn), &PQclear);
      if (PQresultStatus(row.get()) != PGRES_SINGLE_TUPLE) return;
      ++quitter_rows;
    }
    quitter.reset();
  });
  quitting.join();
  for (std::thread& thread : threads) thread.join();

  CHECK(quitter_rows == 30);
  for (int i = 0; i < kReaders; ++i) CHECK(whole_rows[i] == 40);
  Conn after = connectOk(pooler);
  CHECK(PQresultStatus(exec(after.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
}

TEST_CASE("server errors pass through unchanged", "[query][errors]") {
  PoolerProcess pooler;
  Conn conn = connectOk(pooler);
  Result division = exec(conn.get(), "SELECT 1/0");
  CHECK(errorField(division.get(), PG_DIAG_SQLSTATE) == "22012");

  Result missing = exec(conn.get(), "SELECT * FROM no_such_table");
  CHECK(errorField(missing.get(), PG_DIAG_SQLSTATE) == "42P01");
  CHECK(errorField(missing.get(), PG_DIAG_STATEMENT_POSITION) == "15");

  Result raised = exec(conn.get(),
                       "DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail', "
                       "HINT = 'the hint', ERRCODE = 'P0001'; END $$");
  CHECK(errorField(raised.get(), PG_DIAG_SQLSTATE) == "P0001");
  CHECK(errorField(raised.get(), PG_DIAG_MESSAGE_PRIMARY) == "boom");
  CHECK(errorField(raised.get(), PG_DIAG_MESSAGE_DETAIL) == "the detail");
  CHECK(errorField(raised.get(), PG_DIAG_MESSAGE_HINT) == "the hint");

  // The session is still usable after errors.
  Result after = exec(conn.get(), "SELECT 'still here'");
  CHECK(PQresultStatus(after.get()) == PGRES_TUPLES_OK);
}

TEST_CASE("PQcancel stops a running query with 57014", "[query][cancel]") {
  PoolerProcess pooler;
  Conn conn = connectOk(pooler);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(PQsendQuery(conn.get(), "SELECT pg_sleep(30)") == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  PGcancel* cancel = PQgetCancel(conn.get());
  char errbuf[256];
  REQUIRE(PQcancel(cancel, errbuf, sizeof errbuf) == 1);
  PQfreeCancel(cancel);
  Result result(PQgetResult(conn.get()), &PQclear);
  while (PGresult* extra = PQgetResult(conn.get())) PQclear(extra);
  CHECK(errorField(result.get(), PG_DIAG_SQLSTATE) == "57014");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(PQresultStatus(exec(conn.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
}

TEST_CASE("connecting over the Unix socket works", "[query]") {
  PoolerProcess pooler;
  Conn conn = connect("host=" + pooler.dir() + " port=" + std::to_string(pooler.port()) +
                      " dbname=app user=app password=app-secret");
  INFO(PQerrorMessage(conn.get()));
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  CHECK(PQresultStatus(exec(conn.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
}
