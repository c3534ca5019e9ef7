// The GitHub platform end to end: a mirror of GitHub issues (platform = github, object = issues)
// behind the real apibouncer, the fake API's GitHub dialect (POST /graphql, aliased issue
// mutations) in place of api.github.com. Each statement is one GraphQL request; GitHub applies
// the aliases one by one, so a refused row does not undo the others (partial success).
#include <rapidjson/document.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakeapi_fixture.h"
#include "fixture.h"

using namespace itest;

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kApiKey = "ghp-test-key";
constexpr const char* kRepository = "R_kgDOtest";

// An issue as the fake GitHub holds it (GET /_control/dialect/github).
struct Issue {
  std::string id, title, state, repository;
  long number = 0;
  bool closed_at_set = false;
};

std::string stringOf(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// `(repository, title), ...` for a multi-row VALUES.
std::string issueValues(size_t count, const std::string& repository = kRepository) {
  std::string values;
  for (size_t i = 0; i < count; ++i)
    values += (i ? ", ('" : "('") + repository + "', 'Issue " + std::to_string(i + 1) + "')";
  return values;
}

// public.gh_<suffix> (id text PK, repository_id, number, title, body, state) mirroring GitHub
// issues, the role `writer`, a fake GitHub requiring kApiKey, and an apibouncer wired to them.
struct GithubMirror {
  explicit GithubMirror(const std::string& suffix) : table("gh_" + suffix), api(kApiKey) {
    ensureRole("writer", "writer-secret");
    superuserQuery("SET client_min_messages = warning; DROP TABLE IF EXISTS public." + table);
    superuserQuery("CREATE TABLE public." + table +
                   " (id text PRIMARY KEY, repository_id text, number int, title text, body text, "
                   "state text)");
    superuserQuery("GRANT SELECT ON public." + table + " TO app");
    superuserQuery("GRANT ALL ON public." + table + " TO writer");
    // api_timeout leaves room for the rate-limit waits (1 s each) on a loaded ASan host.
    std::string settings =
        "[apibouncer]\nwriter_user = writer\napi_timeout = 20\n"
        "[api.gh]\nplatform = github\nbase_url = " +
        api.baseUrl() + "\napi_key = " + kApiKey + "\n[table.public." + table +
        "]\ndatabase = app\napi = gh\nobject = issues\nprimary_key = id\n"
        "column_map = repository_id:repositoryId\n";
    pooler = std::make_unique<PoolerProcess>(
        PoolerConfig{"", settings, defaultUserlist() + "\"writer\" \"writer-secret\"\n", true});
  }

  Conn connect() const { return connectOk(*pooler); }

  std::string context(const PGresult* result = nullptr) const {
    std::string text;
    if (result != nullptr)
      text += std::string("result: ") + PQresStatus(PQresultStatus(result)) + " " +
              cmdStatus(result) + " " + PQresultErrorMessage(result) + "\n";
    std::string log = pooler->log();
    if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
    return text + "pooler log:\n" + log + "\nfake API output:\n" + api.output();
  }

  // What GitHub (the fake) holds, in creation order.
  std::vector<Issue> issues() const {
    std::string body = apiGet(api, "/_control/dialect/github");
    INFO(body);
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    auto list = doc.FindMember("issues");
    REQUIRE(list != doc.MemberEnd());
    REQUIRE(list->value.IsArray());
    std::vector<Issue> issues;
    for (const auto& item : list->value.GetArray()) {
      Issue issue;
      issue.id = stringOf(item, "id");
      issue.title = stringOf(item, "title");
      issue.state = stringOf(item, "state");
      auto number = item.FindMember("number");
      if (number != item.MemberEnd() && number->value.IsInt64())
        issue.number = number->value.GetInt64();
      auto closed_at = item.FindMember("closedAt");
      issue.closed_at_set = closed_at != item.MemberEnd() && closed_at->value.IsString();
      auto repository = item.FindMember("repository");
      if (repository != item.MemberEnd()) issue.repository = stringOf(repository->value, "id");
      issues.push_back(issue);
    }
    return issues;
  }

  // The aliased mutation count of each POST /graphql the fake received, in order.
  std::vector<size_t> graphqlRequests() const {
    std::string body = apiGet(api, "/_control/requests");
    INFO(body);
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsArray());
    std::vector<size_t> requests;
    for (const auto& entry : doc.GetArray()) {
      auto path = entry.FindMember("path");
      if (path == entry.MemberEnd() || !path->value.IsString() ||
          std::string(path->value.GetString()) != "/graphql")
        continue;
      size_t aliases = 0;
      auto sent = entry.FindMember("body");
      if (sent != entry.MemberEnd() && sent->value.IsObject()) {
        auto variables = sent->value.FindMember("variables");
        if (variables != sent->value.MemberEnd() && variables->value.IsObject())
          aliases = variables->value.MemberCount();
      }
      requests.push_back(aliases);
    }
    return requests;
  }

  int rowCount(const std::string& where = "true") const {
    return std::stoi(superuserQuery("SELECT count(*) FROM public." + table + " WHERE " + where));
  }
  std::string column(const std::string& column, const std::string& id) const {
    return superuserQuery("SELECT coalesce(" + column + "::text, '<null>') FROM public." + table +
                          " WHERE id = '" + id + "'");
  }

  std::string table;
  FakeApiProcess api;
  std::unique_ptr<PoolerProcess> pooler;
};

std::vector<std::string> sortedIds(const std::vector<Issue>& issues) {
  std::vector<std::string> ids;
  for (const Issue& issue : issues) ids.push_back(issue.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> tableIds(const GithubMirror& gh) {
  std::vector<std::string> ids;
  std::string joined = superuserQuery(
      "SELECT coalesce(string_agg(id, ',' ORDER BY id), '') FROM public." + gh.table);
  for (size_t start = 0; start < joined.size();) {
    size_t end = joined.find(',', start);
    if (end == std::string::npos) end = joined.size();
    ids.push_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return ids;
}

void expectSqlstate(const GithubMirror& gh, const Result& r, const std::string& sqlstate) {
  INFO(gh.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
  CHECK(errorField(r.get(), PG_DIAG_SQLSTATE) == sqlstate);
}

}  // namespace

TEST_CASE("github: 100-row INSERT, UPDATE and DELETE are one GraphQL request each; 101 is 54000",
          "[platform][github]") {
  GithubMirror gh("hundred");
  Conn conn = gh.connect();

  Result inserted = exec(conn.get(), "INSERT INTO " + gh.table + " (repository_id, title) VALUES " +
                                         issueValues(100) + " RETURNING id, number");
  INFO(gh.context(inserted.get()));
  REQUIRE(PQresultStatus(inserted.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(inserted.get()) == "INSERT 0 100");
  REQUIRE(PQntuples(inserted.get()) == 100);
  std::set<std::string> numbers;
  for (int i = 0; i < 100; ++i) {
    CHECK(std::string(PQgetvalue(inserted.get(), i, 0)).rfind("I_kwDO", 0) == 0);  // node ids
    numbers.insert(PQgetvalue(inserted.get(), i, 1));
  }
  CHECK(numbers.size() == 100);  // GitHub numbered each issue
  std::vector<Issue> issues = gh.issues();
  REQUIRE(issues.size() == 100);
  CHECK(tableIds(gh) == sortedIds(issues));
  CHECK(issues[0].repository == kRepository);
  CHECK(gh.column("number", issues[99].id) == std::to_string(issues[99].number));
  CHECK(gh.column("state", issues[0].id) == "OPEN");  // GitHub's value, from the answer
  CHECK(gh.graphqlRequests() == std::vector<size_t>{100});

  Result updated = exec(conn.get(), "UPDATE " + gh.table + " SET state = 'CLOSED'");
  INFO(gh.context(updated.get()));
  REQUIRE(PQresultStatus(updated.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(updated.get()) == "UPDATE 100");
  for (const Issue& issue : gh.issues()) CHECK(issue.state == "CLOSED");
  CHECK(gh.rowCount("state = 'CLOSED'") == 100);
  CHECK(gh.graphqlRequests() == std::vector<size_t>{100, 100});

  Result deleted = exec(conn.get(), "DELETE FROM " + gh.table);
  INFO(gh.context(deleted.get()));
  REQUIRE(PQresultStatus(deleted.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(deleted.get()) == "DELETE 100");
  CHECK(gh.issues().empty());
  CHECK(gh.rowCount() == 0);
  CHECK(gh.graphqlRequests() == std::vector<size_t>{100, 100, 100});

  // 101 rows: refused before GitHub sees anything.
  expectSqlstate(gh,
                 exec(conn.get(), "INSERT INTO " + gh.table + " (repository_id, title) VALUES " +
                                      issueValues(101)),
                 "54000");
  superuserQuery("INSERT INTO public." + gh.table +
                 " (id, repository_id, title, state) SELECT 'I_kwDOseed' || i, '" + kRepository +
                 "', 'Seeded ' || i, 'OPEN' FROM generate_series(1, 101) AS i");
  expectSqlstate(gh, exec(conn.get(), "UPDATE " + gh.table + " SET state = 'CLOSED'"), "54000");
  expectSqlstate(gh, exec(conn.get(), "DELETE FROM " + gh.table), "54000");
  CHECK(gh.graphqlRequests().size() == 3);
  CHECK(gh.rowCount("state = 'OPEN'") == 101);
}

TEST_CASE("github: a partial INSERT fails with 23514 and keeps the issues GitHub created",
          "[platform][github]") {
  GithubMirror gh("partial");
  Conn conn = gh.connect();
  Result r = exec(conn.get(), "INSERT INTO " + gh.table + " (repository_id, title) VALUES ('" +
                                  kRepository + "', 'First'), ('" + kRepository +
                                  "', 'An INVALID title'), ('" + kRepository + "', 'Third')");
  expectSqlstate(gh, r, "23514");
  CHECK(contains(errorField(r.get(), PG_DIAG_MESSAGE_PRIMARY), "title is invalid"));

  // GitHub ran the aliases one by one: rows 1 and 3 exist upstream, row 2 nowhere.
  std::vector<Issue> issues = gh.issues();
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].title == "First");
  CHECK(issues[1].title == "Third");
  CHECK(gh.graphqlRequests() == std::vector<size_t>{3});
  // The mirror gets them too (spec §6.5), with their node ids and numbers.
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (gh.rowCount() < 2 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  INFO(gh.context());
  CHECK(tableIds(gh) == sortedIds(issues));
  for (const Issue& issue : issues) {
    CHECK(gh.column("title", issue.id) == issue.title);
    CHECK(gh.column("number", issue.id) == std::to_string(issue.number));
  }
  CHECK(gh.rowCount("title LIKE '%INVALID%'") == 0);
}

TEST_CASE("github: UPDATE closing issues reaches GitHub and the table", "[platform][github]") {
  GithubMirror gh("close");
  Conn conn = gh.connect();
  Result created =
      exec(conn.get(), "INSERT INTO " + gh.table + " (repository_id, title, body) VALUES ('" +
                           kRepository + "', 'Ada', 'first'), ('" + kRepository +
                           "', 'Bob', NULL), ('" + kRepository + "', 'Cy', 'third')");
  INFO(gh.context(created.get()));
  REQUIRE(PQresultStatus(created.get()) == PGRES_COMMAND_OK);

  Result closed = exec(conn.get(), "UPDATE " + gh.table +
                                       " SET state = 'CLOSED' WHERE title IN ('Ada', 'Bob') "
                                       "RETURNING title, state");
  INFO(gh.context(closed.get()));
  REQUIRE(PQresultStatus(closed.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(closed.get()) == "UPDATE 2");
  REQUIRE(PQntuples(closed.get()) == 2);
  for (int i = 0; i < 2; ++i) CHECK(std::string(PQgetvalue(closed.get(), i, 1)) == "CLOSED");

  for (const Issue& issue : gh.issues()) {
    INFO(issue.title);
    bool should_close = issue.title != "Cy";
    CHECK(issue.state == (should_close ? "CLOSED" : "OPEN"));
    CHECK(issue.closed_at_set == should_close);
    CHECK(gh.column("state", issue.id) == issue.state);
  }
  CHECK(gh.graphqlRequests() == std::vector<size_t>{3, 2});
}

TEST_CASE("github: a secondary rate limit is waited out and the write goes through",
          "[platform][github]") {
  GithubMirror gh("secondary");
  Conn conn = gh.connect();
  control(gh.api, "/_control/fail",
          R"({"count":2,"status":403,"retry_after":1,"body":{"message":"You have exceeded a )"
          R"(secondary rate limit. Please wait a few minutes before you try again.",)"
          R"("documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/)"
          R"(rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}})");
  auto started = Clock::now();
  Result r = exec(conn.get(), "INSERT INTO " + gh.table + " (repository_id, title) VALUES ('" +
                                  kRepository + "', 'Patient') RETURNING id");
  auto waited = Clock::now() - started;
  INFO(gh.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(cmdStatus(r.get()) == "INSERT 0 1");
  std::vector<Issue> issues = gh.issues();
  REQUIRE(issues.size() == 1);  // sent three times, created once
  CHECK(PQgetvalue(r.get(), 0, 0) == issues[0].id);
  CHECK(gh.graphqlRequests().size() == 3);
  CHECK(waited >= std::chrono::milliseconds(1500));  // Retry-After: 1, twice
}

TEST_CASE("github: an INSERT without repository_id is 23502 and GitHub sees nothing",
          "[platform][github]") {
  GithubMirror gh("no_repository");
  Conn conn = gh.connect();
  Result missing = exec(conn.get(), "INSERT INTO " + gh.table + " (title) VALUES ('Orphan')");
  expectSqlstate(gh, missing, "23502");
  CHECK(contains(errorField(missing.get(), PG_DIAG_MESSAGE_PRIMARY), "repositoryId"));
  expectSqlstate(gh,
                 exec(conn.get(), "INSERT INTO " + gh.table +
                                      " (repository_id, title) VALUES (NULL, 'Orphan')"),
                 "23502");
  CHECK(gh.graphqlRequests().empty());
  CHECK(gh.rowCount() == 0);
}

TEST_CASE("github: deleting an issue GitHub no longer has deletes the row with a notice",
          "[platform][github]") {
  GithubMirror gh("gone");
  superuserQuery("INSERT INTO public." + gh.table +
                 " (id, repository_id, title) VALUES "
                 "('I_kwDOgone', '" +
                 kRepository + "', 'Gone upstream')");
  Conn conn = gh.connect();
  std::vector<Notice> notices;
  PQsetNoticeReceiver(conn.get(), collectNotice, &notices);
  Result r = exec(conn.get(), "DELETE FROM " + gh.table + " WHERE id = 'I_kwDOgone'");
  INFO(gh.context(r.get()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
  CHECK(cmdStatus(r.get()) == "DELETE 1");
  CHECK(gh.rowCount() == 0);
  bool told = false;
  for (const Notice& notice : notices)
    told |= contains(notice.message + " " + notice.detail, "I_kwDOgone");
  CHECK(told);
  CHECK(gh.graphqlRequests() == std::vector<size_t>{1});
}
