// The auth_hba_file decision for one login: which exchange ClientAuth runs, and the wording
// and SQLSTATE of each refusal.
#include <catch2/catch.hpp>

#include "pooler/client_hba.h"

using namespace apibouncer;
using config::AuthType;

namespace {

auth::HbaRules rulesOf(const std::string& text) {
  auto parsed = auth::parseHba(text, "/etc/hba.conf");
  REQUIRE(std::holds_alternative<auth::HbaRules>(parsed));
  return std::get<auth::HbaRules>(parsed);
}

HbaLogin tcpLogin(const std::string& ip, std::string_view user) {
  HbaLogin login;
  login.client.address = *auth::parseIp(ip);
  login.client.database = "app";
  login.client.user = user;
  login.host = ip;
  return login;
}

HbaLogin unixLogin(std::string_view user, std::optional<std::string> os_user) {
  HbaLogin login;
  login.client.unix_socket = true;
  login.client.database = "app";
  login.client.user = user;
  login.host = "[local]";
  login.os_user = std::move(os_user);
  login.os_user_error = "cannot read the peer's credentials";
  return login;
}

}  // namespace

TEST_CASE("hba login: password methods become ClientAuth exchanges", "[hba]") {
  auth::HbaRules rules = rulesOf(
      "host all a all trust\n"
      "host all b all md5\n"
      "host all c all scram-sha-256\n"
      "host all d all password\n");
  const std::pair<const char*, AuthType> cases[] = {{"a", AuthType::kTrust},
                                                    {"b", AuthType::kMd5},
                                                    {"c", AuthType::kScramSha256},
                                                    {"d", AuthType::kPlain}};
  for (const auto& [user, type] : cases) {
    HbaDecision decision = decideHbaLogin(&rules, tcpLogin("10.0.0.1", user));
    CHECK_FALSE(decision.refused);
    CHECK(decision.auth_type == type);
  }
  CHECK(decideHbaLogin(&rules, tcpLogin("10.0.0.1", "b")).reason == "md5 by /etc/hba.conf:2");
}

TEST_CASE("hba login: no line and reject lines are refused as PostgreSQL words it", "[hba]") {
  auth::HbaRules rules = rulesOf("host all all 127.0.0.1/32 reject\n");
  HbaDecision rejected = decideHbaLogin(&rules, tcpLogin("127.0.0.1", "alice"));
  CHECK(rejected.refused);
  CHECK(rejected.sqlstate == "28000");
  CHECK(rejected.message ==
        "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"alice\", database "
        "\"app\", no encryption");
  CHECK(rejected.reason == "reject by /etc/hba.conf:1");

  HbaDecision unmatched = decideHbaLogin(&rules, tcpLogin("::1", "alice"));
  CHECK(unmatched.refused);
  CHECK(unmatched.sqlstate == "28000");
  CHECK(unmatched.message ==
        "no pg_hba.conf entry for host \"::1\", user \"alice\", database \"app\", no encryption");
  // Nothing loaded: nobody gets in.
  CHECK(decideHbaLogin(nullptr, tcpLogin("127.0.0.1", "alice")).refused);
}

TEST_CASE("hba login: peer needs the Unix socket and the same OS user", "[hba]") {
  auth::HbaRules rules = rulesOf(
      "local all all peer\n"
      "host all all all peer\n");
  HbaDecision same = decideHbaLogin(&rules, unixLogin("alice", "alice"));
  CHECK_FALSE(same.refused);
  CHECK(same.auth_type == AuthType::kAny);

  HbaDecision other = decideHbaLogin(&rules, unixLogin("alice", "mallory"));
  CHECK(other.refused);
  CHECK(other.sqlstate == "28000");
  CHECK(other.message == "peer authentication failed for user \"alice\"");
  CHECK(other.reason.find("OS user \"mallory\", not \"alice\"") != std::string::npos);

  CHECK(decideHbaLogin(&rules, unixLogin("alice", std::nullopt)).refused);
  HbaDecision tcp = decideHbaLogin(&rules, tcpLogin("10.0.0.1", "alice"));
  CHECK(tcp.refused);
  CHECK(tcp.reason == "peer by /etc/hba.conf:2 needs a Unix-socket connection");
}

TEST_CASE("hba login: peer with map= lets the OS users the map names in", "[hba]") {
  auth::HbaRules rules = rulesOf("local all all peer map=ops\n");
  rules.ident_map =
      std::get<auth::IdentMap>(auth::parseIdentMap("ops root app\n"
                                                   "ops deploy all\n",
                                                   "/etc/ident.conf"));
  CHECK_FALSE(decideHbaLogin(&rules, unixLogin("app", "root")).refused);
  CHECK_FALSE(decideHbaLogin(&rules, unixLogin("billing", "deploy")).refused);
  HbaDecision unmapped = decideHbaLogin(&rules, unixLogin("billing", "root"));
  CHECK(unmapped.refused);
  CHECK(unmapped.message == "peer authentication failed for user \"billing\"");
  CHECK(unmapped.reason ==
        "peer by /etc/hba.conf:1: map \"ops\" does not let OS user \"root\" in as \"billing\"");
  // With a map, the OS user's own name is not enough.
  CHECK(decideHbaLogin(&rules, unixLogin("alice", "alice")).refused);
}

TEST_CASE("hba login: cert lets in the user the certificate names, over TLS only", "[hba]") {
  auth::HbaRules rules = rulesOf("hostssl all all all cert\nhost all all all cert\n");
  HbaLogin plain = tcpLogin("10.0.0.1", "alice");
  HbaDecision refused_plain = decideHbaLogin(&rules, plain);
  CHECK(refused_plain.refused);
  CHECK(refused_plain.sqlstate == "28000");
  CHECK(refused_plain.message == "connection requires a valid client certificate");
  CHECK(refused_plain.reason == "cert by /etc/hba.conf:2: the client did not use TLS");

  HbaLogin tls = tcpLogin("10.0.0.1", "alice");
  tls.client.tls = true;
  HbaDecision no_cert = decideHbaLogin(&rules, tls);
  CHECK(no_cert.refused);
  CHECK(no_cert.reason == "cert by /etc/hba.conf:1: no client certificate");

  tls.certificate_name = "alice";
  HbaDecision ok = decideHbaLogin(&rules, tls);
  CHECK_FALSE(ok.refused);
  CHECK(ok.auth_type == AuthType::kAny);

  tls.certificate_name = "mallory";
  HbaDecision other = decideHbaLogin(&rules, tls);
  CHECK(other.refused);
  CHECK(other.message == "certificate authentication failed for user \"alice\"");
  CHECK(other.reason == "cert by /etc/hba.conf:1: the certificate is for \"mallory\"");
}

TEST_CASE("hba login: cert with map= maps certificate names to users", "[hba]") {
  auto parsed = auth::parseHba("hostssl all all all cert map=certs\n", "/etc/hba.conf");
  REQUIRE(std::holds_alternative<auth::HbaRules>(parsed));
  auto rules = std::get<auth::HbaRules>(parsed);
  auto map = auth::parseIdentMap("certs alice.example.com billing\n", "/etc/ident.conf");
  REQUIRE(std::holds_alternative<auth::IdentMap>(map));
  rules.ident_map = std::get<auth::IdentMap>(map);
  HbaLogin login = tcpLogin("10.0.0.1", "billing");
  login.client.tls = true;
  login.certificate_name = "alice.example.com";
  CHECK_FALSE(decideHbaLogin(&rules, login).refused);
  login.certificate_name = "billing";  // with a map, the user's own name is not enough
  CHECK(decideHbaLogin(&rules, login).refused);
}
