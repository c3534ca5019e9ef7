// auth_hba_file: every line form, address matching, first match wins, quoting, @file
// includes, and file:line errors for lines outside PgBouncer's subset.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "pooler/auth/hba.h"

using namespace apibouncer::auth;

namespace {

// @file includes come from this map instead of the disk.
HbaParseResult parse(const std::string& text, std::map<std::string, std::string> files = {}) {
  return parseHba(text, "/etc/hba.conf", [files](const std::string& path) {
    auto it = files.find(path);
    return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

HbaRules rulesOf(const std::string& text, std::map<std::string, std::string> files = {}) {
  HbaParseResult result = parse(text, std::move(files));
  if (auto* error = std::get_if<HbaError>(&result)) FAIL(error->message());
  return std::get<HbaRules>(result);
}

std::string errorOf(const std::string& text, std::map<std::string, std::string> files = {}) {
  HbaParseResult result = parse(text, std::move(files));
  if (auto* error = std::get_if<HbaError>(&result)) return error->message();
  return "(parsed)";
}

HbaClient tcp(const std::string& ip, std::string_view db, std::string_view user) {
  HbaClient client;
  auto parsed = parseIp(ip);
  REQUIRE(parsed);
  client.address = *parsed;
  client.database = db;
  client.user = user;
  return client;
}

HbaClient local(std::string_view db, std::string_view user) {
  HbaClient client;
  client.unix_socket = true;
  client.database = db;
  client.user = user;
  return client;
}

// The matched method's name, or "no match".
std::string decide(const HbaRules& rules, const HbaClient& client) {
  const HbaRule* rule = matchHba(rules, client);
  return rule ? std::string(toString(rule->method)) : "no match";
}

}  // namespace

TEST_CASE("hba: each connection type matches its own kind of connection", "[hba]") {
  HbaRules rules = rulesOf(
      "local     all all                 peer\n"
      "hostssl   all all 0.0.0.0/0       cert\n"
      "hostnossl all all 10.0.0.0/8      md5\n"
      "host      all all 0.0.0.0/0       scram-sha-256\n");
  REQUIRE(rules.rules.size() == 4);
  CHECK(decide(rules, local("app", "alice")) == "peer");
  CHECK(decide(rules, tcp("10.1.2.3", "app", "alice")) == "md5");
  CHECK(decide(rules, tcp("192.168.1.1", "app", "alice")) == "scram-sha-256");
  HbaClient tls = tcp("10.1.2.3", "app", "alice");
  tls.tls = true;
  CHECK(decide(rules, tls) == "cert");
  // No local line: a Unix-socket login is rejected.
  CHECK(decide(rulesOf("host all all 0.0.0.0/0 trust\n"), local("app", "alice")) == "no match");
}

TEST_CASE("hba: every method, and the rule's file and line", "[hba]") {
  HbaRules rules = rulesOf(
      "# methods\n"
      "local a all trust\n"
      "local b all reject\n"
      "local c all md5\n"
      "local d all scram-sha-256\n"
      "local e all password\n"
      "local f all peer\n"
      "host  g all 0.0.0.0/0 cert\n");
  const char* expected[] = {"trust", "reject", "md5", "scram-sha-256", "password", "peer"};
  for (int i = 0; i < 6; ++i) {
    std::string db(1, static_cast<char>('a' + i));
    CHECK(decide(rules, local(db, "u")) == expected[i]);
  }
  CHECK(decide(rules, tcp("1.2.3.4", "g", "u")) == "cert");
  CHECK(rules.rules[0].line == 2);
  CHECK(rules.rules[0].file == "/etc/hba.conf");
  CHECK(rules.rules[6].line == 8);
}

TEST_CASE("hba: IPv4 CIDR, address + mask, and host bits outside the mask", "[hba]") {
  HbaRules rules = rulesOf(
      "host all all 127.0.0.1/32 trust\n"
      "host all all 192.168.0.0 255.255.0.0 md5\n"
      "host all all 10.9.8.7/8 password\n"  // host bits are masked off
      "host all all 0.0.0.0/0 reject\n");
  CHECK(decide(rules, tcp("127.0.0.1", "d", "u")) == "trust");
  CHECK(decide(rules, tcp("127.0.0.2", "d", "u")) == "reject");
  CHECK(decide(rules, tcp("192.168.200.1", "d", "u")) == "md5");
  CHECK(decide(rules, tcp("192.169.0.1", "d", "u")) == "reject");
  CHECK(decide(rules, tcp("10.255.0.1", "d", "u")) == "password");
  // An IPv6 client never matches IPv4 rules.
  CHECK(decide(rules, tcp("::1", "d", "u")) == "no match");
}

TEST_CASE("hba: IPv6 prefixes and masks; IPv4-mapped clients match IPv4 rules", "[hba]") {
  HbaRules rules = rulesOf(
      "host all all ::1/128 trust\n"
      "host all all fe80::/10 md5\n"
      "host all all 2001:db8:: ffff:ffff:: password\n"
      "host all all 127.0.0.0/8 scram-sha-256\n");
  CHECK(decide(rules, tcp("::1", "d", "u")) == "trust");
  CHECK(decide(rules, tcp("::2", "d", "u")) == "no match");
  CHECK(decide(rules, tcp("fe80::1234", "d", "u")) == "md5");
  CHECK(decide(rules, tcp("febf::1", "d", "u")) == "md5");
  CHECK(decide(rules, tcp("fec0::1", "d", "u")) == "no match");
  CHECK(decide(rules, tcp("2001:db8:ffff::1", "d", "u")) == "password");
  CHECK(decide(rules, tcp("2001:db9::1", "d", "u")) == "no match");
  CHECK(decide(rules, tcp("::ffff:127.0.0.1", "d", "u")) == "scram-sha-256");
}

TEST_CASE("hba: the address keyword all, and odd prefix lengths", "[hba]") {
  HbaRules rules = rulesOf(
      "host all all 172.16.0.0/12 md5\n"
      "host all all 128.0.0.0/1 password\n"
      "host all all all trust\n");
  CHECK(decide(rules, tcp("172.31.255.255", "d", "u")) == "md5");
  CHECK(decide(rules, tcp("172.32.0.0", "d", "u")) == "password");
  CHECK(decide(rules, tcp("100.0.0.1", "d", "u")) == "trust");
  CHECK(decide(rules, tcp("2001:db8::1", "d", "u")) == "trust");
}

TEST_CASE("hba: the first matching line wins", "[hba]") {
  HbaRules rules = rulesOf(
      "host app   alice 0.0.0.0/0 reject\n"
      "host app   all   0.0.0.0/0 md5\n"
      "host all   alice 0.0.0.0/0 trust\n"
      "host all   all   0.0.0.0/0 scram-sha-256\n");
  CHECK(decide(rules, tcp("1.1.1.1", "app", "alice")) == "reject");
  CHECK(decide(rules, tcp("1.1.1.1", "app", "bob")) == "md5");
  CHECK(decide(rules, tcp("1.1.1.1", "other", "alice")) == "trust");
  CHECK(decide(rules, tcp("1.1.1.1", "other", "bob")) == "scram-sha-256");
}

TEST_CASE("hba: database and user lists, sameuser, replication", "[hba]") {
  HbaRules rules = rulesOf(
      "local app,reports alice,bob md5\n"
      "local sameuser    all       trust\n"
      "local replication all       password\n"
      "local all         carol     scram-sha-256\n");
  CHECK(decide(rules, local("app", "alice")) == "md5");
  CHECK(decide(rules, local("reports", "bob")) == "md5");
  CHECK(decide(rules, local("app", "carol")) == "scram-sha-256");
  CHECK(decide(rules, local("dave", "dave")) == "trust");
  CHECK(decide(rules, local("dave", "erin")) == "no match");
  // A physical replication connection matches only the replication keyword ...
  HbaClient replication = local("app", "carol");
  replication.replication = true;
  CHECK(decide(rules, replication) == "password");
  // ... and a database named "replication" is not a replication connection.
  CHECK(decide(rules, local("replication", "erin")) == "no match");
}

TEST_CASE("hba: comments, blank lines, tabs, CRLF and continuation lines", "[hba]") {
  HbaRules rules = rulesOf(
      "\n"
      "   # full-line comment\n"
      "local\tall\tall\ttrust   # trailing comment\r\n"
      "host all \\\n"
      "     all 10.0.0.0/8 \\\n"
      "     md5\n"
      "\t\n");
  REQUIRE(rules.rules.size() == 2);
  CHECK(rules.rules[1].line == 4);
  CHECK(decide(rules, tcp("10.0.0.1", "d", "u")) == "md5");
}

TEST_CASE("hba: quoting keeps keywords from being keywords and allows odd names", "[hba]") {
  HbaRules rules = rulesOf(
      "local \"all\"          all               md5\n"
      "local \"my db\",other  \"o\"\"brien\"    trust\n"
      "local \"sameuser\"     \"all\"           password\n"
      "local \"x#y\"          all               scram-sha-256\n");
  CHECK(decide(rules, local("all", "u")) == "md5");
  CHECK(decide(rules, local("app", "u")) == "no match");
  CHECK(decide(rules, local("my db", "o\"brien")) == "trust");
  CHECK(decide(rules, local("other", "o\"brien")) == "trust");
  CHECK(decide(rules, local("sameuser", "all")) == "password");
  CHECK(decide(rules, local("sameuser", "sameuser")) == "no match");
  CHECK(decide(rules, local("x#y", "u")) == "scram-sha-256");
}

TEST_CASE("hba: names are case-sensitive, as in PostgreSQL", "[hba]") {
  HbaRules rules = rulesOf("local App all trust\n");
  CHECK(decide(rules, local("App", "u")) == "trust");
  CHECK(decide(rules, local("app", "u")) == "no match");
  CHECK(errorOf("LOCAL all all trust\n") == "/etc/hba.conf:1: invalid connection type \"LOCAL\"");
}

TEST_CASE("hba: @file includes, relative to the including file, nested", "[hba]") {
  HbaRules rules = rulesOf("local @dbs.txt @/abs/users trust\n",
                           {{"/etc/dbs.txt", "app, reports # two\n@more\n"},
                            {"/etc/more", "billing\n"},
                            {"/abs/users", "alice bob\n\"all\"\n"}});
  CHECK(decide(rules, local("app", "alice")) == "trust");
  CHECK(decide(rules, local("billing", "bob")) == "trust");
  CHECK(decide(rules, local("reports", "all")) == "trust");
  CHECK(decide(rules, local("reports", "carol")) == "no match");
  CHECK(errorOf("local @missing all trust\n") ==
        "/etc/hba.conf:1: cannot read @missing (/etc/missing)");
  CHECK(errorOf("local @loop all trust\n", {{"/etc/loop", "@loop\n"}}) ==
        "/etc/hba.conf:1: @file includes nested too deeply");
}

TEST_CASE("hba: map= is kept for peer and cert", "[hba]") {
  HbaRules rules = rulesOf("local all all peer map=ops\n");
  CHECK(rules.rules[0].map == "ops");
  CHECK(errorOf("local all all md5 map=ops\n") ==
        "/etc/hba.conf:1: map= is only for peer and cert");
}

TEST_CASE("ident map: map-name system-user database-user, all, quoting, comments", "[hba]") {
  auto parsed = parseIdentMap(
      "# MAP   SYSTEM   DATABASE\n"
      "ops     root     app\n"
      "ops     deploy   all      # any database user\n"
      "web     \"www data\" \"all\"\n",
      "/etc/ident.conf");
  REQUIRE(std::holds_alternative<IdentMap>(parsed));
  const IdentMap& map = std::get<IdentMap>(parsed);
  CHECK(map.allows("ops", "root", "app"));
  CHECK_FALSE(map.allows("ops", "root", "billing"));
  CHECK(map.allows("ops", "deploy", "billing"));
  CHECK_FALSE(map.allows("web", "deploy", "app"));
  CHECK(map.allows("web", "www data", "all"));  // quoted: a user named all
  CHECK_FALSE(map.allows("web", "www data", "app"));
  CHECK(map.hasMap("web"));
  CHECK_FALSE(map.hasMap("nope"));
}

TEST_CASE("ident map: lines outside PgBouncer's subset are errors with file:line", "[hba]") {
  const std::pair<const char*, const char*> cases[] = {
      {"ops root", "expected: map-name system-user database-user"},
      {"include other.conf", "expected: map-name system-user database-user"},
      {"ops root app extra", "expected: map-name system-user database-user"},
      {"ops root,deploy app", "expected: map-name system-user database-user"},
      {"ops /^(.*)$ app", "regular expressions (/^(.*)$) are not supported"},
      {"ops root +admins", "group names (+admins) are not supported"},
  };
  for (const auto& [line, reason] : cases) {
    INFO(line);
    auto parsed = parseIdentMap(std::string("\n") + line + "\n", "/etc/ident.conf");
    REQUIRE(std::holds_alternative<HbaError>(parsed));
    CHECK(std::get<HbaError>(parsed).message() == std::string("/etc/ident.conf:2: ") + reason);
  }
}

TEST_CASE("hba + ident files from disk: map= must name a map the ident file has", "[hba]") {
  char tmpl[] = "/tmp/apibouncer-hba-unit-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  std::string hba = write("hba.conf", "local all @users.txt peer map=ops\n");
  write("users.txt", "app\n");
  std::string ident = write("ident.conf", "ops root app\n");
  auto loaded = loadHbaFiles(hba, ident);
  REQUIRE(std::holds_alternative<HbaRules>(loaded));
  CHECK(std::get<HbaRules>(loaded).ident_map.allows("ops", "root", "app"));
  HbaClient client = local("app", "app");
  CHECK(decide(std::get<HbaRules>(loaded), client) == "peer");

  auto without_ident = loadHbaFiles(hba, "");
  REQUIRE(std::holds_alternative<HbaError>(without_ident));
  CHECK(std::get<HbaError>(without_ident).message() == hba + ":1: map=ops needs auth_ident_file");
  std::string other = write("other.conf", "web root app\n");
  auto missing_map = loadHbaFiles(hba, other);
  REQUIRE(std::holds_alternative<HbaError>(missing_map));
  CHECK(std::get<HbaError>(missing_map).message() == hba + ":1: map \"ops\" is not in " + other);
  auto no_file = loadHbaFiles(hba, dir + "/nope.conf");
  REQUIRE(std::holds_alternative<HbaError>(no_file));
  CHECK(std::get<HbaError>(no_file).message() == dir + "/nope.conf: cannot read the file");
  CHECK(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
}

TEST_CASE("hba: lines that load but cannot let anyone in are warned about", "[hba]") {
  HbaRules rules = rulesOf(
      "hostssl all all all cert\n"
      "host all all all cert\n"
      "host all all all peer\n"
      "host all all all md5\n");
  REQUIRE(rules.warnings.size() == 2);
  CHECK(rules.warnings[0].starts_with("/etc/hba.conf:2: cert works only with TLS"));
  CHECK(rules.warnings[1].starts_with("/etc/hba.conf:3: peer works only on local"));
}

TEST_CASE("hba: lines outside the subset are errors naming file and line", "[hba]") {
  const std::pair<const char*, const char*> cases[] = {
      {"hostgssenc all all all md5", "hostgssenc is not supported (no GSSAPI encryption)"},
      {"remote all all all md5", "invalid connection type \"remote\""},
      {"local", "missing database name"},
      {"local all", "missing user name"},
      {"local all all", "missing authentication method"},
      {"host all all", "missing address"},
      {"host all all 10.0.0.1", "missing IP mask after address 10.0.0.1"},
      {"host all all 10.0.0.1 md5", "invalid IP mask \"md5\""},
      {"host all all 10.0.0.1 ffff:: md5", "invalid IP mask \"ffff::\""},
      {"host all all 10.0.0.0/33 md5", "invalid CIDR mask length \"33\""},
      {"host all all ::1/129 md5", "invalid CIDR mask length \"129\""},
      {"host all all 10.0.0.0/x md5", "invalid CIDR mask length \"x\""},
      {"host all all db.example.com md5",
       "invalid IP address \"db.example.com\" (host names are not supported)"},
      {"host all all samenet md5", "samenet is not supported"},
      {"host all all all ident", "authentication method \"ident\" is not supported"},
      {"local all all ldap", "authentication method \"ldap\" is not supported"},
      {"local all all trust,md5", "authentication method cannot be a list"},
      {"local all all md5 clientcert=verify-full",
       "unsupported option \"clientcert=verify-full\" (only map= is)"},
      {"local samerole all md5", "samerole is not supported (PgBouncer has no role membership)"},
      {"local all +admins md5", "group names (+admins) are not supported"},
      {"local /^db all md5", "regular expressions (/^db) are not supported"},
      {"local \"all md5", "unterminated quoted string"},
      {"local all all md5,", "list ends with a comma"},
      {"local all,,x all md5", "empty list element"},
      {"local,host all all md5", "connection type cannot be a list"},
  };
  for (const auto& [line, reason] : cases) {
    INFO(line);
    CHECK(errorOf(std::string("# header\n") + line + "\n") ==
          std::string("/etc/hba.conf:2: ") + reason);
  }
}

TEST_CASE("hba: loading from disk; a missing file is an error", "[hba]") {
  auto result = loadHbaFile("/nonexistent/hba.conf");
  REQUIRE(std::holds_alternative<HbaError>(result));
  CHECK(std::get<HbaError>(result).message() == "/nonexistent/hba.conf: cannot read the file");
}

TEST_CASE("hba: arbitrary bytes parse to rules or an error, never a crash", "[hba]") {
  const std::string seed =
      "local all all peer map=ops\nhost \"a\"\"b\",c @f 10.0.0.0/8 md5\n"
      "host all all ::1 ffff:: trust \\\n# x\nhostssl all all all cert\n";
  const std::string alphabet = " \t\n\r\\\"#,@/+=:.0123456789abcdefhlostpmr";
  uint32_t state = 12345;
  auto next = [&state] { return state = state * 1103515245u + 12345u; };
  for (int i = 0; i < 3000; ++i) {
    std::string text = seed;
    for (int edits = 1 + next() % 8; edits > 0; --edits) {
      size_t at = next() % (text.size() + 1);
      if (next() % 2 == 0 && at < text.size())
        text.erase(at, 1 + next() % 4);
      else
        text.insert(at, 1, alphabet[next() % alphabet.size()]);
    }
    HbaParseResult result = parse(text, {{"/etc/f", text}});
    if (auto* rules = std::get_if<HbaRules>(&result)) {
      HbaClient client = local("app", "app");
      matchHba(*rules, client);
    }
    parseIdentMap(text, "/etc/ident.conf");
  }
}
