// Timeouts and pool sizing knobs: query_wait_timeout, client_login_timeout, server_lifetime,
// server_idle_timeout, min_pool_size, reserve_pool_size.
#include <catch2/catch.hpp>

#include <thread>

#include "fixture.h"

using namespace itest;

TEST_CASE("query_wait_timeout: a client waiting too long for a server gets an error",
          "[timeouts]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1"), "query_wait_timeout = 1\n", "", true});
  Conn holder = connect(pooler.conninfo());
  REQUIRE(PQstatus(holder.get()) == CONNECTION_OK);
  queryValue(holder.get(),
             "SELECT pg_backend_pid()");  // session mode: the holder now keeps the only link
  auto start = std::chrono::steady_clock::now();
  std::string error;
  CHECK_FALSE(runsQuery(pooler.conninfo(), error));
  auto waited = std::chrono::steady_clock::now() - start;
  CHECK(error.find("query_wait_timeout") != std::string::npos);
  CHECK(waited >= std::chrono::milliseconds(900));
  CHECK(waited < std::chrono::seconds(5));
}

TEST_CASE("a waiting client gets the link when the holder leaves", "[timeouts]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1"), "", "", true});
  auto holder = std::make_unique<Conn>(connect(pooler.conninfo()));
  REQUIRE(PQstatus(holder->get()) == CONNECTION_OK);
  queryValue(holder->get(), "SELECT pg_backend_pid()");
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    holder.reset();
  });
  auto start = std::chrono::steady_clock::now();
  std::string error;
  CHECK(runsQuery(pooler.conninfo(), error));
  INFO(error);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(400));
  release.join();
}

TEST_CASE("client_login_timeout closes a client that never logs in", "[timeouts]") {
  // With tcp_defer_accept (the default) a silent client is never handed to the pooler at all.
  PoolerProcess pooler({"", "client_login_timeout = 1\ntcp_defer_accept = 0\n", "", true});
  RawClient silent(pooler.port());
  auto start = std::chrono::steady_clock::now();
  CHECK(silent.closedByPeer(5000));
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(900));
}

TEST_CASE("tcp_defer_accept: a client is taken in once it speaks", "[timeouts]") {
  PoolerProcess pooler({"", "client_login_timeout = 1\n", "", true});
  RawClient silent(pooler.port());
  // Not accepted yet, so client_login_timeout has nothing to time out.
  CHECK_FALSE(silent.closedByPeer(2500));
  // An SSLRequest wakes the connection up; the pooler answers it ('N': no TLS configured).
  REQUIRE(silent.sendBytes(std::string("\0\0\0\x08\x04\xd2\x16\x2f", 8)));
  std::string answer;
  REQUIRE(silent.readRaw(1, answer));
  CHECK(answer == "N");
}

TEST_CASE("server_lifetime retires a link once it is released", "[timeouts]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1"), "server_lifetime = 1\n", "", true});
  std::string first;
  {
    Conn conn = connect(pooler.conninfo());
    REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
    first = queryValue(conn.get(), "SELECT pg_backend_pid()");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Conn conn = connect(pooler.conninfo());
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  CHECK(queryValue(conn.get(), "SELECT pg_backend_pid()") != first);
}

TEST_CASE("server_idle_timeout closes idle links; min_pool_size keeps some open", "[timeouts]") {
  ensureRole("idlecheck", "idlecheck-secret");
  std::string databases =
      sandboxDatabase("user=idlecheck password=idlecheck-secret min_pool_size=1");
  PoolerProcess pooler({databases, "server_idle_timeout = 1\nauth_type = trust\n", "", true});
  {
    std::vector<Conn> conns;
    for (int i = 0; i < 3; ++i) {
      conns.push_back(connect(pooler.conninfo()));
      REQUIRE(PQstatus(conns.back().get()) == CONNECTION_OK);
      queryValue(conns.back().get(), "SELECT 1");  // a query makes the session hold its link
    }
    CHECK(backendsOf("idlecheck") == 3);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(backendsOf("idlecheck") == 1);
}

TEST_CASE("reserve_pool_size adds links after reserve_pool_timeout", "[timeouts]") {
  PoolerProcess pooler({sandboxDatabase("pool_size=1 reserve_pool_size=1"),
                        "reserve_pool_timeout = 0.5\n", "", true});
  Conn holder = connect(pooler.conninfo());
  REQUIRE(PQstatus(holder.get()) == CONNECTION_OK);
  std::string holder_pid = queryValue(holder.get(), "SELECT pg_backend_pid()");
  auto start = std::chrono::steady_clock::now();
  Conn second = connect(pooler.conninfo());
  REQUIRE(PQstatus(second.get()) == CONNECTION_OK);
  CHECK(queryValue(second.get(), "SELECT pg_backend_pid()") != holder_pid);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(400));
}

TEST_CASE("max_db_connections caps server links across users", "[timeouts]") {
  PoolerProcess pooler(
      {sandboxDatabase("max_db_connections=1"), "query_wait_timeout = 1\n", "", true});
  Conn first = connect(pooler.conninfo());
  REQUIRE(PQstatus(first.get()) == CONNECTION_OK);
  queryValue(first.get(), "SELECT pg_backend_pid()");
  std::string error;
  CHECK_FALSE(runsQuery(pooler.conninfo("md5user", "md5-secret"), error));
  CHECK(error.find("query_wait_timeout") != std::string::npos);
}
