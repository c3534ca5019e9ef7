// The Salesforce adapter: sObject Collections requests with allOrNone=true (byte-exact bodies in
// golden/salesforce/), per-record results read by position, Salesforce's error codes mapped to
// error classes, its retry rules, the OAuth refresh answer, and garbage that must never pass.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "adapters/adapter.h"

using namespace apibouncer::adapters;

namespace {

const std::string kBase = "https://acme.my.salesforce.com/services/data/v62.0";
const std::string kId1 = "001RM000003oLnnYAE";
const std::string kId2 = "001RM000003oLrHYAU";
const std::string kRolledBack =
    R"({"id":null,"success":false,"errors":[{"statusCode":"ALL_OR_NONE_OPERATION_ROLLED_BACK",)"
    R"("message":"Record rolled back because not all records were valid","fields":[]}]})";

// A golden file's text, without the newline that ends the file.
std::string golden(const std::string& name) {
  std::ifstream in(std::string(APIBOUNCER_TEST_DATA_DIR) + "/golden/salesforce/" + name);
  INFO("golden file " << name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  std::string body = text.str();
  if (!body.empty() && body.back() == '\n') body.pop_back();
  return body;
}

std::string headerOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers)
    if (key == name) return value;
  return "<absent>";
}

HttpRequest build(const Adapter& adapter, const WriteRequest& request) {
  auto built = adapter.buildRequest(request);
  if (std::holds_alternative<ApiError>(built)) FAIL(std::get<ApiError>(built).message);
  return std::get<HttpRequest>(built);
}

ApiError refusalOf(const Adapter& adapter, const WriteRequest& request) {
  auto built = adapter.buildRequest(request);
  REQUIRE(std::holds_alternative<ApiError>(built));
  return std::get<ApiError>(built);
}

WriteRequest insertTwo() {
  return {Operation::kInsert,
          "Account",
          {Row{"",
               {{"Name", R"("Acme \"West\"")"},
                {"NumberOfEmployees", "12345678901234567890"},
                {"AnnualRevenue", "1.50"},
                {"Active__c", "true"},
                {"Industry", "null"}}},
           Row{"", {{"Name", "\"Globex\""}}}},
          "stmt-1"};
}

WriteRequest updateTwo() {
  return {Operation::kUpdate,
          "Account",
          {Row{kId1, {{"Industry", "\"Energy\""}}},
           Row{kId2, {{"Id", "\"" + kId2 + "\""}, {"Name", "\"Initech\""}, {"Industry", "null"}}}},
          "stmt-2"};
}

WriteRequest deleteTwo() {
  return {Operation::kDelete, "Account", {Row{kId2, {}}, Row{"001RM000003oLraYAE", {}}}, "stmt-3"};
}

WriteRequest ofRows(Operation operation, size_t count) {
  WriteRequest request{operation, "Account", {}, "k"};
  for (size_t i = 0; i < count; ++i) {
    std::string id = "001RM00000" + std::to_string(10000000 + i);
    request.rows.push_back(Row{operation == Operation::kInsert ? "" : id, {{"Name", "\"n\""}}});
  }
  return request;
}

HttpResponse answer(int status, std::string body, std::string request_id = "") {
  HttpResponse response{status, {}, std::move(body)};
  if (!request_id.empty()) response.headers.emplace_back("sforce-request-id", request_id);
  return response;
}

// A collections answer where record `failing` of `count` has `code`, the others rolled back.
std::string failureAt(size_t count, size_t failing, const std::string& code,
                      const std::string& fields = "[]") {
  std::string body = "[";
  for (size_t i = 0; i < count; ++i) {
    if (i) body += ",";
    body += i != failing
                ? kRolledBack
                : R"({"success":false,"errors":[{"statusCode":")" + code +
                      R"(","message":"refused: )" + code + R"(","fields":)" + fields + "}]}";
  }
  return body + "]";
}

}  // namespace

// ---- requests -------------------------------------------------------------------------------

TEST_CASE("salesforce: INSERT is one allOrNone POST to composite/sobjects",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  CHECK(adapter->platform() == "salesforce");
  CHECK_FALSE(adapter->oneRequestPerRow());
  HttpRequest http = build(*adapter, insertTwo());
  CHECK(http.method == "POST");
  CHECK(http.url == kBase + "/composite/sobjects");
  CHECK(http.body == golden("insert_request.json"));  // values exactly as written, 1.50 included
  CHECK(headerOf(http, "Content-Type") == "application/json");
  CHECK(headerOf(http, "Accept") == "application/json");
  CHECK(headerOf(http, "Authorization") == "<absent>");
  CHECK(http.path_template == "POST /services/data/v62.0/composite/sobjects");
  CHECK_FALSE(http.resend_safe);  // a resent create would create twice

  // The same statement always gives the same bytes; a trailing slash on base_url changes nothing.
  CHECK(build(*makeSalesforceAdapter(kBase + "/"), insertTwo()).body == http.body);
  CHECK(build(*makeSalesforceAdapter(kBase + "/"), insertTwo()).url == http.url);
}

TEST_CASE("salesforce: UPDATE is a PATCH carrying attributes.type and id per record",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  HttpRequest http = build(*adapter, updateTwo());
  CHECK(http.method == "PATCH");
  CHECK(http.url == kBase + "/composite/sobjects");
  // The Id among the fields is the record's own: sent once, as "id".
  CHECK(http.body == golden("update_request.json"));
  CHECK(headerOf(http, "Content-Type") == "application/json");
  CHECK(http.path_template == "PATCH /services/data/v62.0/composite/sobjects");
  CHECK(http.resend_safe);  // fixed values: applying twice is applying once

  // An UPDATE that sets nothing still names the record (Salesforce accepts it as a no-op).
  WriteRequest bare{Operation::kUpdate, "Contact", {Row{kId1, {}}}, "k"};
  CHECK(build(*adapter, bare).body ==
        R"({"allOrNone":true,"records":[{"attributes":{"type":"Contact"},"id":")" + kId1 +
            R"("}]})");
}

TEST_CASE("salesforce: DELETE lists the ids in the query, with allOrNone=true and no body",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  HttpRequest http = build(*adapter, deleteTwo());
  CHECK(http.method == "DELETE");
  CHECK(http.url ==
        kBase + "/composite/sobjects?ids=" + kId2 + ",001RM000003oLraYAE&allOrNone=true");
  CHECK(http.body.empty());
  CHECK(headerOf(http, "Content-Type") == "<absent>");
  CHECK(headerOf(http, "Accept") == "application/json");
  CHECK(headerOf(http, "Authorization") == "<absent>");
  // No ids in what gets logged.
  CHECK(http.path_template ==
        "DELETE /services/data/v62.0/composite/sobjects?ids={ids}&allOrNone=true");
  CHECK(http.path_template.find(kId2) == std::string::npos);
  CHECK(http.resend_safe);
}

TEST_CASE("salesforce: 200 records are one request, 201 cannot be sent", "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  for (Operation operation : {Operation::kInsert, Operation::kUpdate, Operation::kDelete}) {
    HttpRequest http = build(*adapter, ofRows(operation, 200));
    if (operation == Operation::kDelete) {
      size_t commas = std::count(http.url.begin(), http.url.end(), ',');
      CHECK(commas == 199);
    } else {
      size_t records = 0;
      for (size_t at = http.body.find("\"attributes\""); at != std::string::npos;
           at = http.body.find("\"attributes\"", at + 1))
        ++records;
      CHECK(records == 200);
    }
    ApiError error = refusalOf(*adapter, ofRows(operation, 201));
    CHECK(error.error_class == ErrorClass::kUnsupported);
    CHECK(error.message.find("200") != std::string::npos);
  }
  CHECK(refusalOf(*adapter, ofRows(Operation::kInsert, 0)).error_class == ErrorClass::kValidation);
}

TEST_CASE("salesforce: what Salesforce could not take is refused before anything is sent",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  SECTION("a row to update or delete without an id") {
    for (Operation operation : {Operation::kUpdate, Operation::kDelete}) {
      WriteRequest request{operation, "Account", {Row{kId1, {}}, Row{"", {}}}, "k"};
      ApiError error = refusalOf(*adapter, request);
      CHECK(error.error_class == ErrorClass::kValidation);
      CHECK(error.field == "Id");
    }
  }
  SECTION("an id that cannot go into the ids list") {
    for (const char* id : {"001RM,000003oLnn", "001 RM", "001&allOrNone=false", "001%2C"}) {
      WriteRequest request{Operation::kDelete, "Account", {Row{id, {}}}, "k"};
      CHECK(refusalOf(*adapter, request).error_class == ErrorClass::kBadReference);
    }
  }
  SECTION("an object that is no sObject type name") {
    for (const char* object : {"", "Account/../x", "1Account", "Acc ount"}) {
      WriteRequest request = insertTwo();
      request.object = object;
      CHECK(refusalOf(*adapter, request).error_class == ErrorClass::kUnknownObject);
    }
    WriteRequest custom = insertTwo();
    custom.object = "Invoice__c";
    CHECK(build(*adapter, custom).body.find(R"({"type":"Invoice__c"})") != std::string::npos);
  }
  SECTION("field names Salesforce has no way to take") {
    for (const char* name : {"attributes", "Attributes", "Owner.Name", "", "\"x\"", "_x"}) {
      WriteRequest request{Operation::kInsert, "Account", {Row{"", {{name, "1"}}}}, "k"};
      ApiError error = refusalOf(*adapter, request);
      CHECK(error.error_class == ErrorClass::kUnknownField);
      CHECK(error.field == name);
    }
    WriteRequest twice{
        Operation::kInsert, "Account", {Row{"", {{"Name", "1"}, {"name", "2"}}}}, "k"};
    CHECK(refusalOf(*adapter, twice).error_class == ErrorClass::kValidation);
    WriteRequest empty{Operation::kInsert, "Account", {Row{"", {{"Name", ""}}}}, "k"};
    CHECK(refusalOf(*adapter, empty).error_class == ErrorClass::kInvalidValue);
  }
  SECTION("an Id chosen by the client, or changed") {
    WriteRequest insert{
        Operation::kInsert, "Account", {Row{"", {{"Id", "\"" + kId1 + "\""}}}}, "k"};
    CHECK(refusalOf(*adapter, insert).error_class == ErrorClass::kValidation);
    WriteRequest null_id{
        Operation::kInsert, "Account", {Row{"", {{"Id", "null"}, {"Name", "1"}}}}, "k"};
    CHECK(build(*adapter, null_id).body ==
          R"({"allOrNone":true,"records":[{"attributes":{"type":"Account"},"Name":1}]})");
    WriteRequest change{
        Operation::kUpdate, "Account", {Row{kId1, {{"id", "\"" + kId2 + "\""}}}}, "k"};
    ApiError error = refusalOf(*adapter, change);
    CHECK(error.error_class == ErrorClass::kValidation);
    CHECK(error.field == "id");
  }
}

// ---- answers --------------------------------------------------------------------------------

TEST_CASE("salesforce: results are read by position; the answer carries ids only",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  WriteResult inserted =
      adapter->parseResponse(insertTwo(), answer(200, golden("insert_response.json")));
  REQUIRE(inserted.ok);
  REQUIRE(inserted.rows.size() == 2);
  CHECK(inserted.rows[0].id == kId1);
  CHECK(inserted.rows[1].id == kId2);
  for (const RowResult& row : inserted.rows) {
    CHECK(row.outcome == RowOutcome::kApplied);
    CHECK(row.fields.empty());
    CHECK(row.notice.empty());
  }

  WriteResult updated =
      adapter->parseResponse(updateTwo(), answer(200, golden("update_response.json")));
  REQUIRE(updated.ok);
  REQUIRE(updated.rows.size() == 2);
  CHECK(updated.rows[0].id == kId1);
  CHECK(updated.rows[1].id == kId2);

  WriteResult deleted =
      adapter->parseResponse(deleteTwo(), answer(200, golden("delete_response.json")));
  REQUIRE(deleted.ok);
  REQUIRE(deleted.rows.size() == 2);
  CHECK(deleted.rows[1].id == "001RM000003oLraYAE");
  CHECK(deleted.rows[1].notice.empty());

  // A mirror keyed by 15-character ids gets its own key back, not the 18-character form.
  WriteRequest short_id{Operation::kUpdate, "Account", {Row{"001RM000003oLnn", {}}}, "k"};
  WriteResult same = adapter->parseResponse(
      short_id, answer(200, R"([{"id":"001RM000003oLnnYAE","success":true,"errors":[]}])"));
  REQUIRE(same.ok);
  CHECK(same.rows[0].id == "001RM000003oLnn");
}

TEST_CASE("salesforce: an allOrNone failure refuses the whole statement with the real cause",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  WriteRequest three = ofRows(Operation::kInsert, 3);
  WriteResult result =
      adapter->parseResponse(three, answer(200, golden("all_or_none_failure.json"), "req-77"));
  REQUIRE_FALSE(result.ok);
  CHECK(result.rows.empty());  // nothing applied
  CHECK(result.error.error_class == ErrorClass::kValidation);
  CHECK(result.error.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION");
  CHECK(result.error.message == "Industry must be one of the approved values");
  CHECK(result.error.field == "Industry");
  CHECK(result.error.http_status == 200);
  CHECK(result.error.request_id == "req-77");
}

TEST_CASE("salesforce: each record error code maps to its error class", "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  struct Case {
    const char* code;
    Operation operation;
    const char* fields;
    ErrorClass expected;
  };
  const Case cases[] = {
      {"REQUIRED_FIELD_MISSING", Operation::kInsert, R"(["Name"])", ErrorClass::kRequiredField},
      {"DUPLICATE_VALUE", Operation::kInsert, "[]", ErrorClass::kDuplicate},
      {"DUPLICATES_DETECTED", Operation::kUpdate, "[]", ErrorClass::kDuplicate},
      {"INVALID_CROSS_REFERENCE_KEY", Operation::kInsert, R"(["ParentId"])",
       ErrorClass::kBadReference},
      {"MALFORMED_ID", Operation::kUpdate, "[]", ErrorClass::kBadReference},
      {"STRING_TOO_LONG", Operation::kInsert, R"(["Name"])", ErrorClass::kTooLong},
      {"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", Operation::kInsert, R"(["Industry"])",
       ErrorClass::kInvalidValue},
      {"INVALID_TYPE_ON_FIELD_IN_RECORD", Operation::kUpdate, R"(["NumberOfEmployees"])",
       ErrorClass::kInvalidValue},
      {"INVALID_FIELD", Operation::kInsert, R"(["Revenue__c"])", ErrorClass::kUnknownField},
      {"FIELD_CUSTOM_VALIDATION_EXCEPTION", Operation::kInsert, "[]", ErrorClass::kValidation},
      {"ENTITY_IS_DELETED", Operation::kUpdate, "[]", ErrorClass::kNotFound},
      // A lookup to a deleted record, not the record itself.
      {"ENTITY_IS_DELETED", Operation::kUpdate, R"(["ParentId"])", ErrorClass::kBadReference},
      {"ENTITY_IS_DELETED", Operation::kInsert, "[]", ErrorClass::kBadReference},
      {"ENTITY_IS_DELETED", Operation::kDelete, R"(["ParentId"])", ErrorClass::kBadReference},
      {"INSUFFICIENT_ACCESS_OR_READONLY", Operation::kDelete, "[]", ErrorClass::kForbidden},
      {"UNABLE_TO_LOCK_ROW", Operation::kUpdate, "[]", ErrorClass::kLocked},
      {"SOME_FUTURE_CODE", Operation::kInsert, "[]", ErrorClass::kValidation},
  };
  for (const Case& c : cases) {
    INFO(c.code << " " << c.fields);
    WriteRequest request = ofRows(c.operation, 3);
    WriteResult result =
        adapter->parseResponse(request, answer(200, failureAt(3, 1, c.code, c.fields)));
    REQUIRE_FALSE(result.ok);
    CHECK(result.rows.empty());
    CHECK(result.error.error_class == c.expected);
    CHECK(result.error.code == c.code);
    CHECK(result.error.message == std::string("refused: ") + c.code);
  }
  WriteResult locked = adapter->parseResponse(ofRows(Operation::kUpdate, 2),
                                              answer(200, golden("unable_to_lock_row.json")));
  CHECK(locked.error.error_class == ErrorClass::kLocked);
  CHECK(locked.error.retry_after_seconds == 1.0);
}

TEST_CASE("salesforce: a partial answer lists every row's outcome in request order",
          "[adapters][salesforce]") {
  // Salesforce with allOrNone=false (never sent, but read right if it ever answers so).
  auto adapter = makeSalesforceAdapter(kBase);
  WriteRequest two = ofRows(Operation::kInsert, 2);
  WriteResult result = adapter->parseResponse(two, answer(200, golden("partial_failure.json")));
  REQUIRE_FALSE(result.ok);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[0].id == "001RM000003oLrfYAE");
  CHECK(result.rows[1].outcome == RowOutcome::kRefused);
  CHECK(result.rows[1].error.error_class == ErrorClass::kBadReference);
  CHECK(result.error.code == "MALFORMED_ID");
  CHECK(result.error.message == "malformed id 001RM000003oLrB000");

  std::string mixed =
      R"([{"id":"001A","success":true,"errors":[]},)" + kRolledBack +
      R"(,{"success":false,"errors":[{"statusCode":"DUPLICATE_VALUE","message":"d"}]}])";
  result = adapter->parseResponse(ofRows(Operation::kInsert, 3), answer(200, mixed));
  REQUIRE(result.rows.size() == 3);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[1].outcome == RowOutcome::kNotApplied);
  CHECK(result.rows[2].outcome == RowOutcome::kRefused);
  CHECK(result.error.error_class == ErrorClass::kDuplicate);
}

TEST_CASE("salesforce: deleting records Salesforce no longer has", "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  const std::string gone =
      R"({"id":"ID","success":false,"errors":[{"statusCode":"ENTITY_IS_DELETED","message":"entity is deleted","fields":[]}]})";
  auto goneAs = [&](const std::string& id) {
    std::string text = gone;
    return text.replace(text.find("ID"), 2, id);
  };

  SECTION("every row gone: the goal is reached, with a notice per row") {
    WriteResult result = adapter->parseResponse(
        deleteTwo(), answer(200, "[" + goneAs(kId2) + "," + goneAs("001RM000003oLraYAE") + "]"));
    REQUIRE(result.ok);
    REQUIRE(result.rows.size() == 2);
    for (const RowResult& row : result.rows) {
      CHECK(row.outcome == RowOutcome::kApplied);
      CHECK(row.notice.find("entity is deleted") != std::string::npos);
    }
    CHECK(result.rows[0].id == kId2);
  }
  SECTION("one gone, the other rolled back: partial, retryable") {
    WriteResult result =
        adapter->parseResponse(deleteTwo(), answer(200, golden("delete_entity_deleted.json")));
    REQUIRE_FALSE(result.ok);
    REQUIRE(result.rows.size() == 2);
    CHECK(result.rows[0].outcome == RowOutcome::kApplied);
    CHECK_FALSE(result.rows[0].notice.empty());
    CHECK(result.rows[1].outcome == RowOutcome::kNotApplied);
    CHECK(result.rows[1].id == "001RM000003oLraYAE");  // named, for the error's detail
    CHECK(result.rows[1].error.code == "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    CHECK(result.error.error_class == ErrorClass::kNotFound);
    CHECK(result.error.code == "ENTITY_IS_DELETED");
  }
  SECTION("one gone, another refused for a real reason") {
    std::string body = "[" + goneAs(kId2) +
                       R"(,{"id":"X","success":false,"errors":[{"statusCode":)"
                       R"("INSUFFICIENT_ACCESS_OR_READONLY","message":"no","fields":[]}]}])";
    WriteResult result = adapter->parseResponse(deleteTwo(), answer(200, body));
    REQUIRE_FALSE(result.ok);
    REQUIRE(result.rows.size() == 2);
    CHECK(result.rows[0].outcome == RowOutcome::kApplied);
    CHECK(result.rows[1].outcome == RowOutcome::kRefused);
    CHECK(result.error.error_class == ErrorClass::kForbidden);
  }
}

TEST_CASE("salesforce: request-level errors are classified with message, code and field",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  struct Case {
    int status;
    std::string body;
    ErrorClass expected;
    const char* code;
  };
  const Case cases[] = {
      {401, golden("invalid_session.json"), ErrorClass::kAuth, "INVALID_SESSION_ID"},
      {403, golden("request_limit_exceeded.json"), ErrorClass::kQuotaExhausted,
       "REQUEST_LIMIT_EXCEEDED"},
      {403,
       R"([{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS_OR_READONLY"}])",
       ErrorClass::kForbidden, "INSUFFICIENT_ACCESS_OR_READONLY"},
      {403,
       R"([{"message":"REST API is not enabled for this Organization.","errorCode":"API_DISABLED_FOR_ORG"}])",
       ErrorClass::kForbidden, "API_DISABLED_FOR_ORG"},
      {400, golden("invalid_field.json"), ErrorClass::kUnknownField, "INVALID_FIELD"},
      {404, golden("not_found.json"), ErrorClass::kUnknownObject, "NOT_FOUND"},
      {400, R"([{"message":"sObject type 'Acount' is not supported.","errorCode":"INVALID_TYPE"}])",
       ErrorClass::kUnknownObject, "INVALID_TYPE"},
      {400, golden("exceeded_id_limit.json"), ErrorClass::kUnsupported, "EXCEEDED_ID_LIMIT"},
      {400,
       R"([{"message":"Required fields are missing: [Name]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]}])",
       ErrorClass::kRequiredField, "REQUIRED_FIELD_MISSING"},
      {400, R"([{"message":"Unexpected character","errorCode":"JSON_PARSER_ERROR"}])",
       ErrorClass::kValidation, "JSON_PARSER_ERROR"},
      {409, R"([{"message":"conflict","errorCode":"CONFLICT"}])", ErrorClass::kConflict,
       "CONFLICT"},
      {500, R"([{"message":"An unexpected error occurred","errorCode":"UNKNOWN_EXCEPTION"}])",
       ErrorClass::kUnavailable, "UNKNOWN_EXCEPTION"},
      {503, "<html>Service Unavailable</html>", ErrorClass::kUnavailable, ""},
      {429, "", ErrorClass::kRateLimited, ""},
  };
  for (const Case& c : cases) {
    INFO(c.status << " " << c.body);
    WriteResult result = adapter->parseResponse(insertTwo(), answer(c.status, c.body, "rq-1"));
    REQUIRE_FALSE(result.ok);
    CHECK(result.rows.empty());
    CHECK(result.error.error_class == c.expected);
    CHECK(result.error.code == c.code);
    CHECK(result.error.http_status == c.status);
    CHECK(result.error.request_id == "rq-1");
    CHECK_FALSE(result.error.message.empty());
  }
  WriteResult field =
      adapter->parseResponse(insertTwo(), answer(400, golden("invalid_field.json")));
  CHECK(field.error.field == "Revenue__c");
  CHECK(field.error.message == "No such column 'Revenue__c' on sobject of type Account");
  // Salesforce names an unknown column in the message only.
  WriteResult unnamed = adapter->parseResponse(
      insertTwo(), answer(400, R"([{"message":"No such column 'Foo__c' on sobject of type )"
                               R"(Account","errorCode":"INVALID_FIELD"}])"));
  CHECK(unnamed.error.error_class == ErrorClass::kUnknownField);
  CHECK(unnamed.error.field == "Foo__c");
  WriteResult html = adapter->parseResponse(insertTwo(), answer(503, "<html/>"));
  CHECK(html.error.message == "HTTP 503");
  HttpResponse limited{429, {{"retry-after", "7"}}, ""};
  CHECK(adapter->parseResponse(insertTwo(), limited).error.retry_after_seconds == 7.0);
}

TEST_CASE("salesforce: a 401 asks for one token refresh", "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  CHECK(adapter->tokenRejected(answer(401, golden("invalid_session.json"))));
  CHECK_FALSE(adapter->tokenRejected(answer(403, golden("request_limit_exceeded.json"))));
  CHECK_FALSE(adapter->tokenRejected(answer(200, golden("insert_response.json"))));
}

// ---- retries --------------------------------------------------------------------------------

TEST_CASE("salesforce: UNABLE_TO_LOCK_ROW and 503 are retried, REQUEST_LIMIT_EXCEEDED never",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  HttpRequest sent = build(*adapter, updateTwo());

  RetryAdvice lock = adapter->adviseRetry(sent, answer(200, golden("unable_to_lock_row.json")));
  CHECK(lock.retry);
  CHECK(lock.after_seconds == 1.0);
  CHECK(lock.pause_api_seconds == 0.0);

  // The insert that failed only on a lock was rolled back too: sending it again is safe.
  HttpRequest insert = build(*adapter, insertTwo());
  CHECK(adapter->adviseRetry(insert, answer(200, golden("unable_to_lock_row.json"))).retry);

  // Not when another record has a real failure (it would fail again), nor when something applied.
  std::string lock_and_invalid =
      R"([{"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"l"}]},)"
      R"({"success":false,"errors":[{"statusCode":"STRING_TOO_LONG","message":"s"}]}])";
  CHECK_FALSE(adapter->adviseRetry(sent, answer(200, lock_and_invalid)).retry);
  std::string lock_and_applied =
      R"([{"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"l"}]},)"
      R"({"id":"001RM000003oLrHYAU","success":true,"errors":[]}])";
  CHECK_FALSE(adapter->adviseRetry(sent, answer(200, lock_and_applied)).retry);
  // A request-level lock failure.
  CHECK(
      adapter
          ->adviseRetry(sent, answer(400, R"([{"message":"l","errorCode":"UNABLE_TO_LOCK_ROW"}])"))
          .retry);

  RetryAdvice unavailable = adapter->adviseRetry(sent, answer(503, "down"));
  CHECK(unavailable.retry);
  CHECK(unavailable.after_seconds == 1.0);
  HttpResponse later{503, {{"retry-after", "5"}}, ""};
  CHECK(adapter->adviseRetry(sent, later).after_seconds == 5.0);

  HttpResponse quota{403, {{"retry-after", "5"}}, golden("request_limit_exceeded.json")};
  RetryAdvice never = adapter->adviseRetry(sent, quota);
  CHECK_FALSE(never.retry);
  CHECK(never.pause_api_seconds == 0.0);

  HttpResponse burst{429, {{"retry-after", "2"}}, ""};  // the generic rule still holds
  CHECK(adapter->adviseRetry(sent, burst).retry);
  for (const HttpResponse& response :
       {answer(200, golden("update_response.json")),
        answer(200, golden("all_or_none_failure.json")), answer(500, "[]"),
        answer(401, golden("invalid_session.json")), answer(200, "garbage")}) {
    INFO(response.status << " " << response.body);
    CHECK_FALSE(adapter->adviseRetry(sent, response).retry);
  }
}

// ---- OAuth ----------------------------------------------------------------------------------

TEST_CASE("salesforce: the refresh-token exchange and its answers", "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  OAuthClient client{"https://login.salesforce.com/services/oauth2/token", "3MVG9 key+", "s3cr&t"};
  HttpRequest refresh = adapter->buildTokenRefresh(client, "5Aep861.rt/=");
  CHECK(refresh.method == "POST");
  CHECK(refresh.url == client.token_url);
  CHECK(headerOf(refresh, "Content-Type") == "application/x-www-form-urlencoded");
  CHECK(refresh.body ==
        "grant_type=refresh_token&refresh_token=5Aep861.rt%2F%3D&client_id=3MVG9+key%2B"
        "&client_secret=s3cr%26t");
  CHECK_FALSE(refresh.resend_safe);

  auto granted = adapter->parseTokenRefresh(answer(200, golden("token_response.json")));
  REQUIRE(std::holds_alternative<TokenGrant>(granted));
  const TokenGrant& grant = std::get<TokenGrant>(granted);
  CHECK(grant.access_token == "00DRM000000Ab12!AQ4AQFz5b1e3fq4X");
  CHECK(grant.refresh_token.empty());      // no rotation: the old one stays valid
  CHECK(grant.expires_in_seconds == 0.0);  // Salesforce does not say: refresh on 401

  auto rotated = adapter->parseTokenRefresh(answer(200, golden("token_response_rotated.json")));
  REQUIRE(std::holds_alternative<TokenGrant>(rotated));
  CHECK(std::get<TokenGrant>(rotated).refresh_token == "5Aep861new.rotated.token");

  auto refused = adapter->parseTokenRefresh(answer(400, golden("token_invalid_grant.json")));
  REQUIRE(std::holds_alternative<ApiError>(refused));
  CHECK(std::get<ApiError>(refused).error_class == ErrorClass::kAuth);
  CHECK(std::get<ApiError>(refused).code == "invalid_grant");
  CHECK(std::get<ApiError>(refused).message == "expired access/refresh token");

  auto empty = adapter->parseTokenRefresh(answer(200, R"({"instance_url":"https://x"})"));
  REQUIRE(std::holds_alternative<ApiError>(empty));
  CHECK(std::get<ApiError>(empty).error_class == ErrorClass::kBadResponse);
}

// ---- garbage --------------------------------------------------------------------------------

TEST_CASE("salesforce: a 2xx the adapter cannot read is contract drift, never success",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  const char* bodies[] = {
      "",
      "not json",
      "{}",
      R"({"records":[]})",
      "[]",                                             // too few
      R"([{"id":"001A","success":true,"errors":[]}])",  // too few
      R"([{"id":"001A","success":true},{"id":"001B","success":true},{"id":"001C","success":true}])",
      R"([1,2])",
      R"([{"id":"001A","success":"true"},{"id":"001B","success":true}])",
      R"([{"id":"001A"},{"id":"001B","success":true}])",
      R"([{"id":12,"success":true},{"id":"001B","success":true}])",
      R"([{"id":null,"success":true},{"id":"001B","success":true}])",
      R"([{"success":true},{"id":"001B","success":true}])",
      R"([{"success":false,"errors":[]},{"id":"001B","success":true}])",
      R"([{"success":false},{"id":"001B","success":true}])",
      R"([{"success":false,"errors":"bad"},{"id":"001B","success":true}])",
      R"([{"success":false,"errors":[{"statusCode":7}]},{"id":"001B","success":true}])",
      R"([{"success":false,"errors":[{"statusCode":"X","fields":"Name"}]},{"id":"001B","success":true}])",
      R"([{"id":"001A","success":true,"errors":[]},{"id":"001B","success":true,"errors":[]})",
  };
  for (const char* body : bodies) {
    INFO(body);
    WriteResult result = adapter->parseResponse(insertTwo(), answer(200, body));
    CHECK_FALSE(result.ok);
    CHECK(result.error.error_class == ErrorClass::kBadResponse);
    CHECK(result.rows.empty());
  }
  // An UPDATE answered for other records than the ones sent.
  std::string other = R"([{"id":"001RM000003oLnnYAE","success":true,"errors":[]},)"
                      R"({"id":"001RM000009zzzzYAE","success":true,"errors":[]}])";
  CHECK(adapter->parseResponse(updateTwo(), answer(200, other)).error.error_class ==
        ErrorClass::kBadResponse);
  // Unknown members are ignored; whitespace and nulls as Salesforce writes them are fine.
  WriteResult tolerant = adapter->parseResponse(
      insertTwo(), answer(201, R"( [ {"id":"001A","success":true,"errors":null,"created":true},
                                     {"id":"001B","success":true,"warnings":[]} ] )"));
  REQUIRE(tolerant.ok);
  CHECK(tolerant.rows[1].id == "001B");
}

TEST_CASE("salesforce: deeply nested answers are read without exhausting the stack",
          "[adapters][salesforce]") {
  auto adapter = makeSalesforceAdapter(kBase);
  std::string deep = std::string(50000, '[') + std::string(50000, ']');
  std::string unclosed = std::string(50000, '[');
  for (const std::string& body : {deep, unclosed}) {
    for (int status : {200, 400, 401, 503}) {
      WriteResult result = adapter->parseResponse(insertTwo(), answer(status, body));
      CHECK_FALSE(result.ok);
      CHECK(result.error.error_class == (status == 200   ? ErrorClass::kBadResponse
                                         : status == 400 ? ErrorClass::kValidation
                                         : status == 401 ? ErrorClass::kAuth
                                                         : ErrorClass::kUnavailable));
    }
    CHECK_FALSE(adapter->adviseRetry(HttpRequest{}, answer(200, body)).retry);
    CHECK(std::holds_alternative<ApiError>(adapter->parseTokenRefresh(answer(200, body))));
  }
  // Nested values inside an otherwise good answer: ignored members, or the wrong type.
  std::string nested_member =
      R"([{"id":"001A","success":true,"x":)" + deep + R"(},{"id":"001B","success":true}])";
  CHECK(adapter->parseResponse(insertTwo(), answer(200, nested_member)).ok);
  std::string nested_errors =
      R"([{"success":false,"errors":)" + deep + R"(},{"id":"001B","success":true}])";
  CHECK(adapter->parseResponse(insertTwo(), answer(200, nested_errors)).error.error_class ==
        ErrorClass::kBadResponse);
  std::string nested_fields =
      R"([{"success":false,"errors":[{"statusCode":"X","message":"m","fields":)" + deep +
      R"(}]},{"id":"001B","success":true}])";
  CHECK(adapter->parseResponse(insertTwo(), answer(200, nested_fields)).error.error_class ==
        ErrorClass::kBadResponse);
}
