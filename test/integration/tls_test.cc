// TLS toward clients (client_tls_*: require, verify-full, client certificates, auth_type = cert,
// hostssl lines, SCRAM over TLS) and toward PostgreSQL (server_tls_*), with a CA and
// certificates the test makes with the openssl command line tool.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "fixture.h"

using namespace itest;

namespace {

// A throwaway CA with a server certificate for localhost / 127.0.0.1, a client certificate
// for user "app", and an unrelated CA that vouches for nothing here.
class TestCertificates {
 public:
  TestCertificates() {
    std::ofstream(path("server.ext")) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    run("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout ca.key "
        "-out ca.crt -subj /CN=apibouncer-test-ca");
    run("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout other.key "
        "-out other-ca.crt -subj /CN=unrelated-ca");
    issue("server", "localhost", "-extfile server.ext");
    issue("app", "app", "");
  }
  std::string path(const std::string& name) const { return dir_.file(name); }
  // [pgbouncer] lines that make the pooler a TLS server with `mode`.
  std::string clientTls(const std::string& mode) const {
    return "client_tls_sslmode = " + mode + "\nclient_tls_cert_file = " + path("server.crt") +
           "\nclient_tls_key_file = " + path("server.key") + "\n";
  }

 private:
  void run(const std::string& args) const {
    int status = 0;
    std::string out = runCommand("cd '" + dir_.path() + "' && openssl " + args + " 2>&1", status);
    INFO(out);
    REQUIRE(status == 0);
  }
  void issue(const std::string& name, const std::string& cn, const std::string& extra) const {
    run("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name + ".key -out " +
        name + ".csr -subj /CN=" + cn);
    run("x509 -req -in " + name + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out " +
        name + ".crt " + extra);
    int status = 0;  // libpq refuses a client key others can read
    runCommand("chmod 600 '" + path(name + ".key") + "'", status);
    REQUIRE(status == 0);
  }
  TempDir dir_{"apibouncer-tls"};
};

const TestCertificates& certificates() {
  static TestCertificates certs;
  return certs;
}

// Connects (no test failure on error); the message is in `error`.
Conn tryConnect(const std::string& conninfo, std::string& error) {
  Conn conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) error = PQerrorMessage(conn.get());
  return conn;
}

std::string verifyFull(const PoolerProcess& pooler, const std::string& root) {
  // host names the certificate, hostaddr says where to connect.
  return "host=localhost hostaddr=127.0.0.1 port=" + std::to_string(pooler.port()) +
         " dbname=app user=app password=app-secret connect_timeout=10 sslmode=verify-full "
         "sslrootcert=" +
         root;
}

// The console as user pgbouncer over the Unix socket (same OS user: no password).
Conn consoleOverSocket(const PoolerProcess& pooler) {
  return connect("host=" + pooler.dir() + " port=" + std::to_string(pooler.port()) +
                 " dbname=pgbouncer user=pgbouncer connect_timeout=10");
}

}  // namespace

TEST_CASE("client TLS: sslmode=require logs in over TLS 1.3; plain text is refused", "[tls]") {
  const auto& certs = certificates();
  PoolerProcess pooler(configWith(certs.clientTls("require")));
  Conn conn = connect(pooler.conninfo() + " sslmode=require");
  REQUIRE(PQsslInUse(conn.get()) == 1);
  CHECK(std::string(PQsslAttribute(conn.get(), "protocol")) == "TLSv1.3");
  CHECK(queryValue(conn.get(), "SELECT 40 + 2") == "42");
  // A big result crosses many TLS records.
  CHECK(queryValue(conn.get(),
                   "SELECT length(string_agg(md5(g::text), '')) FROM "
                   "generate_series(1, 20000) g") == "640000");

  std::string error;
  Conn plain = tryConnect(pooler.conninfo() + " sslmode=disable", error);
  CHECK(PQstatus(plain.get()) == CONNECTION_BAD);
  CHECK(contains(error, "SSL required"));

  // SHOW CLIENTS' tls column, as PgBouncer fills it.
  Conn admin = consoleOverSocket(pooler);
  Result clients = exec(admin.get(), "SHOW CLIENTS");
  int tls_column = PQfnumber(clients.get(), "tls");
  REQUIRE(tls_column >= 0);
  bool seen = false;
  for (int row = 0; row < PQntuples(clients.get()); ++row)
    seen |= std::string(PQgetvalue(clients.get(), row, tls_column)).starts_with("TLSv1.3/");
  CHECK(seen);
}

TEST_CASE("client TLS: a client that resets its connection ends only its own session", "[tls]") {
  const auto& certs = certificates();
  PoolerProcess pooler(configWith(certs.clientTls("require")));
  for (bool logged_in : {false, true}) {
    Conn conn = connect(pooler.conninfo() + " sslmode=require");
    REQUIRE(PQsslInUse(conn.get()) == 1);
    if (logged_in) CHECK(queryValue(conn.get(), "SELECT 1") == "1");
    // Close with a reset (SO_LINGER 0): the pooler reads ECONNRESET, and its TLS goodbye
    // (close_notify) then fails to send. /dev/null takes the descriptor's place, so libpq's
    // own goodbye later goes nowhere.
    int fd = PQsocket(conn.get());
    linger abort{1, 0};
    REQUIRE(setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort) == 0);
    int null_fd = open("/dev/null", O_WRONLY);
    REQUIRE(dup2(null_fd, fd) == fd);
    close(null_fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Conn next = connect(pooler.conninfo() + " sslmode=require");
    INFO(pooler.log());
    CHECK(queryValue(next.get(), "SELECT 'still up'") == "still up");
  }
}

TEST_CASE("client TLS: verify-full against the test CA, and a wrong CA is refused", "[tls]") {
  const auto& certs = certificates();
  PoolerProcess pooler(configWith(certs.clientTls("prefer")));
  Conn conn = connect(verifyFull(pooler, certs.path("ca.crt")));
  CHECK(PQsslInUse(conn.get()) == 1);
  CHECK(queryValue(conn.get(), "SELECT current_user") == "app");

  std::string error;
  Conn wrong = tryConnect(verifyFull(pooler, certs.path("other-ca.crt")), error);
  CHECK(PQstatus(wrong.get()) == CONNECTION_BAD);
  CHECK(contains(error, "certificate verify failed"));
  // prefer still lets plain-text clients in.
  Conn plain = connect(pooler.conninfo() + " sslmode=disable");
  CHECK(PQsslInUse(plain.get()) == 0);
}

TEST_CASE("client TLS: SCRAM-SHA-256 over TLS", "[tls]") {
  const auto& certs = certificates();
  PoolerProcess pooler(configWith(certs.clientTls("require") + "auth_type = scram-sha-256\n"));
  Conn conn = connect(pooler.conninfo("scramuser", "scram-secret") + " sslmode=require");
  CHECK(PQsslInUse(conn.get()) == 1);
  CHECK(queryValue(conn.get(), "SELECT 1") == "1");
  std::string error;
  Conn bad = tryConnect(pooler.conninfo("scramuser", "wrong") + " sslmode=require", error);
  CHECK(contains(error, "password authentication failed"));
}

TEST_CASE("client TLS: verify-ca demands a certificate; auth_type = cert logs in its user",
          "[tls]") {
  const auto& certs = certificates();
  PoolerProcess pooler(configWith(certs.clientTls("verify-ca") + "client_tls_ca_file = " +
                                  certs.path("ca.crt") + "\nauth_type = cert\n"));
  std::string with_cert =
      " sslmode=require sslcert=" + certs.path("app.crt") + " sslkey=" + certs.path("app.key");
  Conn conn = connect(pooler.conninfo("app", "") + with_cert);
  CHECK(queryValue(conn.get(), "SELECT current_user") == "app");

  std::string error;
  Conn no_cert = tryConnect(pooler.conninfo("app", "") + " sslmode=require", error);
  CHECK(PQstatus(no_cert.get()) == CONNECTION_BAD);
  CHECK(pooler.logContains("TLS"));

  error.clear();
  Conn other_user = tryConnect(pooler.conninfo("md5user", "") + with_cert, error);
  CHECK(PQstatus(other_user.get()) == CONNECTION_BAD);
  CHECK(contains(error, "certificate authentication failed for user \"md5user\""));
}

TEST_CASE("client TLS: hostssl lines match TLS logins only", "[tls][hba]") {
  const auto& certs = certificates();
  TempDir dir("apibouncer-hba-tls");
  std::string hba = dir.file("hba.conf");
  std::ofstream(hba) << "hostssl all all 127.0.0.1/32 scram-sha-256\n"
                        "host all all 127.0.0.1/32 reject\n";
  PoolerProcess pooler(
      configWith(certs.clientTls("prefer") + "auth_type = hba\nauth_hba_file = " + hba + "\n"));
  Conn conn = connect(pooler.conninfo() + " sslmode=require");
  CHECK(queryValue(conn.get(), "SELECT 1") == "1");
  std::string error;
  Conn plain = tryConnect(pooler.conninfo() + " sslmode=disable", error);
  CHECK(contains(error, "pg_hba.conf rejects connection"));
  CHECK(contains(error, "no encryption"));
}

// PostgreSQL in the sandbox runs without TLS, so the TLS server here is a second pooler with
// client TLS in front of it: client -> pooler (server_tls_*) -> TLS pooler -> PostgreSQL.
TEST_CASE("server TLS: verify-full to a TLS server; wrong CA and missing TLS fail the login",
          "[tls]") {
  const auto& certs = certificates();
  PoolerProcess tls_front(configWith(certs.clientTls("require")));
  auto through_front = [&](const std::string& server_tls) {
    return configWith(
        server_tls, {},
        "app = host=127.0.0.1 port=" + std::to_string(tls_front.port()) + " dbname=app\n");
  };
  {
    PoolerProcess pooler(through_front(
        "server_tls_sslmode = verify-full\nserver_tls_ca_file = " + certs.path("ca.crt") + "\n"));
    Conn conn = connect(pooler.conninfo());
    CHECK(queryValue(conn.get(), "SELECT 7 * 6") == "42");
    Conn admin = consoleOverSocket(pooler);
    Result servers = exec(admin.get(), "SHOW SERVERS");
    REQUIRE(PQntuples(servers.get()) >= 1);
    CHECK(std::string(PQgetvalue(servers.get(), 0, PQfnumber(servers.get(), "tls")))
              .starts_with("TLSv1.3/"));
  }
  {
    PoolerProcess pooler(through_front("server_tls_sslmode = verify-ca\nserver_tls_ca_file = " +
                                       certs.path("other-ca.crt") + "\n"));
    std::string error;
    CHECK_FALSE(runsQuery(pooler.conninfo(), error));
    CHECK(pooler.logContains("certificate verify failed"));
  }
  {
    // The sandbox itself offers no TLS: require must not fall back to plain text.
    PoolerProcess pooler(configWith("server_tls_sslmode = require\n"));
    std::string error;
    CHECK_FALSE(runsQuery(pooler.conninfo(), error));
    CHECK(pooler.logContains("does not support TLS"));
  }
}

TEST_CASE("client TLS: a missing certificate file stops the start with the key's name", "[tls]") {
  PoolerProcess pooler(
      configWith("client_tls_sslmode = require\nclient_tls_cert_file = "
                 "/nonexistent/server.crt\nclient_tls_key_file = /nonexistent/k\n",
                 {}, {}, false));
  auto status = pooler.waitExit(std::chrono::seconds(10));
  REQUIRE(status.has_value());
  CHECK(*status != 0);
  CHECK(contains(pooler.stderrText() + pooler.log(), "client_tls_cert_file"));
}
