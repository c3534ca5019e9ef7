// auth_type = hba: auth_hba_file picks each login's method by connection kind, address,
// database and user; refusals read as PostgreSQL's; SIGHUP swaps the rules, and a broken file
// keeps the old ones (or stops the start).
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "fixture.h"
#include "pooler/wire/backend.h"
#include "pooler/wire/writer.h"

using namespace itest;
namespace wire = apibouncer::wire;

namespace {

// The rules live outside the pooler's own directory, so the ini can name them before it exists.
class HbaFile {
 public:
  explicit HbaFile(const std::string& text) {
    char tmpl[] = "/tmp/apibouncer-hba-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    write(text);
  }
  ~HbaFile() {
    std::string cmd = "rm -rf '" + dir_ + "'";
    if (std::system(cmd.c_str()) != 0) WARN("could not remove " << dir_);
  }
  void write(const std::string& text) const { std::ofstream(path()) << text; }
  // auth_ident_file beside it; returns the [pgbouncer] line naming it.
  std::string writeIdent(const std::string& text) const {
    std::ofstream(dir_ + "/ident.conf") << text;
    return "auth_ident_file = " + dir_ + "/ident.conf\n";
  }
  std::string path() const { return dir_ + "/hba.conf"; }
  // [pgbouncer] lines for PoolerConfig::settings.
  std::string settings() const { return "auth_type = hba\nauth_hba_file = " + path() + "\n"; }

 private:
  std::string dir_;
};

// libpq over the pooler's Unix socket (in its directory).
std::string unixConninfo(const PoolerProcess& pooler, const std::string& user,
                         const std::string& password = "") {
  std::string conninfo = "host=" + pooler.dir() + " port=" + std::to_string(pooler.port()) +
                         " dbname=app user=" + user + " connect_timeout=10";
  return password.empty() ? conninfo : conninfo + " password=" + password;
}

// Sends a startup packet over TCP and returns the first reply message.
void firstReply(const PoolerProcess& pooler, const std::string& user, char& type,
                std::string& body) {
  RawClient client(pooler.port());
  REQUIRE(client.sendBytes(
      wire::startupMessage(wire::kProtocolV3, {{"user", user}, {"database", "app"}})));
  REQUIRE(client.readMessage(type, body));
}

wire::ErrorFieldsMsg errorFields(const std::string& body) {
  wire::ErrorFieldsMsg error;
  REQUIRE(wire::decodeErrorFields(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()), error));
  return error;
}

// The AuthenticationRequest code the pooler asks for first (5 = md5, 10 = SASL, 3 = cleartext,
// 0 = ok without a password).
int32_t authRequestCode(const PoolerProcess& pooler, const std::string& user) {
  char type = 0;
  std::string body;
  firstReply(pooler, user, type, body);
  REQUIRE(type == 'R');
  REQUIRE(body.size() >= 4);
  return static_cast<int32_t>((uint8_t(body[0]) << 24) | (uint8_t(body[1]) << 16) |
                              (uint8_t(body[2]) << 8) | uint8_t(body[3]));
}

size_t countInLog(const PoolerProcess& pooler, const std::string& text) {
  std::string log = pooler.log();
  size_t count = 0;
  for (size_t pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + 1))
    ++count;
  return count;
}

// Waits (generously: ASan, a loaded host) until `text` appears `times` times in the log.
bool waitForLog(const PoolerProcess& pooler, const std::string& text, size_t times) {
  for (int i = 0; i < 100; ++i) {
    if (countInLog(pooler, text) >= times) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string osUserName() {
  passwd* pw = getpwuid(getuid());
  REQUIRE(pw != nullptr);
  return pw->pw_name;
}

}  // namespace

TEST_CASE("hba: a reject line refuses TCP with 28000; a local line lets the Unix socket in",
          "[hba]") {
  HbaFile hba(
      "# TYPE  DATABASE USER ADDRESS       METHOD\n"
      "local   all      all                md5\n"
      "host    all      all  127.0.0.1/32  reject\n");
  PoolerProcess pooler({defaultDatabases(), hba.settings(), defaultUserlist(), true});

  char type = 0;
  std::string body;
  firstReply(pooler, "app", type, body);
  REQUIRE(type == 'E');
  wire::ErrorFieldsMsg error = errorFields(body);
  CHECK(error.field('S') == "FATAL");
  CHECK(error.field('C') == "28000");
  CHECK(error.field('M') ==
        "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"app\", database \"app\", "
        "no encryption");
  CHECK(pooler.logContains("login rejected: reject by " + hba.path() + ":3"));

  // libpq (as an application sees it) gets the same text.
  std::string failure;
  CHECK_FALSE(runsQuery(pooler.conninfo("app", "app-secret"), failure));
  CHECK(failure.find("pg_hba.conf rejects connection for host \"127.0.0.1\"") != std::string::npos);

  // psql over the Unix socket: the local line asks for md5 and lets the right password in.
  int status = 0;
  std::string out = runCommand("PGPASSWORD=app-secret /usr/bin/psql -X -A -t \"" +
                                   unixConninfo(pooler, "app") + "\" -c \"SELECT 'via unix'\"",
                               status);
  INFO(out << pooler.log());
  CHECK(status == 0);
  CHECK(out.find("via unix") != std::string::npos);
  CHECK_FALSE(runsQuery(unixConninfo(pooler, "app", "wrong"), failure));
  CHECK(failure.find("password authentication failed for user \"app\"") != std::string::npos);
}

TEST_CASE("hba: no matching line is PostgreSQL's \"no pg_hba.conf entry\"", "[hba]") {
  HbaFile hba("host app md5user 127.0.0.1/32 md5\n");
  PoolerProcess pooler({defaultDatabases(), hba.settings(), defaultUserlist(), true});
  char type = 0;
  std::string body;
  firstReply(pooler, "app", type, body);
  REQUIRE(type == 'E');
  wire::ErrorFieldsMsg error = errorFields(body);
  CHECK(error.field('C') == "28000");
  CHECK(error.field('M') ==
        "no pg_hba.conf entry for host \"127.0.0.1\", user \"app\", database \"app\", no "
        "encryption");
  std::string failure;
  CHECK_FALSE(runsQuery(unixConninfo(pooler, "app", "app-secret"), failure));
  CHECK(failure.find("no pg_hba.conf entry for host \"[local]\", user \"app\"") !=
        std::string::npos);
}

TEST_CASE("hba: trust lets a user in without a password", "[hba]") {
  HbaFile hba(
      "host all app 127.0.0.1/32 trust\n"
      "host all all 127.0.0.1/32 scram-sha-256\n");
  PoolerProcess pooler({defaultDatabases(), hba.settings(), defaultUserlist(), true});
  CHECK(authRequestCode(pooler, "app") == 0);  // AuthenticationOk straight away
  std::string error;
  CHECK(runsQuery(pooler.conninfo("app", ""), error));
  INFO(error << pooler.log());
  // The next line still asks md5user for a password.
  CHECK_FALSE(runsQuery(pooler.conninfo("md5user", ""), error));
}

TEST_CASE("hba: md5 for one user, scram-sha-256 for another, password for a third", "[hba]") {
  HbaFile hba(
      "host all md5user   127.0.0.0/8 md5\n"
      "host all scramuser 127.0.0.0/8 scram-sha-256\n"
      "host all app       127.0.0.0/8 password\n");
  PoolerProcess pooler({defaultDatabases(), hba.settings(), defaultUserlist(), true});
  CHECK(authRequestCode(pooler, "md5user") == 5);
  CHECK(authRequestCode(pooler, "scramuser") == 10);
  CHECK(authRequestCode(pooler, "app") == 3);
  std::string error;
  CHECK(runsQuery(pooler.conninfo("md5user", "md5-secret"), error));
  INFO(error << pooler.log());
  CHECK(runsQuery(pooler.conninfo("scramuser", "scram-secret"), error));
  INFO(error << pooler.log());
  CHECK(runsQuery(pooler.conninfo("app", "app-secret"), error));
  INFO(error << pooler.log());
  CHECK_FALSE(runsQuery(pooler.conninfo("scramuser", "md5-secret"), error));
}

TEST_CASE("hba: peer lets the OS user in over the Unix socket, as itself only", "[hba]") {
  // The OS user (root here) is no PostgreSQL role: the database entry logs in as app.
  std::string os_user = osUserName();
  HbaFile hba("local all all peer\n");
  PoolerProcess pooler({sandboxDatabase("user=app password=app-secret"), hba.settings(),
                        defaultUserlist() + "\"" + os_user + "\" \"\"\n", true});
  std::string error;
  CHECK(runsQuery(unixConninfo(pooler, os_user), error));
  INFO(error << pooler.log());
  CHECK_FALSE(runsQuery(unixConninfo(pooler, "app", "app-secret"), error));
  CHECK(error.find("peer authentication failed for user \"app\"") != std::string::npos);
  CHECK(pooler.logContains("the client runs as OS user \"" + os_user + "\", not \"app\""));
}

TEST_CASE("hba: peer with map= lets an OS user in as the database users its map names", "[hba]") {
  std::string os_user = osUserName();
  HbaFile hba("local all all peer map=ops\n");
  std::string ident = hba.writeIdent("ops " + os_user + " app\n");
  PoolerProcess pooler({defaultDatabases(), hba.settings() + ident, defaultUserlist(), true});
  int status = 0;
  std::string out = runCommand(
      "/usr/bin/psql -X -A -t \"" + unixConninfo(pooler, "app") + "\" -c \"SELECT current_user\"",
      status);
  INFO(out << pooler.log());
  CHECK(status == 0);
  CHECK(out.find("app") != std::string::npos);
  std::string error;
  CHECK_FALSE(runsQuery(unixConninfo(pooler, "md5user", "md5-secret"), error));
  CHECK(error.find("peer authentication failed for user \"md5user\"") != std::string::npos);
}

TEST_CASE("hba: an edit + SIGHUP changes the decision for new logins only", "[hba]") {
  HbaFile hba("host all all 127.0.0.1/32 trust\n");
  PoolerProcess pooler({defaultDatabases(), hba.settings(), defaultUserlist(), true});
  Conn before = connect(pooler.conninfo("app", ""));
  REQUIRE(PQstatus(before.get()) == CONNECTION_OK);

  hba.write("host all all 127.0.0.1/32 reject\n");
  pooler.signal(SIGHUP);
  REQUIRE(waitForLog(pooler, "auth_hba_file: 1 rule(s) loaded", 2));
  std::string error;
  CHECK_FALSE(runsQuery(pooler.conninfo("app", ""), error));
  CHECK(error.find("pg_hba.conf rejects connection") != std::string::npos);
  // A client already in keeps its session.
  CHECK(queryValue(before.get(), "SELECT 'still in'") == "still in");

  hba.write("host all all 127.0.0.1/32 md5\n");
  pooler.signal(SIGHUP);
  REQUIRE(waitForLog(pooler, "auth_hba_file: 1 rule(s) loaded", 3));
  CHECK(authRequestCode(pooler, "app") == 5);
  CHECK(runsQuery(pooler.conninfo("app", "app-secret"), error));
  INFO(error << pooler.log());
}

TEST_CASE("hba: an invalid file on SIGHUP keeps the old rules and says why", "[hba]") {
  HbaFile hba("host all all 127.0.0.1/32 trust\n");
  PoolerProcess pooler({defaultDatabases(), hba.settings(), defaultUserlist(), true});
  hba.write(
      "host all all 127.0.0.1/32 reject\n"
      "host all all 10.0.0.0/40 md5\n");
  pooler.signal(SIGHUP);
  REQUIRE(waitForLog(pooler, "reload failed", 1));
  CHECK(pooler.logContains("reload failed, keeping the old configuration: " + hba.path() +
                           ":2: invalid CIDR mask length \"40\""));
  std::string error;
  CHECK(runsQuery(pooler.conninfo("app", ""), error));  // still trust
  INFO(error << pooler.log());
}

TEST_CASE("hba: a bad or missing auth_hba_file stops the start with file and line", "[hba]") {
  HbaFile hba(
      "local all all trust\n"
      "host all all db.example.com md5\n");
  {
    PoolerProcess pooler({defaultDatabases(), hba.settings(), defaultUserlist(), false});
    auto status = pooler.waitExit(std::chrono::seconds(10));
    REQUIRE(status);
    CHECK(*status != 0);
    CHECK(pooler.stderrText().find(hba.path() + ":2: invalid IP address \"db.example.com\"") !=
          std::string::npos);
  }
  {
    PoolerProcess pooler({defaultDatabases(), "auth_type = hba\n", defaultUserlist(), false});
    auto status = pooler.waitExit(std::chrono::seconds(10));
    REQUIRE(status);
    CHECK(*status != 0);
    CHECK(pooler.stderrText().find("auth_type = hba needs auth_hba_file") != std::string::npos);
  }
}
