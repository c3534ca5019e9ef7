// Credentials, as a user of apibouncer sees them: OAuth2 access tokens obtained from a refresh
// token, renewed before they expire and once after the API refuses one, refreshes serialized,
// a rotated refresh token kept in token_file across restarts, a dead refresh token reported as
// 28000, and no secret ever in the log or in an error. The generic `http` platform and the fake
// API's RFC 6749 token endpoint (/oauth/token) stand in for any OAuth platform; the platform
// tests cover each platform's own token endpoint.
#include <rapidjson/document.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fakeapi_fixture.h"
#include "fixture.h"

using namespace itest;

namespace {

// The fake API accepts this static key and the tokens it issues; apibouncer is never given it,
// so every accepted write carried an OAuth access token.
constexpr const char* kStaticKey = "static-key-apibouncer-does-not-know";
constexpr const char* kClientSecret = "cs-very-secret-client-secret";

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

struct OAuthSetup {
  explicit OAuthSetup(const std::string& suffix) : table("oa_" + suffix), api(kStaticKey) {
    char dir_template[] = "/tmp/apibouncer-oauth-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    dir = dir_template;
    token_file = dir + "/crm.token";
    ensureRole("writer", "writer-secret");
    superuserQuery("SET client_min_messages = warning; DROP TABLE IF EXISTS public." + table);
    superuserQuery("CREATE TABLE public." + table + " (id text PRIMARY KEY, name text NOT NULL)");
    superuserQuery("GRANT SELECT ON public." + table + " TO app");
    superuserQuery("GRANT ALL ON public." + table + " TO writer");
  }
  ~OAuthSetup() {
    pooler.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  void registerRefreshToken(int expires_in, bool rotate) {
    control(api, "/_control/oauth",
            R"({"refresh_token":"rt-initial","client_id":"cid","client_secret":")" +
                std::string(kClientSecret) + R"(","expires_in":)" + std::to_string(expires_in) +
                R"(,"rotate":)" + (rotate ? "true" : "false") + "}");
  }

  void start(const std::string& refresh_token = "rt-initial") {
    pooler.reset();
    std::string settings =
        "[apibouncer]\nwriter_user = writer\napi_timeout = 5\n"
        "[api.crm]\nplatform = http\nbase_url = " +
        api.baseUrl() + "\ntoken_url = " + api.baseUrl() +
        "/oauth/token\nclient_id = cid\nclient_secret = " + kClientSecret +
        "\nrefresh_token = " + refresh_token + "\ntoken_file = " + token_file + "\n[table.public." +
        table + "]\ndatabase = app\napi = crm\nobject = customers\n";
    pooler = std::make_unique<PoolerProcess>(
        PoolerConfig{"", settings, defaultUserlist() + "\"writer\" \"writer-secret\"\n", true});
  }

  int refreshes() const {
    rapidjson::Document doc;
    std::string body = apiGet(api, "/_control/oauth");
    doc.Parse(body.c_str());
    REQUIRE(doc.IsObject());
    return doc["refreshes"].GetInt();
  }
  // The refresh tokens the fake API still honours.
  std::vector<std::string> liveRefreshTokens() const {
    rapidjson::Document doc;
    std::string body = apiGet(api, "/_control/oauth");
    doc.Parse(body.c_str());
    std::vector<std::string> tokens;
    for (const auto& token : doc["refresh_tokens"].GetArray()) tokens.push_back(token.GetString());
    return tokens;
  }
  // How many requests reached /customers (whatever their answer).
  int customerRequests() const {
    rapidjson::Document doc;
    std::string body = apiGet(api, "/_control/requests");
    doc.Parse(body.c_str());
    int count = 0;
    for (const auto& entry : doc.GetArray())
      if (std::string(entry["path"].GetString()) == "/customers") ++count;
    return count;
  }

  std::string insert(PGconn* conn, const std::string& name) {
    Result r = exec(conn, "INSERT INTO " + table + " (name) VALUES ('" + name + "') RETURNING id");
    INFO(PQresultErrorMessage(r.get()) << "\npooler log:\n" << pooler->log());
    REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
    return PQgetvalue(r.get(), 0, 0);
  }

  void checkNoSecretsLogged() const {
    std::string log = pooler->log();
    INFO(log);
    CHECK(log.find(kClientSecret) == std::string::npos);
    CHECK(log.find("rt-initial") == std::string::npos);
    CHECK(log.find("rt-rotated") == std::string::npos);
    for (const char* token : {"at-1-", "at-2-", "at-3-"})  // the fake's access tokens
      CHECK(log.find(token) == std::string::npos);
  }

  std::string table, dir, token_file;
  FakeApiProcess api;
  std::unique_ptr<PoolerProcess> pooler;
};

}  // namespace

TEST_CASE("oauth: the first write refreshes; an expired token is refreshed once and resent",
          "[oauth]") {
  OAuthSetup setup("expiry");
  setup.registerRefreshToken(3600, false);
  setup.start();
  Conn conn = connectOk(*setup.pooler);
  setup.insert(conn.get(), "Ada");
  CHECK(setup.refreshes() == 1);
  CHECK(setup.customerRequests() == 1);

  // The API stops honouring the token before it said it would (revoked, clock skew).
  control(setup.api, "/_control/oauth/expire", "{}");
  std::string id = setup.insert(conn.get(), "Grace");
  CHECK(setup.refreshes() == 2);
  CHECK(setup.customerRequests() == 3);  // refused with 401, then resent once
  CHECK(superuserQuery("SELECT name FROM public." + setup.table + " WHERE id = '" + id + "'") ==
        "Grace");
  CHECK(setup.pooler->logContains("access token refreshed"));
  setup.checkNoSecretsLogged();
}

TEST_CASE("oauth: concurrent writes that meet an expired token share one refresh", "[oauth]") {
  OAuthSetup setup("serial");
  setup.registerRefreshToken(3600, true);  // rotation: a second spend would kill the session
  setup.start();
  {
    Conn conn = connectOk(*setup.pooler);
    setup.insert(conn.get(), "first");
  }
  control(setup.api, "/_control/oauth/expire", "{}");
  std::vector<std::thread> writers;
  std::vector<std::string> errors(8);
  for (size_t i = 0; i < errors.size(); ++i) {
    writers.emplace_back([&, i] {
      Conn conn = connect(setup.pooler->conninfo());
      Result r = exec(conn.get(), "INSERT INTO " + setup.table + " (name) VALUES ('w" +
                                      std::to_string(i) + "')");
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) errors[i] = PQresultErrorMessage(r.get());
    });
  }
  for (auto& writer : writers) writer.join();
  for (const auto& error : errors) CHECK(error == "");
  CHECK(setup.refreshes() == 2);  // the first write's, and exactly one after the expiry
  CHECK(superuserQuery("SELECT count(*) FROM public." + setup.table) == "9");
}

TEST_CASE("oauth: a rotated refresh token survives a restart through token_file", "[oauth]") {
  OAuthSetup setup("rotate");
  setup.registerRefreshToken(3600, true);
  setup.start();
  {
    Conn conn = connectOk(*setup.pooler);
    setup.insert(conn.get(), "before restart");
  }
  // rt-initial is spent: only the rotated token works now, and apibouncer wrote it down.
  std::vector<std::string> live = setup.liveRefreshTokens();
  REQUIRE(live.size() == 1);
  CHECK(live[0] != "rt-initial");
  CHECK(readFile(setup.token_file) == live[0]);
  CHECK((std::filesystem::status(setup.token_file).permissions() &
         std::filesystem::perms::others_read) == std::filesystem::perms::none);

  setup.start();  // same ini (refresh_token = rt-initial, dead now), same token_file
  Conn conn = connectOk(*setup.pooler);
  setup.insert(conn.get(), "after restart");
  CHECK(setup.refreshes() == 2);
  CHECK(readFile(setup.token_file) == setup.liveRefreshTokens().at(0));
  setup.checkNoSecretsLogged();
}

TEST_CASE("oauth: tokens are renewed before expires_in runs out, without a 401", "[oauth]") {
  OAuthSetup setup("proactive");
  // 61 s: apibouncer renews a token with less than a minute left, so after one second the
  // next write must refresh first instead of sending a token about to die.
  setup.registerRefreshToken(61, false);
  setup.start();
  Conn conn = connectOk(*setup.pooler);
  setup.insert(conn.get(), "one");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  setup.insert(conn.get(), "two");
  CHECK(setup.refreshes() == 2);
  CHECK(setup.customerRequests() == 2);  // no request was refused
}

TEST_CASE("oauth: a dead refresh token is 28000 and nothing is written", "[oauth]") {
  OAuthSetup setup("dead");
  setup.registerRefreshToken(3600, false);
  setup.start("rt-revoked-long-ago");
  Conn conn = connectOk(*setup.pooler);
  Result r = exec(conn.get(), "INSERT INTO " + setup.table + " (name) VALUES ('x')");
  INFO(PQresultErrorMessage(r.get()) << "\n" << setup.pooler->log());
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == "28000");
  CHECK(std::string(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY)).find("refresh") !=
        std::string::npos);
  CHECK(std::string(errorField(r.get(), PG_DIAG_MESSAGE_HINT)).find("[api.crm]") !=
        std::string::npos);
  CHECK(std::string(PQresultErrorMessage(r.get())).find("rt-revoked-long-ago") ==
        std::string::npos);
  CHECK(setup.customerRequests() == 0);
  CHECK(superuserQuery("SELECT count(*) FROM public." + setup.table) == "0");
  CHECK(setup.pooler->log().find("rt-revoked-long-ago") == std::string::npos);
  // The session survives: the next statement works.
  CHECK(queryValue(conn.get(), "SELECT 1") == "1");
}
