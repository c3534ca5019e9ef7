// The Airtable codec: the request each operation becomes (golden bodies under
// golden/airtable/), answers read back by position with their ids checked, every error shape
// of adapters-spec §1 classified, the 30 s rate-limit lock, OAuth refresh, and garbage.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "adapters/adapter.h"

using namespace apibouncer::adapters;

namespace {

constexpr const char* kBase = "https://api.airtable.com/v0/appAbCdEfGhIjKlMn";
constexpr const char* kRecA = "recA1b2C3d4E5f6G7";
constexpr const char* kRecZ = "recZ9y8X7w6V5u4T3";

// A golden file's contents, without the one newline that ends the file.
std::string golden(const std::string& name) {
  std::ifstream in(std::string(APIBOUNCER_TEST_DATA_DIR) + "/golden/airtable/" + name,
                   std::ios::binary);
  INFO("golden file " << name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  std::string contents = text.str();
  if (!contents.empty() && contents.back() == '\n') contents.pop_back();
  return contents;
}

std::string headerOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers)
    if (key == name) return value;
  return "<absent>";
}

HttpRequest build(const Adapter& adapter, const WriteRequest& request) {
  auto built = adapter.buildRequest(request);
  REQUIRE(std::holds_alternative<HttpRequest>(built));
  return std::get<HttpRequest>(built);
}

ApiError refusalOf(const Adapter& adapter, const WriteRequest& request) {
  auto built = adapter.buildRequest(request);
  REQUIRE(std::holds_alternative<ApiError>(built));
  return std::get<ApiError>(built);
}

WriteRequest insertTwo() {
  return WriteRequest{Operation::kInsert,
                      "tblTasks",
                      {Row{"",
                           {{"Name", R"("Ada \"A\"")"},
                            {"Count", "42"},
                            {"Price", "1.50"},
                            {"Done", "true"},
                            {"Tags", R"(["a","b"])"},
                            {"Notes", "null"}}},
                       Row{"", {{"Name", R"("Bob")"}}}},
                      "stmt-1"};
}

WriteRequest updateTwo() {
  return WriteRequest{
      Operation::kUpdate,
      "tblTasks",
      {Row{kRecA, {{"Status", R"("Done")"}, {"Done", "false"}}}, Row{kRecZ, {{"Name", R"("")"}}}},
      "stmt-2"};
}

WriteRequest deleteTwo() {
  return WriteRequest{Operation::kDelete, "tblTasks", {Row{kRecA, {}}, Row{kRecZ, {}}}, "stmt-3"};
}

WriteRequest rowsOf(Operation operation, size_t count) {
  WriteRequest request{operation, "tblTasks", {}, "k"};
  for (size_t i = 0; i < count; ++i)
    request.rows.push_back(
        Row{operation == Operation::kInsert ? "" : "rec" + std::to_string(10000000000000 + i),
            {{"Name", "\"n\""}}});
  return request;
}

HttpResponse answer(int status, const std::string& body,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  return HttpResponse{status, std::move(headers), body};
}

}  // namespace

// ---- requests -------------------------------------------------------------------------------

TEST_CASE("airtable: INSERT is one POST of the records' fields, typecast off",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  CHECK(adapter->platform() == "airtable");
  CHECK_FALSE(adapter->oneRequestPerRow());
  HttpRequest http = build(*adapter, insertTwo());
  CHECK(http.method == "POST");
  CHECK(http.url == std::string(kBase) + "/tblTasks");
  CHECK(http.body == golden("insert_request.json"));
  CHECK(headerOf(http, "Content-Type") == "application/json");
  CHECK(headerOf(http, "Accept") == "application/json");
  CHECK(headerOf(http, "Authorization") == "<absent>");  // the ApiClient adds it
  CHECK(http.path_template == "POST /v0/{base}/{table}");
  CHECK_FALSE(http.resend_safe);  // a second POST would create the records twice
}

TEST_CASE("airtable: UPDATE is one PATCH with each record's id and only the fields set",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  HttpRequest http = build(*adapter, updateTwo());
  CHECK(http.method == "PATCH");
  CHECK(http.url == std::string(kBase) + "/tblTasks");
  CHECK(http.body == golden("update_request.json"));
  CHECK(headerOf(http, "Content-Type") == "application/json");
  CHECK(headerOf(http, "Authorization") == "<absent>");
  CHECK(http.path_template == "PATCH /v0/{base}/{table}");
  CHECK(http.resend_safe);
}

TEST_CASE("airtable: DELETE lists the ids as records[] query parameters, no body",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  HttpRequest http = build(*adapter, deleteTwo());
  CHECK(http.method == "DELETE");
  CHECK(http.url ==
        std::string(kBase) + "/tblTasks?records%5B%5D=" + kRecA + "&records%5B%5D=" + kRecZ);
  CHECK(http.body.empty());
  CHECK(headerOf(http, "Content-Type") == "<absent>");
  CHECK(headerOf(http, "Authorization") == "<absent>");
  CHECK(http.path_template == "DELETE /v0/{base}/{table}");
  CHECK(http.resend_safe);
  // An id is escaped like any query value (ids from a table are not trusted to be clean).
  WriteRequest odd{Operation::kDelete, "tblTasks", {Row{"rec a&b=c", {}}}, "k"};
  CHECK(build(*adapter, odd).url == std::string(kBase) + "/tblTasks?records%5B%5D=rec+a%26b%3Dc");
}

TEST_CASE("airtable: a table name is escaped into the path as Airtable's client does",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(std::string(kBase) + "/");  // a trailing slash is dropped
  WriteRequest request = insertTwo();
  request.object = "Tasks & Notes/2024 (old)";
  CHECK(build(*adapter, request).url == std::string(kBase) + "/Tasks%20%26%20Notes%2F2024%20(old)");
}

TEST_CASE("airtable: fields sent by id are asked back by id; ids mixed with names are refused",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  WriteRequest by_id{Operation::kInsert,
                     "tblTasks",
                     {Row{"", {{"fldAbCdEfGhIjKlMn", R"("Ada")"}, {"fldNoPqRsTuVwXyZ1", "7"}}}},
                     "k"};
  CHECK(build(*adapter, by_id).body == golden("insert_by_field_id_request.json"));

  // "fld" names that are not ids (wrong length) are names.
  WriteRequest named{Operation::kInsert, "tblTasks", {Row{"", {{"fldName", "1"}}}}, "k"};
  CHECK(build(*adapter, named).body.find("returnFieldsByFieldId") == std::string::npos);

  WriteRequest mixed = by_id;
  mixed.rows.push_back(Row{"", {{"Name", R"("Bob")"}}});
  ApiError refused = refusalOf(*adapter, mixed);
  CHECK(refused.error_class == ErrorClass::kUnsupported);
  CHECK(refused.http_status == 0);
}

TEST_CASE("airtable: what Airtable cannot take is refused before anything is sent",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  CHECK(std::holds_alternative<HttpRequest>(adapter->buildRequest(rowsOf(Operation::kInsert, 10))));
  CHECK(std::holds_alternative<HttpRequest>(adapter->buildRequest(rowsOf(Operation::kDelete, 10))));
  for (Operation operation : {Operation::kInsert, Operation::kUpdate, Operation::kDelete}) {
    ApiError too_many = refusalOf(*adapter, rowsOf(operation, 11));
    CHECK(too_many.error_class == ErrorClass::kValidation);
    CHECK(too_many.message.find("at most 10") != std::string::npos);
    CHECK(refusalOf(*adapter, rowsOf(operation, 0)).error_class == ErrorClass::kValidation);
  }
  WriteRequest no_id = updateTwo();
  no_id.rows[1].id.clear();
  ApiError refused = refusalOf(*adapter, no_id);
  CHECK(refused.error_class == ErrorClass::kValidation);
  CHECK(refused.field == "id");
  WriteRequest delete_no_id = deleteTwo();
  delete_no_id.rows[0].id.clear();
  CHECK(refusalOf(*adapter, delete_no_id).field == "id");
  WriteRequest no_table = insertTwo();
  no_table.object.clear();
  CHECK(refusalOf(*adapter, no_table).error_class == ErrorClass::kUnknownObject);
}

// ---- answers --------------------------------------------------------------------------------

TEST_CASE("airtable: created records come back by position with ids and fields as written",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  WriteResult result = adapter->parseResponse(
      insertTwo(), answer(200, golden("create_response.json"), {{"x-request-id", "req_1"}}));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[0].id == kRecA);
  // Numbers a double cannot hold, 1.50 and nested values arrive as Airtable wrote them; fields
  // not sent (a computed Autonumber) come too; Notes, sent as null and left out, is null.
  CHECK(result.rows[0].fields == Fields{{"Name", R"("Ada \"A\"")"},
                                        {"Count", "42"},
                                        {"Price", "1.50"},
                                        {"Done", "true"},
                                        {"Tags", R"(["a", "b"])"},
                                        {"Autonumber", "12345678901234567890"},
                                        {"Notes", "null"}});
  CHECK(result.rows[1].id == kRecZ);
  CHECK(result.rows[1].fields ==
        Fields{{"Name", R"("Bob")"}, {"Autonumber", "12345678901234567891"}});
}

TEST_CASE("airtable: a field set to \"\" or false that the answer leaves out comes back null",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  WriteResult result =
      adapter->parseResponse(updateTwo(), answer(200, golden("update_response.json")));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].id == kRecA);
  CHECK(result.rows[0].fields ==
        Fields{{"Name", R"("Ada")"}, {"Status", R"("Done")"}, {"Done", "null"}});
  CHECK(result.rows[1].id == kRecZ);
  CHECK(result.rows[1].fields == Fields{{"Status", R"("Todo")"}, {"Name", "null"}});
}

TEST_CASE("airtable: deleted records come back by position", "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  WriteResult result =
      adapter->parseResponse(deleteTwo(), answer(200, golden("delete_response.json")));
  REQUIRE(result.ok);
  REQUIRE(result.rows.size() == 2);
  CHECK(result.rows[0].id == kRecA);
  CHECK(result.rows[1].id == kRecZ);
  CHECK(result.rows[0].outcome == RowOutcome::kApplied);
  CHECK(result.rows[0].notice.empty());
}

TEST_CASE("airtable: an answer whose ids are not the ones sent, in order, is contract drift",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  std::string swapped_update = std::string(R"({"records":[{"id":")") + kRecZ +
                               R"(","fields":{}},{"id":")" + kRecA + R"(","fields":{}}]})";
  std::string swapped_delete = std::string(R"({"records":[{"id":")") + kRecZ +
                               R"(","deleted":true},{"id":")" + kRecA + R"(","deleted":true}]})";
  std::string not_deleted = std::string(R"({"records":[{"id":")") + kRecA +
                            R"(","deleted":false},{"id":")" + kRecZ + R"(","deleted":true}]})";
  for (auto [request, body] :
       {std::pair{updateTwo(), swapped_update}, std::pair{deleteTwo(), swapped_delete},
        std::pair{deleteTwo(), not_deleted}}) {
    INFO(body);
    WriteResult result =
        adapter->parseResponse(request, answer(200, body, {{"x-request-id", "r9"}}));
    CHECK_FALSE(result.ok);
    CHECK(result.rows.empty());
    CHECK(result.error.error_class == ErrorClass::kBadResponse);
    CHECK(result.error.request_id == "r9");
  }
}

TEST_CASE("airtable: garbage, wrong shapes and wrong counts are kBadResponse, never success",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  const std::string a = std::string(R"({"id":")") + kRecA + R"(","fields":{}})";
  for (std::string body :
       {std::string(), std::string("not json"), std::string("[]"), std::string("null"),
        std::string(R"({"records":"nope"})"), std::string(R"({"records":{}})"),
        std::string(R"({"records":[]})"), R"({"records":[)" + a + "]}",
        R"({"records":[)" + a + "," + a + "," + a + "]}",
        std::string(R"({"records":[{"fields":{}},{"id":"recB","fields":{}}]})"),
        std::string(R"({"records":[{"id":"","fields":{}},{"id":"recB","fields":{}}]})"),
        std::string(R"({"records":[{"id":7,"fields":{}},{"id":"recB","fields":{}}]})"),
        std::string(R"({"records":[{"id":"recA","fields":[]},{"id":"recB","fields":{}}]})"),
        std::string(R"({"records":[1,2]})"), std::string(R"({"records":[)") + a + "," + a,
        std::string(R"({"error":{"type":"X"}})")}) {
    INFO(body);
    WriteResult result = adapter->parseResponse(insertTwo(), answer(200, body));
    CHECK_FALSE(result.ok);
    CHECK(result.rows.empty());
    CHECK(result.error.error_class == ErrorClass::kBadResponse);
    CHECK(result.error.http_status == 200);
  }
}

TEST_CASE("airtable: a 50,000-level nested answer is read without exhausting the stack",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  std::string deep = std::string(50000, '[') + std::string(50000, ']');
  std::string nested = std::string(R"({"records":[{"id":"recA","fields":{"Tags":)") + deep +
                       R"(}},{"id":"recB","fields":{}}]})";
  WriteResult result = adapter->parseResponse(insertTwo(), answer(200, nested));
  REQUIRE(result.ok);
  CHECK(result.rows[0].fields.front().second.size() == deep.size());
  for (const std::string& garbage :
       {deep, std::string(50000, '['), std::string(50000, '{'), R"({"error":)" + deep + "}",
        R"({"errors":)" + deep + "}", R"({"records":)" + deep + "}"}) {
    CHECK_FALSE(adapter->parseResponse(insertTwo(), answer(200, garbage)).ok);
    WriteResult error = adapter->parseResponse(insertTwo(), answer(422, garbage));
    CHECK_FALSE(error.ok);
    CHECK(error.error.error_class == ErrorClass::kValidation);
  }
}

// ---- errors ---------------------------------------------------------------------------------

TEST_CASE("airtable: every error shape maps to its class with Airtable's type and message",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  struct Case {
    int status;
    const char* file;
    ErrorClass expected;
    const char* code;
  };
  for (const Case& c : {
           Case{422, "error_invalid_value_for_column.json", ErrorClass::kInvalidValue,
                "INVALID_VALUE_FOR_COLUMN"},
           Case{422, "error_unknown_field_name.json", ErrorClass::kUnknownField,
                "UNKNOWN_FIELD_NAME"},
           Case{422, "error_invalid_request_unknown.json", ErrorClass::kValidation,
                "INVALID_REQUEST_UNKNOWN"},
           Case{422, "error_invalid_records.json", ErrorClass::kValidation, "INVALID_RECORDS"},
           Case{401, "error_authentication_required.json", ErrorClass::kAuth,
                "AUTHENTICATION_REQUIRED"},
           Case{403, "error_invalid_permissions.json", ErrorClass::kForbidden,
                "INVALID_PERMISSIONS"},
           Case{403, "error_model_not_found.json", ErrorClass::kUnknownObject,
                "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"},
           Case{404, "error_not_found.json", ErrorClass::kNotFound, "NOT_FOUND"},
           Case{404, "error_not_found_object.json", ErrorClass::kNotFound, "NOT_FOUND"},
           Case{413, "error_request_too_large.json", ErrorClass::kValidation, "REQUEST_TOO_LARGE"},
           Case{429, "error_rate_limited.json", ErrorClass::kRateLimited, "RATE_LIMIT_REACHED"},
           Case{429, "error_too_many_requests.json", ErrorClass::kRateLimited, "TOO_MANY_REQUESTS"},
           Case{500, "error_server_error.json", ErrorClass::kUnavailable, "SERVER_ERROR"},
       }) {
    INFO(c.file);
    WriteResult result = adapter->parseResponse(
        insertTwo(), answer(c.status, golden(c.file), {{"x-request-id", "req_7"}}));
    CHECK_FALSE(result.ok);
    CHECK(result.rows.empty());  // all or nothing: no per-row outcomes
    CHECK(result.error.error_class == c.expected);
    CHECK(result.error.code == c.code);
    CHECK(result.error.http_status == c.status);
    CHECK(result.error.request_id == "req_7");
    CHECK_FALSE(result.error.message.empty());
  }
}

TEST_CASE("airtable: the message is Airtable's own, and names the field when it was sent",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  WriteRequest request = insertTwo();
  request.rows[1].fields.emplace_back("Status", R"("Nope")");
  WriteResult invalid =
      adapter->parseResponse(request, answer(422, golden("error_invalid_value_for_column.json")));
  CHECK(invalid.error.message == "Field \"Status\" cannot accept the provided value");
  CHECK(invalid.error.field == "Status");

  request.rows[0].fields.emplace_back("Nmae", R"("x")");
  WriteResult unknown =
      adapter->parseResponse(request, answer(422, golden("error_unknown_field_name.json")));
  CHECK(unknown.error.message == "Unknown field name: \"Nmae\"");
  CHECK(unknown.error.field == "Nmae");

  // A quoted word that is not a field sent is not taken for one.
  WriteResult other = adapter->parseResponse(
      insertTwo(), answer(422, golden("error_invalid_value_for_column.json")));
  CHECK(other.error.error_class == ErrorClass::kInvalidValue);
  CHECK(other.error.field.empty());

  // The earliest field the message quotes wins, whichever row sent it.
  WriteResult two = adapter->parseResponse(
      insertTwo(), answer(422, R"({"error":{"type":"INVALID_VALUE_FOR_COLUMN","message":)"
                               R"("Cannot parse \"Price\" for \"Count\""}})"));
  CHECK(two.error.field == "Price");
}

TEST_CASE("airtable: a table Airtable may not have says it may be a permission problem",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  WriteResult result =
      adapter->parseResponse(updateTwo(), answer(403, golden("error_model_not_found.json")));
  CHECK(result.error.error_class == ErrorClass::kUnknownObject);
  CHECK(result.error.message.find("Invalid permissions, or the requested model was not found") ==
        0);
  CHECK(result.error.message.find("permission problem") != std::string::npos);
  // TABLE_NOT_FOUND, whatever its status.
  WriteResult table = adapter->parseResponse(
      insertTwo(), answer(404, R"({"error":{"type":"TABLE_NOT_FOUND","message":"Could not find )"
                               R"(table tblNope in application appX"}})"));
  CHECK(table.error.error_class == ErrorClass::kUnknownObject);
}

TEST_CASE("airtable: a DELETE of a record Airtable does not have fails the whole request",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  WriteResult result =
      adapter->parseResponse(deleteTwo(), answer(404, golden("error_not_found.json")));
  CHECK_FALSE(result.ok);
  CHECK(result.rows.empty());  // nothing was deleted, not even the records it has
  CHECK(result.error.error_class == ErrorClass::kNotFound);
  CHECK(result.error.message == "Airtable answered HTTP 404 NOT_FOUND");
}

TEST_CASE("airtable: a 429 carries Airtable's 30 s lock; bodies that are not JSON keep the status",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  WriteResult limited =
      adapter->parseResponse(insertTwo(), answer(429, golden("error_rate_limited.json")));
  CHECK(limited.error.retry_after_seconds == 30.0);
  CHECK(limited.error.message == "Rate limit exceeded. Please try again later");
  WriteResult longer =
      adapter->parseResponse(insertTwo(), answer(429, "", {{"retry-after", "45"}}));
  CHECK(longer.error.retry_after_seconds == 45.0);
  CHECK(longer.error.message == "Airtable answered HTTP 429");

  struct Case {
    int status;
    ErrorClass expected;
  };
  for (const Case& c : {Case{502, ErrorClass::kUnavailable}, Case{503, ErrorClass::kUnavailable},
                        Case{401, ErrorClass::kAuth}, Case{403, ErrorClass::kForbidden},
                        Case{404, ErrorClass::kNotFound}, Case{400, ErrorClass::kValidation},
                        Case{413, ErrorClass::kValidation}, Case{422, ErrorClass::kValidation},
                        Case{302, ErrorClass::kBadResponse}, Case{0, ErrorClass::kBadResponse}}) {
    INFO(c.status);
    WriteResult result =
        adapter->parseResponse(insertTwo(), answer(c.status, "<html>Bad gateway</html>"));
    CHECK(result.error.error_class == c.expected);
    CHECK(result.error.code.empty());
    CHECK(result.error.message == "Airtable answered HTTP " + std::to_string(c.status));
  }
}

// ---- retries --------------------------------------------------------------------------------

TEST_CASE("airtable: a 429 is retried after 30 s and pauses every request to the API",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  for (const WriteRequest& request : {insertTwo(), updateTwo(), deleteTwo()}) {
    HttpRequest http = build(*adapter, request);
    RetryAdvice advice = adapter->adviseRetry(http, answer(429, golden("error_rate_limited.json")));
    CHECK(advice.retry);
    CHECK(advice.after_seconds == 30.0);
    CHECK(advice.pause_api_seconds == 30.0);
  }
  HttpRequest post = build(*adapter, insertTwo());
  RetryAdvice longer = adapter->adviseRetry(post, answer(429, "", {{"retry-after", "40"}}));
  CHECK(longer.after_seconds == 40.0);
  CHECK(longer.pause_api_seconds == 40.0);
}

TEST_CASE("airtable: a 5xx is retried after 1 s for PATCH and DELETE, never for POST",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  HttpRequest post = build(*adapter, insertTwo());
  HttpRequest patch = build(*adapter, updateTwo());
  HttpRequest del = build(*adapter, deleteTwo());
  for (int status : {500, 502, 503, 504}) {
    INFO(status);
    CHECK_FALSE(adapter->adviseRetry(post, answer(status, "", {{"retry-after", "2"}})).retry);
    for (const HttpRequest& idempotent : {patch, del}) {
      RetryAdvice advice = adapter->adviseRetry(idempotent, answer(status, ""));
      CHECK(advice.retry);
      CHECK(advice.after_seconds == 1.0);
      CHECK(advice.pause_api_seconds == 0.0);
    }
  }
  CHECK(adapter->adviseRetry(patch, answer(503, "", {{"retry-after", "5"}})).after_seconds == 5.0);
  for (int status : {200, 401, 403, 404, 413, 422}) {
    INFO(status);
    CHECK_FALSE(adapter->adviseRetry(patch, answer(status, "{}")).retry);
    CHECK_FALSE(adapter->adviseRetry(post, answer(status, "{}")).retry);
  }
  CHECK(adapter->tokenRejected(answer(401, golden("error_authentication_required.json"))));
  CHECK_FALSE(adapter->tokenRejected(answer(403, golden("error_invalid_permissions.json"))));
}

// ---- OAuth ----------------------------------------------------------------------------------

TEST_CASE("airtable: the token refresh authenticates a client with a secret by HTTP Basic",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  OAuthClient client{"https://airtable.com/oauth2/v1/token", "cid", "cs"};
  HttpRequest http = adapter->buildTokenRefresh(client, "oaaXy/z+1.v2=abc");
  CHECK(http.method == "POST");
  CHECK(http.url == "https://airtable.com/oauth2/v1/token");
  CHECK(http.body == golden("token_refresh_request.txt"));     // no client_id, no secret
  CHECK(headerOf(http, "Authorization") == "Basic Y2lkOmNz");  // base64("cid:cs")
  CHECK(headerOf(http, "Content-Type") == "application/x-www-form-urlencoded");
  CHECK(http.path_template == "POST /oauth2/v1/token");
  CHECK_FALSE(http.resend_safe);  // the refresh token rotates: a second use would be refused

  // Every padding length of base64.
  for (auto [id, secret, basic] :
       {std::tuple{"a", "b", "Basic YTpi"}, std::tuple{"ab", "b", "Basic YWI6Yg=="},
        std::tuple{"abc", "b", "Basic YWJjOmI="},
        std::tuple{"0d1f2e3c-4b5a", "s3cr3t/+?", "Basic MGQxZjJlM2MtNGI1YTpzM2NyM3QvKz8="}}) {
    OAuthClient other{"https://airtable.com/oauth2/v1/token", id, secret};
    CHECK(headerOf(adapter->buildTokenRefresh(other, "r"), "Authorization") == basic);
  }
}

TEST_CASE("airtable: the token refresh of a public client (no secret) sends client_id in the body",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  OAuthClient client{"https://airtable.com/oauth2/v1/token", "0d1f2e3c-4b5a-6978-8a9b-acbdcedf0f1e",
                     ""};
  HttpRequest http = adapter->buildTokenRefresh(client, "oaaXy/z+1.v2=abc");
  CHECK(http.body == golden("token_refresh_request_public.txt"));
  CHECK(headerOf(http, "Authorization") == "<absent>");
}

TEST_CASE("airtable: the token answer gives the rotated refresh token; a dead one is kAuth",
          "[adapters][airtable]") {
  auto adapter = makeAirtableAdapter(kBase);
  auto granted = adapter->parseTokenRefresh(answer(200, golden("token_response.json")));
  REQUIRE(std::holds_alternative<TokenGrant>(granted));
  const TokenGrant& grant = std::get<TokenGrant>(granted);
  CHECK(grant.access_token == "oaaAT.v1.eyJ1c2VySWQiOiJ1c3IxIn0.abc");
  CHECK(grant.refresh_token == "oaaRT.v1.rotated.def");
  CHECK(grant.expires_in_seconds == 3600.0);

  auto dead = adapter->parseTokenRefresh(answer(400, golden("token_invalid_grant.json")));
  REQUIRE(std::holds_alternative<ApiError>(dead));
  CHECK(std::get<ApiError>(dead).error_class == ErrorClass::kAuth);
  CHECK(std::get<ApiError>(dead).code == "invalid_grant");
  CHECK(std::get<ApiError>(dead).message == "The refresh token is invalid or has expired");

  auto limited = adapter->parseTokenRefresh(answer(429, golden("error_rate_limited.json")));
  REQUIRE(std::holds_alternative<ApiError>(limited));
  CHECK(std::get<ApiError>(limited).error_class == ErrorClass::kRateLimited);
  CHECK(std::get<ApiError>(limited).retry_after_seconds == 30.0);

  auto down = adapter->parseTokenRefresh(answer(503, "<html></html>"));
  REQUIRE(std::holds_alternative<ApiError>(down));
  CHECK(std::get<ApiError>(down).error_class == ErrorClass::kUnavailable);

  for (const char* garbage : {"", "[[[", R"({"access_token":7})", R"({"token_type":"Bearer"})"}) {
    INFO(garbage);
    auto bad = adapter->parseTokenRefresh(answer(200, garbage));
    REQUIRE(std::holds_alternative<ApiError>(bad));
    CHECK(std::get<ApiError>(bad).error_class == ErrorClass::kBadResponse);
  }
}
