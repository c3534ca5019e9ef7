// The HubSpot adapter (adapters-spec §2): each statement's one CRM v3 request, byte for byte
// (golden/hubspot/request_*.json), and HubSpot's documented answers read back: results matched
// to rows by id or objectWriteTraceId whatever their order, 207 partial success, every error
// shape mapped to its class, retry advice, the OAuth v3 refresh, and garbage that must not crash.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "adapters/adapter.h"

using namespace apibouncer::adapters;

namespace {

constexpr const char* kBase = "https://api.hubapi.com";

std::string golden(const std::string& name) {
  std::ifstream in(std::string(APIBOUNCER_TEST_DATA_DIR) + "/golden/hubspot/" + name);
  INFO("golden file " << name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string headerOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers)
    if (key == name) return value;
  return "<absent>";
}

HttpRequest build(const Adapter& adapter, const WriteRequest& request) {
  auto built = adapter.buildRequest(request);
  if (auto* error = std::get_if<ApiError>(&built)) FAIL("refused: " << error->message);
  return std::get<HttpRequest>(built);
}

ApiError refusal(const Adapter& adapter, const WriteRequest& request) {
  auto built = adapter.buildRequest(request);
  REQUIRE(std::holds_alternative<ApiError>(built));
  return std::get<ApiError>(built);
}

WriteRequest createOne() {
  return {Operation::kInsert,
          "contacts",
          {Row{"",
               {{"email", R"("ada@example.com")"},
                {"firstname", R"("Ada \"the\" Countess")"},
                {"age", "36"},
                {"balance", "1.50"},
                {"vip", "true"},
                {"phone", "null"},
                {"tags", R"(["a", "b"])"}}}},
          "stmt-1"};
}

WriteRequest createThree() {
  return {Operation::kInsert,
          "contacts",
          {Row{"", {{"email", R"("ada@example.com")"}, {"firstname", R"("Ada")"}}},
           Row{"", {{"email", R"("bob@example.com")"}, {"firstname", R"("Bob")"}}},
           Row{"", {{"email", R"("cy@example.com")"}, {"firstname", "null"}}}},
          "stmt-7"};
}

WriteRequest updateThree() {
  return {Operation::kUpdate,
          "contacts",
          {Row{"101", {{"firstname", R"("Ada")"}, {"age", "37"}}},
           Row{"102", {{"firstname", R"("Bob")"}, {"age", "41"}}},
           Row{"103", {{"firstname", R"("Cy")"}, {"age", "null"}}}},
          "stmt-9"};
}

WriteRequest archiveThree() {
  return {Operation::kDelete,
          "contacts",
          {Row{"101", {}}, Row{"102", {}}, Row{"12345678901234567890", {}}},
          "stmt-11"};
}

HttpResponse answer(int status, std::string body,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  return HttpResponse{status, std::move(headers), std::move(body)};
}

std::string fieldOf(const RowResult& row, const std::string& name) {
  for (const auto& [key, value] : row.fields)
    if (key == name) return value;
  return "<absent>";
}

}  // namespace

// ---- requests -------------------------------------------------------------------------------

TEST_CASE("hubspot: an INSERT of one row is POST /crm/v3/objects/{t} with string properties",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  CHECK(adapter->platform() == "hubspot");
  CHECK_FALSE(adapter->oneRequestPerRow());
  HttpRequest http = build(*adapter, createOne());
  CHECK(http.method == "POST");
  CHECK(http.url == "https://api.hubapi.com/crm/v3/objects/contacts");
  CHECK(http.path_template == "POST /crm/v3/objects/{objectType}");
  CHECK(http.body == golden("request_create_one.json"));
  CHECK(headerOf(http, "Content-Type") == "application/json");
  CHECK(headerOf(http, "Accept") == "application/json");
  CHECK(headerOf(http, "Authorization") == "<absent>");
  CHECK_FALSE(http.resend_safe);  // a second create would make a second contact
  // Deterministic: the same statement gives the same bytes.
  CHECK(build(*adapter, createOne()).body == http.body);
}

TEST_CASE("hubspot: more rows go to batch/create, one objectWriteTraceId each",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter("https://api.hubapi.com/");  // trailing slash dropped
  HttpRequest http = build(*adapter, createThree());
  CHECK(http.url == "https://api.hubapi.com/crm/v3/objects/contacts/batch/create");
  CHECK(http.path_template == "POST /crm/v3/objects/{objectType}/batch/create");
  CHECK(http.body == golden("request_batch_create.json"));
  CHECK_FALSE(http.resend_safe);
}

TEST_CASE("hubspot: UPDATE is batch/update and DELETE batch/archive, both resend-safe",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  HttpRequest update = build(*adapter, updateThree());
  CHECK(update.method == "POST");
  CHECK(update.url == "https://api.hubapi.com/crm/v3/objects/contacts/batch/update");
  CHECK(update.path_template == "POST /crm/v3/objects/{objectType}/batch/update");
  CHECK(update.body == golden("request_batch_update.json"));
  CHECK(update.resend_safe);
  CHECK(headerOf(update, "Authorization") == "<absent>");

  HttpRequest archive = build(*adapter, archiveThree());
  CHECK(archive.method == "POST");
  CHECK(archive.url == "https://api.hubapi.com/crm/v3/objects/contacts/batch/archive");
  CHECK(archive.path_template == "POST /crm/v3/objects/{objectType}/batch/archive");
  CHECK(archive.body == golden("request_batch_archive.json"));
  CHECK(archive.resend_safe);
  CHECK(headerOf(archive, "Content-Type") == "application/json");

  // Custom object types go in the path as they are.
  WriteRequest custom{Operation::kUpdate, "2-123456", {Row{"7", {{"name", R"("x")"}}}}, "k"};
  CHECK(build(*adapter, custom).url ==
        "https://api.hubapi.com/crm/v3/objects/2-123456/batch/update");
}

TEST_CASE("hubspot: values become HubSpot strings; strings keep their escapes",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  WriteRequest request{Operation::kUpdate,
                       "contacts",
                       {Row{"1",
                            {{"a", R"("tab\there \u00e9 \"q\"")"},
                             {"b", "12345678901234567890123"},
                             {"c", "-1.5e+300"},
                             {"d", "false"},
                             {"e", " null "},
                             {"f", R"({"k":[1,{"n":null}]})"}}}},
                       "k"};
  CHECK(build(*adapter, request).body ==
        R"({"inputs":[{"id":"1","properties":{"a":"tab\there \u00e9 \"q\"",)"
        R"("b":"12345678901234567890123","c":"-1.5e+300","d":"false","e":"",)"
        R"("f":"{\"k\":[1,{\"n\":null}]}"}}]})");
}

TEST_CASE("hubspot: what cannot be sent is refused before anything goes out",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  WriteRequest no_id{Operation::kUpdate, "contacts", {Row{"", {{"a", "1"}}}}, "k"};
  ApiError error = refusal(*adapter, no_id);
  CHECK(error.error_class == ErrorClass::kValidation);
  CHECK(error.field == "id");

  WriteRequest delete_no_id{Operation::kDelete, "contacts", {Row{"1", {}}, Row{"", {}}}, "k"};
  CHECK(refusal(*adapter, delete_no_id).error_class == ErrorClass::kValidation);

  WriteRequest twice{Operation::kDelete, "contacts", {Row{"5", {}}, Row{"5", {}}}, "k"};
  CHECK(refusal(*adapter, twice).error_class == ErrorClass::kValidation);

  WriteRequest too_many{Operation::kUpdate, "contacts", {}, "k"};
  for (int i = 0; i < 101; ++i) too_many.rows.push_back(Row{std::to_string(i + 1), {}});
  CHECK(refusal(*adapter, too_many).error_class == ErrorClass::kUnsupported);
  too_many.rows.pop_back();
  CHECK(build(*adapter, too_many).url.ends_with("/batch/update"));  // 100 is fine

  for (const char* object : {"", "contacts/../owners", "contacts?x=1", "con tacts"}) {
    INFO(object);
    WriteRequest bad_object{Operation::kInsert, object, {Row{"", {{"a", "1"}}}}, "k"};
    CHECK(refusal(*adapter, bad_object).error_class == ErrorClass::kUnknownObject);
  }

  WriteRequest not_json{Operation::kInsert, "contacts", {Row{"", {{"email", "ada@"}}}}, "k"};
  error = refusal(*adapter, not_json);
  CHECK(error.error_class == ErrorClass::kInvalidValue);
  CHECK(error.field == "email");

  WriteRequest nothing{Operation::kInsert, "contacts", {}, "k"};
  CHECK(refusal(*adapter, nothing).error_class == ErrorClass::kValidation);
}

// ---- answers --------------------------------------------------------------------------------

TEST_CASE("hubspot: a created contact comes back with its id and properties as written",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  WriteResult result =
      adapter->parseResponse(createOne(), answer(201, golden("response_create_201.json")));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 1);
  const RowResult& row = result.rows[0];
  CHECK(row.outcome == RowOutcome::kApplied);
  CHECK(row.id == "512");
  CHECK(row.fields == Fields{{"createdate", R"("2019-10-30T03:30:17.883Z")"},
                             {"email", R"("ada@example.com")"},
                             {"firstname", R"("Ada")"},
                             {"hs_object_id", R"("512")"},
                             {"lastmodifieddate", R"("2019-12-07T16:50:06.678Z")"},
                             {"phone", "null"}});

  // A numeric id no double can hold stays as written.
  result = adapter->parseResponse(
      createOne(), answer(201, R"({"id":12345678901234567890123,"properties":{"n":1.50}})"));
  REQUIRE(result.ok);
  CHECK(result.rows[0].id == "12345678901234567890123");
  CHECK(result.rows[0].fields == Fields{{"n", "1.50"}});
}

TEST_CASE("hubspot: batch/create results are matched by objectWriteTraceId, not position",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  WriteResult result =
      adapter->parseResponse(createThree(), answer(201, golden("response_batch_create_201.json")));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[0].id == "901");
  CHECK(fieldOf(result.rows[0], "firstname") == R"("Ada")");
  CHECK(result.rows[1].id == "902");
  CHECK(result.rows[2].id == "903");
  CHECK(fieldOf(result.rows[2], "firstname") == "null");

  // 207 (multi-status, opted into by the trace ids): per-row outcomes in request order.
  result =
      adapter->parseResponse(createThree(), answer(207, golden("response_batch_create_207.json")));
  REQUIRE_FALSE(result.ok);
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[0].outcome == RowOutcome::kRefused);
  CHECK(result.rows[0].error.error_class == ErrorClass::kDuplicate);
  CHECK(result.rows[0].error.message == "Contact already exists. Existing ID: 77");
  CHECK(result.rows[1].outcome == RowOutcome::kApplied);
  CHECK(result.rows[1].id == "902");
  CHECK(result.rows[2].outcome == RowOutcome::kRefused);
  CHECK(result.rows[2].error.error_class == ErrorClass::kInvalidValue);
  CHECK(result.rows[2].error.field == "email");
  CHECK(result.rows[2].error.code == "VALIDATION_ERROR/INVALID_EMAIL");
  CHECK(result.rows[2].error.http_status == 207);
  // The statement's error is the first refused row's (row 0), not the first listed.
  CHECK(result.error.error_class == ErrorClass::kDuplicate);

  // Results without their trace id cannot be matched to rows.
  result = adapter->parseResponse(
      createThree(), answer(201, R"({"status":"COMPLETE","results":[{"id":"1","properties":{}},)"
                                 R"({"id":"2","properties":{}},{"id":"3","properties":{}}]})"));
  CHECK_FALSE(result.ok);
  CHECK(result.error.error_class == ErrorClass::kBadResponse);
  CHECK(result.rows.empty());
}

TEST_CASE("hubspot: batch/update results are matched by id whatever their order",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  WriteResult result =
      adapter->parseResponse(updateThree(), answer(200, golden("response_batch_update_200.json")));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[0].id == "101");
  CHECK(fieldOf(result.rows[0], "age") == R"("37")");
  CHECK(result.rows[1].id == "102");
  CHECK(fieldOf(result.rows[1], "age") == R"("41")");
  CHECK(result.rows[2].id == "103");
  CHECK(fieldOf(result.rows[2], "age") == "null");
  for (const RowResult& row : result.rows) CHECK(row.outcome == RowOutcome::kApplied);
}

TEST_CASE("hubspot: a 207 batch update is a partial success, correlated by id",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  WriteResult result =
      adapter->parseResponse(updateThree(), answer(207, golden("response_batch_update_207.json"),
                                                   {{"x-hubspot-correlation-id", "corr-207"}}));
  REQUIRE_FALSE(result.ok);
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[0].id == "101");
  CHECK(fieldOf(result.rows[0], "age") == R"("37")");
  CHECK(result.rows[1].outcome == RowOutcome::kRefused);
  CHECK(result.rows[1].id == "102");
  CHECK(result.rows[1].error.error_class == ErrorClass::kInvalidValue);
  CHECK(result.rows[1].error.field == "age");
  CHECK(result.rows[1].error.message ==
        "Property values were not valid: 41x is not a valid number");
  CHECK(result.rows[1].error.request_id == "corr-207");
  CHECK(result.rows[2].outcome == RowOutcome::kRefused);
  CHECK(result.rows[2].error.error_class == ErrorClass::kNotFound);
  CHECK(result.rows[2].error.code == "OBJECT_NOT_FOUND");
  // Row 102 comes first in the request, though its error is listed second.
  CHECK(result.error.error_class == ErrorClass::kInvalidValue);
  CHECK(result.error.field == "age");

  // A 207 that names every input in results is a success.
  result = adapter->parseResponse(
      WriteRequest{Operation::kUpdate, "contacts", {Row{"101", {}}}, "k"},
      answer(207, R"({"status":"COMPLETE","results":[{"id":"101","properties":{}}],"errors":[]})"));
  CHECK(result.ok);
}

TEST_CASE("hubspot: an input neither in results nor in errors is of unknown outcome",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  WriteResult result = adapter->parseResponse(
      updateThree(),
      answer(207, R"({"status":"COMPLETE","results":[{"id":"103","properties":{"age":null}}],)"
                  R"("errors":[{"status":"error","category":"VALIDATION_ERROR",)"
                  R"("message":"bad","context":{"ids":["101"]}}]})"));
  REQUIRE_FALSE(result.ok);
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[0].outcome == RowOutcome::kRefused);
  CHECK(result.rows[0].error.error_class == ErrorClass::kValidation);
  CHECK(result.rows[1].outcome == RowOutcome::kUnknown);
  CHECK(result.rows[1].error.error_class == ErrorClass::kOutcomeUnknown);
  CHECK(result.rows[2].outcome == RowOutcome::kApplied);
  CHECK(result.error.error_class == ErrorClass::kValidation);  // the refused row's

  // The reported "207 with nothing in it": every row unknown.
  result = adapter->parseResponse(updateThree(),
                                  answer(207, R"({"status":"COMPLETE","results":[],"errors":[]})"));
  REQUIRE_FALSE(result.ok);
  REQUIRE(result.rows.size() == 3);
  for (const RowResult& row : result.rows) CHECK(row.outcome == RowOutcome::kUnknown);
  CHECK(result.error.error_class == ErrorClass::kOutcomeUnknown);
}

TEST_CASE("hubspot: batch/archive's 204 archives every id; a missing one is a notice",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  WriteResult result = adapter->parseResponse(archiveThree(), answer(204, ""));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[2].id == "12345678901234567890");
  for (const RowResult& row : result.rows) {
    CHECK(row.outcome == RowOutcome::kApplied);
    CHECK(row.notice.empty());
  }

  result = adapter->parseResponse(
      archiveThree(),
      answer(207, R"({"status":"COMPLETE","results":[],"errors":[{"status":"error",)"
                  R"("category":"OBJECT_NOT_FOUND","message":"gone","context":{"ids":["102"]}},)"
                  R"({"status":"error","category":"VALIDATION_ERROR","message":"no",)"
                  R"("context":{"ids":["12345678901234567890"]}}]})"));
  REQUIRE_FALSE(result.ok);
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[1].outcome == RowOutcome::kApplied);
  CHECK(result.rows[1].notice.find("102") != std::string::npos);
  CHECK(result.rows[2].outcome == RowOutcome::kRefused);
  CHECK(result.error.error_class == ErrorClass::kValidation);
}

// ---- errors ---------------------------------------------------------------------------------

TEST_CASE("hubspot: validation errors are refined by their codes", "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  WriteResult result = adapter->parseResponse(
      createOne(), answer(400, golden("error_400_property_doesnt_exist.json")));
  REQUIRE_FALSE(result.ok);
  CHECK(result.rows.empty());
  CHECK(result.error.error_class == ErrorClass::kUnknownField);
  CHECK(result.error.field == "made_up_property");
  CHECK(result.error.code == "VALIDATION_ERROR/PROPERTY_DOESNT_EXIST");
  CHECK(result.error.http_status == 400);
  CHECK(result.error.request_id == "3d3d4b6b-5b0c-4c73-9a4c-6a9e5b1c0f11");
  // The JSON HubSpot embeds in its message gives way to the details' own words.
  CHECK(result.error.message ==
        "Property values were not valid: Property \"made_up_property\" does not exist");

  // The older shape: the details only inside the message.
  result = adapter->parseResponse(createOne(),
                                  answer(400, golden("error_400_invalid_email_legacy.json")));
  CHECK(result.error.error_class == ErrorClass::kInvalidValue);
  CHECK(result.error.field == "email");
  CHECK(result.error.code == "VALIDATION_ERROR/INVALID_EMAIL");
  CHECK(result.error.request_id == "aeb5f871-7f07-4993-9211-075dc63e7cbf");
  CHECK(result.error.message == "Property values were not valid: Email address ada@ is invalid");

  result =
      adapter->parseResponse(createOne(), answer(400, golden("error_400_invalid_option.json")));
  CHECK(result.error.error_class == ErrorClass::kInvalidValue);
  CHECK(result.error.field == "plan");  // from "in"

  result = adapter->parseResponse(createOne(), answer(400, golden("error_400_required.json")));
  CHECK(result.error.error_class == ErrorClass::kRequiredField);
  CHECK(result.error.field == "pipeline");
  CHECK(result.error.message == "Required property 'pipeline' is missing");

  result =
      adapter->parseResponse(createOne(), answer(400, golden("error_400_validation_plain.json")));
  CHECK(result.error.error_class == ErrorClass::kValidation);
  CHECK(result.error.code == "VALIDATION_ERROR");
  CHECK(result.error.field.empty());
  CHECK(result.error.message.rfind("Invalid input JSON on line 1, column 15: ", 0) == 0);

  result = adapter->parseResponse(updateThree(),
                                  answer(400, golden("error_400_unknown_object_type.json")));
  CHECK(result.error.error_class == ErrorClass::kUnknownObject);
}

TEST_CASE("hubspot: every documented status maps to its class", "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  struct Case {
    int status;
    const char* file;
    const WriteRequest request;
    ErrorClass expected;
  };
  const Case cases[] = {
      {401, "error_401.json", createOne(), ErrorClass::kAuth},
      {403, "error_403_missing_scopes.json", updateThree(), ErrorClass::kForbidden},
      {404, "error_404_object_not_found.json", updateThree(), ErrorClass::kNotFound},
      {404, "error_404_object_not_found.json", createOne(), ErrorClass::kUnknownObject},
      {404, "error_404_unknown_object_type.json", updateThree(), ErrorClass::kUnknownObject},
      {409, "error_409_conflict.json", createOne(), ErrorClass::kDuplicate},
      {423, "error_423_locked.json", updateThree(), ErrorClass::kLocked},
      {429, "error_429_ten_secondly.json", createOne(), ErrorClass::kRateLimited},
      {429, "error_429_daily.json", createOne(), ErrorClass::kQuotaExhausted},
      {477, "error_477_migration.json", updateThree(), ErrorClass::kUnavailable},
  };
  for (const Case& c : cases) {
    INFO(c.file << " " << c.status);
    WriteResult result = adapter->parseResponse(c.request, answer(c.status, golden(c.file)));
    CHECK_FALSE(result.ok);
    CHECK(result.rows.empty());
    CHECK(result.error.error_class == c.expected);
    CHECK(result.error.http_status == c.status);
    CHECK_FALSE(result.error.message.empty());
    CHECK(result.error.request_id.rfind("c0ffee00-", 0) == 0);
  }
  WriteResult conflict =
      adapter->parseResponse(createOne(), answer(409, golden("error_409_conflict.json")));
  CHECK(conflict.error.message == "Contact already exists. Existing ID: 6751");
  CHECK(conflict.error.code == "CONFLICT");
  WriteResult daily =
      adapter->parseResponse(createOne(), answer(429, golden("error_429_daily.json")));
  CHECK(daily.error.code == "RATE_LIMIT/DAILY");

  for (int status : {500, 502, 503, 504}) {
    INFO(status);
    WriteResult result = adapter->parseResponse(
        updateThree(),
        answer(status, "<html>Bad Gateway</html>", {{"x-hubspot-correlation-id", "corr-5xx"}}));
    CHECK(result.error.error_class == ErrorClass::kUnavailable);
    CHECK(result.error.request_id == "corr-5xx");
    CHECK(result.error.message == "HubSpot answered HTTP " + std::to_string(status));
  }
  CHECK(adapter->parseResponse(createOne(), answer(302, "")).error.error_class ==
        ErrorClass::kBadResponse);
  CHECK(adapter->parseResponse(createOne(), answer(400, "{}")).error.error_class ==
        ErrorClass::kValidation);
}

TEST_CASE("hubspot: errors carry how long to wait", "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  auto retryAfter = [&](int status, const std::string& body,
                        std::vector<std::pair<std::string, std::string>> headers) {
    return adapter->parseResponse(createOne(), answer(status, body, std::move(headers)))
        .error.retry_after_seconds;
  };
  std::string burst = golden("error_429_ten_secondly.json");
  CHECK(retryAfter(429, burst, {{"retry-after", "3"}}) == 3.0);
  CHECK(retryAfter(429, burst, {{"x-hubspot-ratelimit-interval-milliseconds", "10000"}}) == 10.0);
  CHECK(retryAfter(429, burst, {}) == 1.0);
  CHECK(retryAfter(429, golden("error_429_daily.json"), {}) == 0.0);
  CHECK(retryAfter(423, golden("error_423_locked.json"), {}) == 2.0);
  CHECK(retryAfter(423, golden("error_423_locked.json"), {{"retry-after", "5"}}) == 5.0);
  CHECK(retryAfter(477, golden("error_477_migration.json"), {{"retry-after", "7200"}}) == 7200.0);
}

// ---- retries --------------------------------------------------------------------------------

TEST_CASE("hubspot: retry advice follows the spec's rules", "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  HttpRequest create = build(*adapter, createOne());
  HttpRequest update = build(*adapter, updateThree());
  HttpRequest archive = build(*adapter, archiveThree());
  std::string burst = golden("error_429_ten_secondly.json");

  RetryAdvice advice = adapter->adviseRetry(create, answer(429, burst, {{"retry-after", "2"}}));
  CHECK(advice.retry);  // a 429 was refused before anything was applied
  CHECK(advice.after_seconds == 2.0);
  CHECK(advice.pause_api_seconds == 2.0);  // the burst window is the whole account's
  advice = adapter->adviseRetry(
      update, answer(429, burst, {{"x-hubspot-ratelimit-interval-milliseconds", "10000"}}));
  CHECK(advice.retry);
  CHECK(advice.after_seconds == 10.0);
  advice = adapter->adviseRetry(update, answer(429, "", {}));  // no policy named
  CHECK(advice.retry);
  CHECK(advice.after_seconds == 1.0);

  advice = adapter->adviseRetry(
      update, answer(429, golden("error_429_daily.json"), {{"retry-after", "1"}}));
  CHECK_FALSE(advice.retry);
  advice = adapter->adviseRetry(update, answer(423, golden("error_423_locked.json")));
  CHECK(advice.retry);
  CHECK(advice.after_seconds >= 2.0);
  for (int status : {502, 504}) {
    INFO(status);
    advice = adapter->adviseRetry(update, answer(status, ""));
    CHECK(advice.retry);
    CHECK(advice.after_seconds == 1.0);
    CHECK(adapter->adviseRetry(archive, answer(status, "")).retry);
    CHECK_FALSE(adapter->adviseRetry(create, answer(status, "")).retry);  // may have been applied
  }
  CHECK_FALSE(adapter
                  ->adviseRetry(update, answer(477, golden("error_477_migration.json"),
                                               {{"retry-after", "1"}}))
                  .retry);
  CHECK_FALSE(adapter->adviseRetry(update, answer(500, "")).retry);
  CHECK_FALSE(adapter->adviseRetry(update, answer(400, golden("error_400_required.json"))).retry);
  advice = adapter->adviseRetry(create, answer(503, "", {{"retry-after", "4"}}));  // generic rule
  CHECK(advice.retry);
  CHECK(advice.after_seconds == 4.0);

  // A success that spent the last request of the window pauses everyone for the interval.
  advice = adapter->adviseRetry(update,
                                answer(200, "{}",
                                       {{"x-hubspot-ratelimit-remaining", "0"},
                                        {"x-hubspot-ratelimit-interval-milliseconds", "10000"}}));
  CHECK_FALSE(advice.retry);
  CHECK(advice.pause_api_seconds == 10.0);
  advice =
      adapter->adviseRetry(update, answer(200, "{}", {{"x-hubspot-ratelimit-remaining", "5"}}));
  CHECK(advice.pause_api_seconds == 0.0);
}

// ---- OAuth ----------------------------------------------------------------------------------

TEST_CASE("hubspot: OAuth v3 refresh sends the form body and reads HubSpot's answers",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  OAuthClient client{"https://api.hubapi.com/oauth/v3/token", "cid-1", "s3cr et"};
  HttpRequest refresh = adapter->buildTokenRefresh(client, "rt/1+2");
  CHECK(refresh.method == "POST");
  CHECK(refresh.url == "https://api.hubapi.com/oauth/v3/token");
  CHECK(refresh.body ==
        "grant_type=refresh_token&refresh_token=rt%2F1%2B2&client_id=cid-1&client_secret=s3cr+et");
  CHECK(headerOf(refresh, "Content-Type") == "application/x-www-form-urlencoded");
  CHECK(headerOf(refresh, "Authorization") == "<absent>");
  CHECK_FALSE(refresh.resend_safe);

  auto granted = adapter->parseTokenRefresh(answer(200, golden("token_200.json")));
  REQUIRE(std::holds_alternative<TokenGrant>(granted));
  const TokenGrant& grant = std::get<TokenGrant>(granted);
  CHECK(grant.access_token.rfind("CN2zlYnmLBICAQIY", 0) == 0);
  CHECK(grant.refresh_token == "6f18f21e-a743-4509-b7fd-1a5e632fffa1");
  CHECK(grant.expires_in_seconds == 1800.0);

  auto refused =
      adapter->parseTokenRefresh(answer(400, golden("token_400_bad_refresh_token.json")));
  REQUIRE(std::holds_alternative<ApiError>(refused));
  const ApiError& error = std::get<ApiError>(refused);
  CHECK(error.error_class == ErrorClass::kAuth);
  CHECK(error.code == "BAD_REFRESH_TOKEN");
  CHECK(error.message == "missing or unknown refresh token");
  CHECK(error.request_id == "c0ffee00-0000-4000-8000-00000000000e");

  auto grant_error = adapter->parseTokenRefresh(
      answer(400, R"({"error":"invalid_grant","error_description":"refresh token is revoked"})"));
  REQUIRE(std::holds_alternative<ApiError>(grant_error));
  CHECK(std::get<ApiError>(grant_error).error_class == ErrorClass::kAuth);
  CHECK(std::get<ApiError>(grant_error).code == "invalid_grant");

  auto empty = adapter->parseTokenRefresh(answer(200, R"({"token_type":"bearer"})"));
  REQUIRE(std::holds_alternative<ApiError>(empty));
  CHECK(std::get<ApiError>(empty).error_class == ErrorClass::kBadResponse);
  auto down = adapter->parseTokenRefresh(answer(502, "<html>"));
  REQUIRE(std::holds_alternative<ApiError>(down));
  CHECK(std::get<ApiError>(down).error_class == ErrorClass::kUnavailable);
  auto limited = adapter->parseTokenRefresh(answer(429, golden("error_429_ten_secondly.json")));
  REQUIRE(std::holds_alternative<ApiError>(limited));
  CHECK(std::get<ApiError>(limited).error_class == ErrorClass::kRateLimited);

  CHECK(adapter->tokenRejected(answer(401, golden("error_401.json"))));
  CHECK_FALSE(adapter->tokenRejected(answer(403, golden("error_403_missing_scopes.json"))));
}

// ---- garbage --------------------------------------------------------------------------------

TEST_CASE("hubspot: a 2xx the adapter cannot read is contract drift, never success",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  const char* single_bodies[] = {"",
                                 "not json",
                                 "[]",
                                 "{}",
                                 R"({"id":null,"properties":{}})",
                                 R"({"id":{"x":1},"properties":{}})",
                                 R"({"id":"","properties":{}})",
                                 R"({"id":"5","properties":"email=a"})",
                                 R"({"id":"5","properties":{"a":1})"};
  for (const char* body : single_bodies) {
    INFO(body);
    WriteResult result = adapter->parseResponse(createOne(), answer(201, body));
    CHECK_FALSE(result.ok);
    CHECK(result.error.error_class == ErrorClass::kBadResponse);
    CHECK(result.rows.empty());
  }
  const char* batch_bodies[] = {
      "",
      "null",
      R"({"status":"COMPLETE"})",
      R"({"results":"nope"})",
      R"({"results":[],"errors":{}})",
      R"({"results":[7]})",
      R"({"results":[{"properties":{}}]})",
      R"({"results":[{"id":"101","properties":[]}]})",
      R"({"results":[{"id":"999","properties":{}}]})",  // an id not sent
      R"({"results":[{"id":"101"},{"id":"101"}]})",     // one input answered twice
      R"({"results":[{"id":"101"}],"errors":[{"category":"X","context":{"ids":["101"]}}]})",
      R"({"results":[],"errors":["text"]})"};
  for (const char* body : batch_bodies) {
    INFO(body);
    for (int status : {200, 207}) {
      WriteResult result = adapter->parseResponse(updateThree(), answer(status, body));
      CHECK_FALSE(result.ok);
      CHECK(result.error.error_class == ErrorClass::kBadResponse);
      CHECK(result.rows.empty());
    }
  }
  for (const char* body : {R"({"errors":"x"})", R"({"errors":[1]})"}) {
    INFO(body);
    CHECK(adapter->parseResponse(archiveThree(), answer(200, body)).error.error_class ==
          ErrorClass::kBadResponse);
  }
  // An archive's 2xx body other than an errors[] list is not read.
  CHECK(adapter->parseResponse(archiveThree(), answer(200, "OK")).ok);
  // Error bodies that are not HubSpot's still classify by status.
  CHECK(adapter->parseResponse(updateThree(), answer(409, "[1,2]")).error.error_class ==
        ErrorClass::kDuplicate);
  CHECK(adapter->parseResponse(updateThree(), answer(400, R"({"errors":"x","message":7})"))
            .error.error_class == ErrorClass::kValidation);
}

TEST_CASE("hubspot: a deeply nested answer is read without exhausting the stack",
          "[adapters][hubspot]") {
  auto adapter = makeHubspotAdapter(kBase);
  std::string deep = std::string(50000, '[') + std::string(50000, ']');
  std::string unbalanced = std::string(50000, '[');
  // Kept as written inside a property.
  WriteResult result = adapter->parseResponse(
      createOne(), answer(201, R"({"id":"1","properties":{"x":)" + deep + "}}"));
  REQUIRE(result.ok);
  CHECK(result.rows[0].fields.front().second == deep);
  // Garbage in every place an answer is read.
  for (const std::string& body :
       {deep, unbalanced, R"({"results":)" + deep + "}", R"({"results":[)" + deep + "]}",
        R"({"results":[],"errors":[)" + deep + "]}"}) {
    CHECK_FALSE(adapter->parseResponse(updateThree(), answer(200, body)).ok);
    CHECK_FALSE(adapter->parseResponse(createThree(), answer(207, body)).ok);
    CHECK_FALSE(adapter->parseResponse(createOne(), answer(201, body)).ok);
  }
  for (const std::string& body : {deep, unbalanced, R"({"message":"x","errors":)" + deep + "}",
                                  R"({"errors":[{"context":{"propertyName":)" + deep + "}}]}"}) {
    WriteResult error = adapter->parseResponse(createOne(), answer(400, body));
    CHECK_FALSE(error.ok);
    CHECK(error.error.error_class == ErrorClass::kValidation);
    CHECK_FALSE(adapter->parseResponse(updateThree(), answer(207, body)).ok);
    CHECK(adapter->adviseRetry(HttpRequest{}, answer(429, body)).retry);  // no DAILY named
  }
  CHECK(std::holds_alternative<ApiError>(adapter->parseTokenRefresh(answer(400, deep))));
  // A value to send may be deep too (a jsonb column).
  WriteRequest deep_value{Operation::kInsert, "contacts", {Row{"", {{"j", deep}}}}, "k"};
  CHECK(build(*adapter, deep_value).body.size() > deep.size());
}
