// Loading whole ini files: values, sections, %include, warnings and every error path.
#include <catch2/catch.hpp>

#include "pooler/config/config.h"
#include "pooler/config/config_keys.h"
#include "temp_files.h"

using namespace apibouncer::config;

namespace {

std::shared_ptr<const Config> load(const std::string& path) {
  LoadResult result = loadConfig(path);
  if (auto* error = std::get_if<ConfigError>(&result)) FAIL(error->message());
  return std::get<std::shared_ptr<const Config>>(result);
}

ConfigError loadError(const std::string& path) {
  LoadResult result = loadConfig(path);
  REQUIRE(std::holds_alternative<ConfigError>(result));
  return std::get<ConfigError>(result);
}

}  // namespace

TEST_CASE("a realistic pgbouncer.ini loads with every value type", "[config]") {
  TempDir dir;
  std::string path = dir.write("pgbouncer.ini", R"(;; production-like file
[databases]
app = host=db1.internal,db2.internal port=5433 dbname=appdb pool_size=30 reserve_pool=5 pool_mode=transaction
reports = host=/var/run/postgresql dbname=reports user=reporter password='p a''ss' connect_query='SELECT 1'
* = host=127.0.0.1

[users]
batch = pool_size=2 pool_mode=session max_user_connections=4 query_timeout=30.5

[pgbouncer]
listen_addr = 127.0.0.1, 10.0.0.1
listen_port = 6543
unix_socket_dir =
unix_socket_mode = 0700
auth_type = scram-sha-256
auth_file = /etc/pgbouncer/userlist.txt
pool_mode = session
max_client_conn = 1000
default_pool_size = 25
server_reset_query = DISCARD ALL
server_check_delay = 10.5
tcp_keepalive = yes
log_connections = off
LOG_DISCONNECTIONS = 0
admin_users = postgres, ops
)");
  auto cfg = load(path);
  const Settings& s = cfg->settings;
  CHECK(s.listen_addr == "127.0.0.1, 10.0.0.1");
  CHECK(s.listen_port == 6543);
  CHECK(s.unix_socket_dir.empty());
  CHECK(s.unix_socket_mode == 0700);
  CHECK(s.auth_type == AuthType::kScramSha256);
  CHECK(s.max_client_conn == 1000);
  CHECK(s.default_pool_size == 25);
  CHECK(s.server_check_delay == Approx(10.5));
  CHECK(s.tcp_keepalive);
  CHECK_FALSE(s.log_connections);
  CHECK_FALSE(s.log_disconnections);
  CHECK(s.conffile == path);

  auto app = cfg->findDatabase("app");
  REQUIRE(app);
  CHECK(app->dbname == "appdb");
  CHECK(app->hosts == std::vector<std::string>{"db1.internal", "db2.internal"});
  CHECK(app->port == 5433);
  CHECK(app->pool_size == 30);
  CHECK(app->reserve_pool_size == 5);
  CHECK(app->pool_mode == PoolMode::kTransaction);
  auto reports = cfg->findDatabase("reports");
  REQUIRE(reports);
  CHECK(reports->hosts == std::vector<std::string>{"/var/run/postgresql"});
  CHECK(reports->user == "reporter");
  CHECK(reports->password == "p a'ss");
  CHECK(reports->connect_query == "SELECT 1");
  CHECK(reports->port == 5432);

  auto other = cfg->findDatabase("anything");
  REQUIRE(other);
  CHECK(other->name == "anything");
  CHECK(other->dbname == "anything");
  CHECK(other->hosts == std::vector<std::string>{"127.0.0.1"});

  const UserConfig* batch = cfg->findUser("batch");
  REQUIRE(batch);
  CHECK(batch->pool_size == 2);
  CHECK(batch->max_user_connections == 4);
  CHECK(batch->query_timeout == Approx(30.5));
  CHECK(cfg->findUser("nobody") == nullptr);
}

TEST_CASE("no fallback database means unknown names are not found", "[config]") {
  TempDir dir;
  auto cfg = load(dir.write("a.ini", "[databases]\napp = dbname=x\n[pgbouncer]\n"));
  CHECK_FALSE(cfg->findDatabase("other"));
  CHECK(cfg->findDatabase("app"));
}

TEST_CASE("defaults are PgBouncer's", "[config]") {
  TempDir dir;
  auto cfg = load(dir.write("empty.ini", "[pgbouncer]\n"));
  const Settings& s = cfg->settings;
  CHECK(s.listen_port == 6432);
  CHECK(s.unix_socket_dir == "/tmp");
  CHECK(s.pool_mode == PoolMode::kSession);
  CHECK(s.auth_type == AuthType::kMd5);
  CHECK(s.max_client_conn == 100);
  CHECK(s.default_pool_size == 20);
  CHECK(s.server_reset_query == "DISCARD ALL");
  CHECK(s.server_check_query == "<empty>");
  CHECK(s.query_wait_timeout == Approx(120));
  CHECK(s.max_prepared_statements == 200);
  CHECK(cfg->warnings.empty());
}

TEST_CASE("a key that is not implemented yet loads with exactly one warning", "[config]") {
  TempDir dir;
  auto cfg = load(dir.write("w.ini",
                            "[pgbouncer]\ndns_zone_check_period = 5\ndns_zone_check_period = 30\n"
                            "client_tls_sslmode = disable\n"));
  REQUIRE(cfg->warnings.size() == 1);
  CHECK_THAT(cfg->warnings[0], Catch::Contains("dns_zone_check_period"));
  CHECK_THAT(cfg->warnings[0], Catch::Contains("not implemented"));
  CHECK(cfg->settings.dns_zone_check_period == 30.0);
}

TEST_CASE("every PgBouncer key is accepted", "[config]") {
  TempDir dir;
  CHECK(allKeys().size() >= 99);
  for (const KeyInfo& key : allKeys()) {
    Settings defaults;
    std::string value = valueText(key, defaults);
    if (value.empty()) value = "x";
    auto path = dir.write("k.ini", "[pgbouncer]\n" + std::string(key.name) + " = " + value + "\n");
    LoadResult result = loadConfig(path);
    INFO(key.name << " = " << value);
    CHECK(std::holds_alternative<std::shared_ptr<const Config>>(result));
  }
}

TEST_CASE("%include splices another file in place", "[config]") {
  TempDir dir;
  dir.write("dbs.ini", "app = dbname=included\n");
  std::string main = dir.write("main.ini", "[databases]\n%include " + dir.path() +
                                               "/dbs.ini\n[pgbouncer]\nlisten_port = 7000\n");
  auto cfg = load(main);
  REQUIRE(cfg->findDatabase("app"));
  CHECK(cfg->findDatabase("app")->dbname == "included");
  CHECK(cfg->settings.listen_port == 7000);
}

TEST_CASE("errors name file, line, key and reason", "[config]") {
  TempDir dir;
  struct Case {
    std::string text;
    int line;
    std::string key;
    std::string reason;
  };
  const Case cases[] = {
      {"[pgbouncer]\nlisten_port = 1\nno_such_key = 1\n", 3, "no_such_key", "unknown parameter"},
      {"[pgbouncer]\nlisten_port = abc\n", 2, "listen_port", "invalid integer"},
      {"[pgbouncer]\ntcp_keepalive = maybe\n", 2, "tcp_keepalive", "invalid boolean"},
      {"[pgbouncer]\nserver_lifetime = soon\n", 2, "server_lifetime", "invalid time"},
      {"[pgbouncer]\nunix_socket_mode = 0999\n", 2, "unix_socket_mode", "invalid octal"},
      {"[pgbouncer]\npool_mode = sometimes\n", 2, "pool_mode", "invalid pool_mode"},
      {"[pgbouncer]\nauth_type = kerberos\n", 2, "auth_type", "invalid auth_type"},
      {"[pgbouncer]\nserver_tls_sslmode = maybe\n", 2, "server_tls_sslmode", "invalid sslmode"},
      {"[mystery]\nkey = 1\n", 2, "", "unknown section"},
      {"listen_port = 1\n", 1, "listen_port", "outside of any section"},
      {"[pgbouncer]\njust words\n", 2, "just words", "syntax error"},
      {"[databases]\napp = dbname=x colour=blue\n", 2, "colour", "unknown parameter"},
      {"[databases]\napp = dbname='unterminated\n", 2, "app", "unterminated"},
      {"[databases]\napp = dbname=x pool_mode=often\n", 2, "pool_mode", "invalid pool_mode"},
      {"[databases]\napp = dbname=x port=high\n", 2, "port", "invalid integer"},
      {"[databases]\napp = dbname=x load_balance_hosts=random\n", 2, "load_balance_hosts",
       "invalid"},
      {"[databases]\napp = justtext\n", 2, "app", "expected key=value"},
      {"[users]\nbob = pool_size=-1\n", 2, "pool_size", "invalid integer"},
      {"[users]\nbob = colour=red\n", 2, "colour", "unknown parameter"},
      {"[pgbouncer]\n%include /nonexistent/file.ini\n", 2, "%include", "cannot open"},
      {"[pgbouncer]\npeer_id = 16384\n", 2, "peer_id", "16383"},
      {"[peers]\n0 = host=/tmp\n", 2, "0", "peer_id, 1 to 16383"},
      {"[peers]\nfirst = host=/tmp\n", 2, "first", "peer_id"},
      {"[peers]\n1 = port=6432\n", 2, "host", "needs host="},
      {"[peers]\n1 = host=/tmp port=x\n", 2, "port", "invalid integer"},
      {"[peers]\n1 = host=/tmp colour=red\n", 2, "colour", "unknown parameter"},
  };
  for (const Case& c : cases) {
    std::string path = dir.write("bad.ini", c.text);
    ConfigError error = loadError(path);
    INFO(c.text << " -> " << error.message());
    CHECK(error.file == path);
    CHECK(error.line == c.line);
    CHECK(error.key == c.key);
    CHECK_THAT(error.reason, Catch::Contains(c.reason));
    CHECK_THAT(error.message(), Catch::Contains(path + ":" + std::to_string(c.line)));
  }
}

TEST_CASE("an error inside an included file names that file", "[config]") {
  TempDir dir;
  std::string inner = dir.write("inner.ini", "listen_port = 1\nbogus = 2\n");
  std::string main = dir.write("main.ini", "[pgbouncer]\n%include " + inner + "\n");
  ConfigError error = loadError(main);
  CHECK(error.file == inner);
  CHECK(error.line == 2);
  CHECK(error.key == "bogus");
}

TEST_CASE("include loops and a missing main file are errors", "[config]") {
  TempDir dir;
  std::string a = dir.path() + "/a.ini";
  std::string b = dir.path() + "/b.ini";
  dir.write("a.ini", "[pgbouncer]\n%include " + b + "\n");
  dir.write("b.ini", "%include " + a + "\n");
  CHECK_THAT(loadError(a).reason, Catch::Contains("include loop"));
  ConfigError missing = loadError(dir.path() + "/nope.ini");
  CHECK(missing.line == 0);
  CHECK_THAT(missing.reason, Catch::Contains("cannot open"));
}

TEST_CASE("long connection strings and apibouncer sections", "[config]") {
  TempDir dir;
  std::string long_query(3000, 'x');
  auto cfg = load(
      dir.write("long.ini", "[databases]\napp = dbname=x connect_query='SELECT ''" + long_query +
                                "'''\n[apibouncer]\nwriter_user = w\n[api.stripe]\nplatform = "
                                "stripe\n[table.public.customer]\napi = stripe\n"));
  CHECK(cfg->findDatabase("app")->connect_query == "SELECT '" + long_query + "'");
  CHECK(cfg->extra_sections.at("apibouncer").at("writer_user") == "w");
  CHECK(cfg->extra_sections.at("api.stripe").at("platform") == "stripe");
  CHECK(cfg->extra_sections.at("table.public.customer").at("api") == "stripe");
}

TEST_CASE("passwords may contain ; and # and =", "[config]") {
  TempDir dir;
  auto cfg = load(dir.write("pw.ini", "[databases]\napp = dbname=x password=a;b#c=d\n"));
  CHECK(cfg->findDatabase("app")->password == "a;b#c=d");
}

TEST_CASE("a line over 64 kB is an error, not silently split", "[config]") {
  TempDir dir;
  std::string path = dir.write(
      "huge.ini", "[databases]\napp = dbname=x connect_query=" + std::string(70000, 'y') + "\n");
  ConfigError error = loadError(path);
  CHECK(error.line == 2);
  CHECK_THAT(error.reason, Catch::Contains("too long"));
}

TEST_CASE("database parameters that are not implemented yet warn once", "[config]") {
  TempDir dir;
  auto cfg =
      load(dir.write("db.ini", "[databases]\na = dbname=x auth_user=pgb\nb = auth_user=pgb\n"));
  REQUIRE(cfg->warnings.size() == 1);
  CHECK_THAT(cfg->warnings[0], Catch::Contains("auth_user"));
}

TEST_CASE("[peers] entries: host, port (6432) and pool_size per peer_id", "[config]") {
  TempDir dir;
  auto cfg = load(dir.write("peers.ini",
                            "[pgbouncer]\npeer_id = 2\n[peers]\n1 = host=/run/one\n"
                            "3 = host=10.0.0.3 port=6544 pool_size=4\n"));
  CHECK(cfg->warnings.empty());
  CHECK(cfg->settings.peer_id == 2);
  REQUIRE(cfg->peers.size() == 2);
  CHECK(cfg->peers.at(1).host == "/run/one");
  CHECK(cfg->peers.at(1).port == 6432);
  CHECK(cfg->peers.at(1).pool_size == -1);
  CHECK(cfg->peers.at(3).host == "10.0.0.3");
  CHECK(cfg->peers.at(3).port == 6544);
  CHECK(cfg->peers.at(3).pool_size == 4);
}
