// The GitHub adapter: the one GraphQL request each statement becomes (golden bodies), how the
// answer is read alias by alias (partial success included), GitHub's error shapes mapped to
// error classes, its rate-limit retry rules, the App user-token refresh, and garbage answers.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "adapters/adapter.h"
#include "adapters/github/github_adapter.h"

using namespace apibouncer::adapters;

namespace {

constexpr double kNow = 1746093600;  // 2025-05-01 10:00:00 UTC
constexpr const char* kNowDate = "Thu, 01 May 2025 10:00:00 GMT";

std::string golden(const std::string& name) {
  std::ifstream in(std::string(APIBOUNCER_TEST_DATA_DIR) + "/golden/github/" + name);
  INFO("golden file " << name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<Adapter> adapter() {
  return github::makeAdapter("https://api.github.com", [] { return kNow; });
}

std::string headerOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers)
    if (key == name) return value;
  return "<absent>";
}

HttpRequest build(const WriteRequest& request) {
  auto built = adapter()->buildRequest(request);
  if (auto* error = std::get_if<ApiError>(&built)) FAIL("refused: " << error->message);
  return std::get<HttpRequest>(built);
}

ApiError refusal(const WriteRequest& request) {
  auto built = adapter()->buildRequest(request);
  REQUIRE(std::holds_alternative<ApiError>(built));
  return std::get<ApiError>(built);
}

WriteRequest createTwo() {
  WriteRequest request;
  request.operation = Operation::kInsert;
  request.object = "issues";
  request.idempotency_key = "stmt-1";
  // As a mirror without a column list sends them: GitHub's own columns come as NULL / 'OPEN'.
  request.rows = {Row{"",
                      {{"repositoryId", "\"R_kgDOAbc\""},
                       {"number", "null"},
                       {"title", "\"Ada \\\"quoted\\\" é\""},
                       {"body", "null"},
                       {"state", "\"OPEN\""}}},
                  Row{"",
                      {{"repositoryId", "\"R_kgDOAbc\""},
                       {"title", "\"Second\""},
                       {"labelIds", "[\"LA_kwDO1\"]"},
                       {"milestoneId", "null"}}}};
  return request;
}

WriteRequest createRows(size_t count) {
  WriteRequest request{Operation::kInsert, "issues", {}, "stmt-2"};
  for (size_t i = 0; i < count; ++i)
    request.rows.push_back(
        Row{"", {{"repositoryId", "\"R_kgDOAbc\""}, {"title", "\"T" + std::to_string(i) + "\""}}});
  return request;
}

WriteRequest updateRows(size_t count) {
  WriteRequest request{Operation::kUpdate, "issues", {}, "stmt-3"};
  for (size_t i = 0; i < count; ++i)
    request.rows.push_back(Row{"I_kwDOAbc00" + std::to_string(i + 1), {{"state", "\"CLOSED\""}}});
  return request;
}

WriteRequest deleteTwo() {
  return WriteRequest{
      Operation::kDelete, "issues", {Row{"I_kwDOAbc001", {}}, Row{"I_kwDOAbc002", {}}}, "stmt-4"};
}

HttpResponse answer(int status, std::string body,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  headers.emplace_back("x-github-request-id", "0403:094E:157B29B:29134A0:61E4695A");
  return HttpResponse{status, std::move(headers), std::move(body)};
}

std::string fieldOf(const RowResult& row, const std::string& name) {
  for (const auto& [field, value] : row.fields)
    if (field == name) return value;
  return "<absent>";
}

}  // namespace

// ---- requests ---------------------------------------------------------------------------------

TEST_CASE("github: an INSERT is one POST /graphql of aliased createIssue mutations",
          "[adapters][github]") {
  HttpRequest http = build(createTwo());
  CHECK(http.method == "POST");
  CHECK(http.url == "https://api.github.com/graphql");
  CHECK(http.path_template == "POST /graphql");
  CHECK(headerOf(http, "Content-Type") == "application/json");
  CHECK(headerOf(http, "Accept") == "application/vnd.github+json");
  CHECK(headerOf(http, "X-GitHub-Api-Version") == "2022-11-28");
  CHECK(headerOf(http, "User-Agent") == "apibouncer");
  CHECK(headerOf(http, "Authorization") == "<absent>");  // ApiClient adds the token
  // number/state left out (GitHub assigns them), values verbatim, clientMutationId per row.
  CHECK(http.body == golden("create_two.request.json"));
  CHECK_FALSE(http.resend_safe);  // a second createIssue makes a second issue
}

TEST_CASE("github: UPDATE and DELETE carry the node ids and may be resent", "[adapters][github]") {
  WriteRequest update = updateRows(2);
  update.rows[1].fields.emplace_back("title", "\"Renamed\"");
  HttpRequest patch = build(update);
  CHECK(patch.url == "https://api.github.com/graphql");
  CHECK(patch.body == golden("update_two.request.json"));
  CHECK(patch.resend_safe);

  HttpRequest remove = build(deleteTwo());
  CHECK(remove.method == "POST");
  CHECK(remove.body == golden("delete_two.request.json"));
  CHECK(remove.resend_safe);

  auto enterprise = github::makeAdapter("https://ghe.example.com/api/v3", nullptr);
  auto built = enterprise->buildRequest(deleteTwo());
  REQUIRE(std::holds_alternative<HttpRequest>(built));
  CHECK(std::get<HttpRequest>(built).url == "https://ghe.example.com/api/graphql");
  CHECK(makeGithubAdapter("http://127.0.0.1:8080")->platform() == "github");
}

TEST_CASE("github: rows GitHub cannot take are refused before anything is sent",
          "[adapters][github]") {
  WriteRequest no_repository = createRows(2);
  no_repository.rows[1].fields.erase(no_repository.rows[1].fields.begin());
  ApiError error = refusal(no_repository);
  CHECK(error.error_class == ErrorClass::kRequiredField);
  CHECK(error.field == "repositoryId");

  WriteRequest null_repository = createRows(1);
  null_repository.rows[0].fields[0].second = "null";
  CHECK(refusal(null_repository).error_class == ErrorClass::kRequiredField);

  WriteRequest no_title = createRows(1);
  no_title.rows[0].fields.pop_back();
  error = refusal(no_title);
  CHECK(error.error_class == ErrorClass::kRequiredField);
  CHECK(error.field == "title");

  WriteRequest closed_on_create = createRows(1);
  closed_on_create.rows[0].fields.emplace_back("state", "\"CLOSED\"");
  error = refusal(closed_on_create);
  CHECK(error.error_class == ErrorClass::kUnsupported);
  CHECK(error.field == "state");

  WriteRequest numbered = createRows(1);
  numbered.rows[0].fields.emplace_back("number", "7");
  CHECK(refusal(numbered).field == "number");

  WriteRequest no_id = updateRows(2);
  no_id.rows[1].id.clear();
  error = refusal(no_id);
  CHECK(error.error_class == ErrorClass::kValidation);
  CHECK(error.field == "id");
  WriteRequest delete_no_id = deleteTwo();
  delete_no_id.rows[0].id.clear();
  CHECK(refusal(delete_no_id).field == "id");

  WriteRequest own_correlation = updateRows(1);
  own_correlation.rows[0].fields.emplace_back("clientMutationId", "\"x\"");
  CHECK(refusal(own_correlation).field == "clientMutationId");

  WriteRequest labels = createRows(1);
  labels.object = "labels";
  CHECK(refusal(labels).error_class == ErrorClass::kUnsupported);

  WriteRequest empty{Operation::kDelete, "issues", {}, "k"};
  CHECK(refusal(empty).error_class == ErrorClass::kValidation);
}

// ---- answers ------------------------------------------------------------------------------------

TEST_CASE("github: created issues come back by alias with node ids and GitHub's values",
          "[adapters][github]") {
  // The answer lists r1 before r0: rows are matched by alias, never by position.
  WriteResult result =
      adapter()->parseResponse(createTwo(), answer(200, golden("create_two.response.json")));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[0].id == "I_kwDOAbc001");
  CHECK(result.rows[1].id == "I_kwDOAbc002");
  CHECK(result.rows[0].fields ==
        Fields{{"number", "42"},
               {"title", R"("Ada \"quoted\" \u00e9")"},
               {"body", R"("")"},
               {"state", R"("OPEN")"},
               {"url", R"("https://github.com/octo-org/octo-repo/issues/42")"},
               {"createdAt", R"("2025-05-01T10:00:00Z")"},
               {"updatedAt", R"("2025-05-01T10:00:00Z")"}});
  CHECK(fieldOf(result.rows[1], "number") == "43");
  CHECK(fieldOf(result.rows[1], "id") == "<absent>");  // the node id is the row's id
}

TEST_CASE("github: a partial INSERT applies some rows and refuses the others",
          "[adapters][github]") {
  WriteResult result =
      adapter()->parseResponse(createRows(3), answer(200, golden("create_partial.response.json")));
  REQUIRE_FALSE(result.ok);
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[0].id == "I_kwDOAbc010");
  CHECK(fieldOf(result.rows[0], "number") == "7");
  CHECK(result.rows[1].outcome == RowOutcome::kRefused);
  CHECK(result.rows[1].error.error_class == ErrorClass::kTooLong);
  CHECK(result.rows[1].error.code == "UNPROCESSABLE");
  CHECK(result.rows[2].outcome == RowOutcome::kApplied);
  CHECK(result.rows[2].id == "I_kwDOAbc011");
  // The statement's error is the refused row's.
  CHECK(result.error.error_class == ErrorClass::kTooLong);
  CHECK(result.error.message == "Body is too long (maximum is 65536 characters)");
  CHECK(result.error.http_status == 200);
  CHECK(result.error.request_id == "0403:094E:157B29B:29134A0:61E4695A");

  // The blamed field is named from the message when it is one the row sent.
  WriteRequest with_body = createRows(3);
  with_body.rows[1].fields.emplace_back("body", "\"long\"");
  result = adapter()->parseResponse(with_body, answer(200, golden("create_partial.response.json")));
  CHECK(result.rows[1].error.field == "body");
}

TEST_CASE("github: UPDATE rows GitHub does not have or forbids are refused, others applied",
          "[adapters][github]") {
  WriteResult result =
      adapter()->parseResponse(updateRows(3), answer(200, golden("update_mixed.response.json")));
  REQUIRE_FALSE(result.ok);
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(fieldOf(result.rows[0], "state") == R"("CLOSED")");
  CHECK(result.rows[1].outcome == RowOutcome::kRefused);
  CHECK(result.rows[1].error.error_class == ErrorClass::kNotFound);
  CHECK(result.rows[1].error.field == "id");
  CHECK(result.rows[2].outcome == RowOutcome::kRefused);
  CHECK(result.rows[2].error.error_class == ErrorClass::kForbidden);
  CHECK(result.rows[2].error.message == "Resource not accessible by integration");
  CHECK(result.error.error_class == ErrorClass::kNotFound);  // the first refused row
}

TEST_CASE("github: deleting an issue GitHub no longer has succeeds with a notice",
          "[adapters][github]") {
  WriteResult result =
      adapter()->parseResponse(deleteTwo(), answer(200, golden("delete_mixed.response.json")));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].id == "I_kwDOAbc001");
  CHECK(result.rows[0].notice.empty());
  CHECK(result.rows[1].outcome == RowOutcome::kApplied);
  CHECK(result.rows[1].id == "I_kwDOAbc002");
  CHECK_THAT(result.rows[1].notice, Catch::Contains("I_kwDOAbc002"));

  // The same NOT_FOUND on an UPDATE is the row's error.
  WriteRequest update = updateRows(2);
  result = adapter()->parseResponse(update, answer(200, golden("delete_mixed.response.json")));
  CHECK_FALSE(result.ok);
}

TEST_CASE("github: when every row is refused nothing is applied", "[adapters][github]") {
  std::string body = R"({"data":{"r0":null,"r1":null},"errors":[
    {"type":"NOT_FOUND","path":["r1"],"message":"Could not resolve to a node with the global id of 'R_gone'."},
    {"type":"UNPROCESSABLE","path":["r0"],"message":"Title can't be blank"}]})";
  WriteRequest request = createRows(2);
  request.rows[1].fields[0].second = "\"R_gone\"";
  WriteResult result = adapter()->parseResponse(request, answer(200, body));
  REQUIRE_FALSE(result.ok);
  CHECK(result.rows.empty());                                     // nothing reached GitHub
  CHECK(result.error.error_class == ErrorClass::kRequiredField);  // row 1's, "can't be blank"
  CHECK(result.error.field == "title");
  // Row 2's own error: an unknown repository is a bad reference (23503).
  std::string second_only = R"({"data":{"r0":null},"errors":[{"type":"NOT_FOUND","path":["r0"],
    "message":"Could not resolve to a node with the global id of 'R_gone'."}]})";
  WriteRequest one{Operation::kInsert, "issues", {request.rows[1]}, "k"};
  result = adapter()->parseResponse(one, answer(200, second_only));
  CHECK(result.error.error_class == ErrorClass::kBadReference);
  CHECK(result.error.field == "repositoryId");
}

TEST_CASE("github: GraphQL errors per row map to the right class", "[adapters][github]") {
  struct Case {
    const char* type;
    const char* message;
    ErrorClass expected;
  };
  for (const Case& c :
       {Case{"UNPROCESSABLE", "Title is too long (maximum is 256 characters)",
             ErrorClass::kTooLong},
        Case{"UNPROCESSABLE", "Title has already been taken", ErrorClass::kDuplicate},
        Case{"UNPROCESSABLE", "Title contains a word GitHub refuses", ErrorClass::kValidation},
        Case{"FORBIDDEN", "Resource not accessible by integration", ErrorClass::kForbidden},
        Case{"INSUFFICIENT_SCOPES",
             "Your token has not been granted the required "
             "scopes",
             ErrorClass::kForbidden},
        Case{"", "Something went wrong while executing your query.", ErrorClass::kUnavailable}}) {
    INFO(c.type << ": " << c.message);
    std::string body = std::string(R"({"data":{"r0":null},"errors":[{"type":")") + c.type +
                       R"(","path":["r0"],"message":")" + c.message + R"("}]})";
    WriteResult result = adapter()->parseResponse(updateRows(1), answer(200, body));
    CHECK_FALSE(result.ok);
    CHECK(result.error.error_class == c.expected);
    CHECK(result.error.code == c.type);
  }
}

TEST_CASE("github: an error without a path refuses the whole document, nothing applied",
          "[adapters][github]") {
  WriteResult result =
      adapter()->parseResponse(createRows(1), answer(200, golden("undefined_field.response.json")));
  REQUIRE_FALSE(result.ok);
  CHECK(result.rows.empty());
  CHECK(result.error.error_class == ErrorClass::kUnknownField);  // 42703: the mirror drifted
  CHECK(result.error.field == "color");
  CHECK_THAT(result.error.message, Catch::Contains("not defined on CreateIssueInput"));

  result =
      adapter()->parseResponse(createRows(2), answer(200, golden("parse_error.response.json")));
  CHECK(result.rows.empty());
  CHECK(result.error.error_class == ErrorClass::kValidation);

  std::string not_null =
      R"json({"errors":[{"message":"Variable $i0 of type CreateIssueInput! was provided invalid value for title (Expected value to not be null)","locations":[{"line":1,"column":10}]}]})json";
  result = adapter()->parseResponse(createRows(1), answer(200, not_null));
  CHECK(result.error.error_class == ErrorClass::kRequiredField);
  CHECK(result.error.field == "title");

  std::string bad_enum =
      R"json({"data":null,"errors":[{"message":"Variable $i0 of type UpdateIssueInput! was provided invalid value for state (Expected \"closed\" to be one of: CLOSED, OPEN)","extensions":{"problems":[{"path":["state"],"explanation":"Expected \"closed\" to be one of: CLOSED, OPEN"}]}}]})json";
  result = adapter()->parseResponse(updateRows(1), answer(200, bad_enum));
  CHECK(result.error.error_class == ErrorClass::kInvalidValue);
  CHECK(result.error.field == "state");

  // A path naming no alias sent is the document's error too.
  std::string stray = R"({"errors":[{"type":"UNPROCESSABLE","path":["r7"],"message":"x"}]})";
  CHECK(adapter()->parseResponse(updateRows(1), answer(200, stray)).rows.empty());
}

TEST_CASE("github: a document error after some rows ran leaves the rest unknown",
          "[adapters][github]") {
  std::string body =
      R"({"data":{"r0":{"clientMutationId":"row-0","issue":{"id":"I_kwDOAbc001","state":"CLOSED"}},"r1":null},
    "errors":[{"message":"Something went wrong while executing your query. This may be the result of a timeout."}]})";
  WriteResult result = adapter()->parseResponse(updateRows(2), answer(200, body));
  REQUIRE_FALSE(result.ok);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[1].outcome == RowOutcome::kUnknown);
  CHECK(result.error.error_class == ErrorClass::kUnavailable);
}

TEST_CASE("github: REST-style errors: credentials, permissions, validation, limits",
          "[adapters][github]") {
  auto parse = [](HttpResponse response) {
    WriteResult result = adapter()->parseResponse(createRows(1), response);
    CHECK_FALSE(result.ok);
    CHECK(result.rows.empty());
    return result.error;
  };
  ApiError error = parse(answer(401, golden("bad_credentials.response.json")));
  CHECK(error.error_class == ErrorClass::kAuth);
  CHECK(error.message == "Bad credentials");
  CHECK(error.http_status == 401);
  CHECK(error.request_id == "0403:094E:157B29B:29134A0:61E4695A");

  error = parse(answer(403, golden("forbidden.response.json")));
  CHECK(error.error_class == ErrorClass::kForbidden);

  error = parse(answer(422, golden("validation_failed.response.json")));
  CHECK(error.error_class == ErrorClass::kRequiredField);
  CHECK(error.code == "missing_field");
  CHECK(error.field == "title");
  CHECK(error.message == "Validation Failed");

  error = parse(answer(403, golden("secondary_rate_limit.response.json"), {{"retry-after", "30"}}));
  CHECK(error.error_class == ErrorClass::kRateLimited);
  CHECK(error.retry_after_seconds == 30);
  error = parse(answer(403, golden("secondary_rate_limit.response.json")));
  CHECK(error.error_class == ErrorClass::kRateLimited);
  CHECK(error.retry_after_seconds == 60);  // no header: at least a minute

  // Primary limit: the reset decides between "wait" and "quota".
  auto primary = [](double reset_in, bool with_date) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"x-ratelimit-remaining", "0"},
        {"x-ratelimit-reset", std::to_string(static_cast<long>(kNow + reset_in))},
        {"x-ratelimit-resource", "graphql"}};
    if (with_date) headers.emplace_back("date", kNowDate);
    return answer(403, golden("primary_rate_limit.response.json"), headers);
  };
  error = parse(primary(1800, false));
  CHECK(error.error_class == ErrorClass::kQuotaExhausted);  // 53400
  CHECK(error.retry_after_seconds == 1800);
  error = parse(primary(20, false));
  CHECK(error.error_class == ErrorClass::kRateLimited);
  CHECK(error.retry_after_seconds == 20);
  // The answer's Date is "now" when present: a skewed local clock does not matter.
  auto skewed = github::makeAdapter("https://api.github.com", [] { return kNow - 5000; });
  CHECK(skewed->parseResponse(createRows(1), primary(20, true)).error.error_class ==
        ErrorClass::kRateLimited);

  error = parse(answer(429, "{\"message\":\"too many\"}"));
  CHECK(error.error_class == ErrorClass::kRateLimited);
  CHECK(parse(answer(404, "{\"message\":\"Not Found\"}")).error_class ==
        ErrorClass::kUnknownObject);
  CHECK(parse(answer(502, "<html>Bad gateway</html>")).error_class == ErrorClass::kUnavailable);
  CHECK(parse(answer(502, "<html>Bad gateway</html>")).message == "HTTP 502");
  CHECK(parse(answer(409, "{}")).error_class == ErrorClass::kConflict);
}

TEST_CASE("github: the GraphQL rate limit answered with HTTP 200", "[adapters][github]") {
  HttpResponse limited =
      answer(200, golden("graphql_rate_limited.response.json"),
             {{"x-ratelimit-remaining", "0"},
              {"x-ratelimit-reset", std::to_string(static_cast<long>(kNow) + 2400)}});
  WriteResult result = adapter()->parseResponse(createRows(2), limited);
  CHECK_FALSE(result.ok);
  CHECK(result.rows.empty());
  CHECK(result.error.error_class == ErrorClass::kQuotaExhausted);
  CHECK(result.error.code == "RATE_LIMITED");
  RetryAdvice advice = adapter()->adviseRetry(build(createRows(2)), limited);
  CHECK(advice.retry);  // nothing ran, even for creates
  CHECK(advice.after_seconds == 2400);
  CHECK(advice.pause_api_seconds == 2400);

  // GitHub also spells the type RATE_LIMIT; a reset 30 s away is a wait, not a quota.
  HttpResponse soon = answer(
      200,
      R"({"errors":[{"type":"RATE_LIMIT","code":"graphql_rate_limit","message":"API rate limit already exceeded for user ID 1."}]})",
      {{"x-ratelimit-remaining", "0"},
       {"x-ratelimit-reset", std::to_string(static_cast<long>(kNow) + 30)}});
  CHECK(adapter()->parseResponse(createRows(1), soon).error.error_class ==
        ErrorClass::kRateLimited);
  CHECK(adapter()->adviseRetry(build(createRows(1)), soon).after_seconds == 30);

  // A rate-limit error beside a result: r0 ran, so the creates are not sent again.
  HttpResponse half = answer(
      200,
      R"({"data":{"r0":{"issue":{"id":"I_1"}},"r1":null},"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]})");
  CHECK_FALSE(adapter()->adviseRetry(build(createRows(2)), half).retry);
  result = adapter()->parseResponse(createRows(2), half);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[1].outcome == RowOutcome::kUnknown);
  CHECK(result.error.error_class == ErrorClass::kRateLimited);
}

// ---- retries ------------------------------------------------------------------------------------

TEST_CASE("github: retry advice follows GitHub's rate-limit headers", "[adapters][github]") {
  auto gh = adapter();
  HttpRequest create = build(createRows(1));
  HttpRequest update = build(updateRows(1));

  RetryAdvice advice = gh->adviseRetry(
      create, answer(403, golden("secondary_rate_limit.response.json"), {{"retry-after", "3"}}));
  CHECK(advice.retry);
  CHECK(advice.after_seconds == 3);
  CHECK(advice.pause_api_seconds == 3);

  advice = gh->adviseRetry(create, answer(403, golden("secondary_rate_limit.response.json")));
  CHECK(advice.retry);
  CHECK(advice.after_seconds == 60);

  advice = gh->adviseRetry(
      create, answer(429, "{}",
                     {{"x-ratelimit-remaining", "0"},
                      {"x-ratelimit-reset", std::to_string(static_cast<long>(kNow) + 42)}}));
  CHECK(advice.retry);
  CHECK(advice.after_seconds == 42);
  CHECK(advice.pause_api_seconds == 42);

  // Not a rate limit: no resend.
  CHECK_FALSE(gh->adviseRetry(create, answer(403, golden("forbidden.response.json"))).retry);
  CHECK_FALSE(gh->adviseRetry(update, answer(401, golden("bad_credentials.response.json"))).retry);
  CHECK_FALSE(gh->adviseRetry(create, answer(200, golden("create_two.response.json"))).retry);
  CHECK_FALSE(
      gh->adviseRetry(create, answer(422, golden("validation_failed.response.json"))).retry);

  // 5xx: the mutations may have run. Never resend creates; updates and deletes are idempotent.
  CHECK_FALSE(gh->adviseRetry(create, answer(502, "")).retry);
  CHECK_FALSE(gh->adviseRetry(create, answer(503, "", {{"retry-after", "2"}})).retry);
  advice = gh->adviseRetry(update, answer(502, ""));
  CHECK(advice.retry);
  CHECK(advice.after_seconds == 1);
  CHECK(advice.pause_api_seconds == 0);
  advice = gh->adviseRetry(build(deleteTwo()), answer(503, "", {{"retry-after", "2"}}));
  CHECK(advice.retry);
  CHECK(advice.after_seconds == 2);
}

// ---- OAuth (GitHub App user tokens) -------------------------------------------------------------

TEST_CASE("github: App user tokens are refreshed; refusals come with HTTP 200",
          "[adapters][github]") {
  auto gh = adapter();
  OAuthClient client{"https://github.com/login/oauth/access_token", "Iv1.8a61f9b3a7aba766",
                     "s3cr3t/+"};
  HttpRequest refresh = gh->buildTokenRefresh(client, "ghr_old");
  CHECK(refresh.method == "POST");
  CHECK(refresh.url == "https://github.com/login/oauth/access_token");
  CHECK(headerOf(refresh, "Accept") == "application/json");
  CHECK(headerOf(refresh, "User-Agent") == "apibouncer");
  CHECK(headerOf(refresh, "Content-Type") == "application/x-www-form-urlencoded");
  CHECK(refresh.body ==
        "grant_type=refresh_token&refresh_token=ghr_old&client_id=Iv1.8a61f9b3a7aba766"
        "&client_secret=s3cr3t%2F%2B");
  CHECK_FALSE(refresh.resend_safe);

  auto granted = gh->parseTokenRefresh(answer(200, golden("token_refresh_ok.response.json")));
  REQUIRE(std::holds_alternative<TokenGrant>(granted));
  const TokenGrant& grant = std::get<TokenGrant>(granted);
  CHECK(grant.access_token == "ghu_16C7e42F292c6912E7710c838347Ae178B4a");
  CHECK(grant.refresh_token.rfind("ghr_1B4a", 0) == 0);  // rotated
  CHECK(grant.expires_in_seconds == 28800);

  auto refused = gh->parseTokenRefresh(answer(200, golden("token_refresh_refused.response.json")));
  REQUIRE(std::holds_alternative<ApiError>(refused));
  const ApiError& error = std::get<ApiError>(refused);
  CHECK(error.error_class == ErrorClass::kAuth);
  CHECK(error.code == "bad_refresh_token");
  CHECK(error.message == "The refresh token passed is incorrect or expired.");
  CHECK(error.request_id == "0403:094E:157B29B:29134A0:61E4695A");
}

// ---- garbage
// --------------------------------------------------------------------------------------

TEST_CASE("github: a 200 the adapter cannot read is contract drift, never success",
          "[adapters][github]") {
  for (const char* body :
       {"", "not json", "[]", "null", R"({"data":[]})", R"({"data":{}})", R"({"errors":"x"})",
        R"({"errors":[1]})", R"({"data":{"r0":"x"}})", R"({"data":{"r0":{"issue":null}}})",
        R"({"data":{"r0":{"issue":{"number":1}}}})", R"({"data":{"r0":{"issue":{"id":5}}}})",
        R"({"data":{"r0":{"clientMutationId":"row-9","issue":{"id":"I_1"}}}})",
        R"({"data":{"r0":{"issue":{"id":"I_1"}}}} trailing)"}) {
    INFO(body);
    WriteResult result = adapter()->parseResponse(createRows(1), answer(200, body));
    CHECK_FALSE(result.ok);
    CHECK(result.error.error_class == ErrorClass::kBadResponse);
  }
  // Too few results: the missing row is unknown, the others applied.
  std::string one_of_two = R"({"data":{"r0":{"issue":{"id":"I_1","number":1}}}})";
  WriteResult result = adapter()->parseResponse(createRows(2), answer(200, one_of_two));
  CHECK_FALSE(result.ok);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[1].outcome == RowOutcome::kUnknown);
  CHECK(result.error.error_class == ErrorClass::kBadResponse);
  // An UPDATE answered with another issue's id.
  std::string other = R"({"data":{"r0":{"issue":{"id":"I_other"}}}})";
  CHECK(adapter()->parseResponse(updateRows(1), answer(200, other)).rows[0].outcome ==
        RowOutcome::kUnknown);
}

TEST_CASE("github: 50,000 levels of nesting are read without exhausting the stack",
          "[adapters][github]") {
  std::string deep = std::string(50000, '[') + std::string(50000, ']');
  std::string nested_value =
      R"({"data":{"r0":{"clientMutationId":"row-0","issue":{"id":"I_1","body":)" + deep + "}}}}";
  WriteResult result = adapter()->parseResponse(createRows(1), answer(200, nested_value));
  REQUIRE(result.ok);
  CHECK(fieldOf(result.rows[0], "body").size() == deep.size());

  for (const std::string& body :
       {deep, std::string(50000, '['), R"({"errors":)" + deep + "}", R"({"data":)" + deep + "}",
        R"({"errors":[{"path":)" + deep + R"(,"message":"x"}]})",
        R"({"errors":[{"extensions":{"problems":)" + deep + R"(},"message":"x"}]})"}) {
    WriteResult garbage = adapter()->parseResponse(createRows(1), answer(200, body));
    CHECK_FALSE(garbage.ok);
    CHECK_FALSE(adapter()->adviseRetry(build(createRows(1)), answer(200, body)).retry);
    CHECK_FALSE(adapter()->parseResponse(createRows(1), answer(422, body)).ok);
    CHECK(std::holds_alternative<ApiError>(adapter()->parseTokenRefresh(answer(200, body))));
  }
}
