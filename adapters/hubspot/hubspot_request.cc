// HubSpot requests: one statement becomes one CRM v3 call. INSERT of one row: POST
// /crm/v3/objects/{t} {"properties":{...}}; more rows (max_insert raised): batch/create with an
// objectWriteTraceId per input. UPDATE: batch/update {"inputs":[{"id","properties"}]}. DELETE:
// batch/archive {"inputs":[{"id"}]}. HubSpot property values are strings: a JSON string goes
// as written, a number or boolean as its text in a string, SQL NULL as "" (HubSpot clears the
// property), a jsonb object or array as its JSON text in a string.
#include <rapidjson/document.h>

#include <set>

#include "adapters/hubspot/hubspot_codec.h"

namespace apibouncer::adapters::hubspot {
namespace {

ApiError refusal(ErrorClass error_class, std::string message, std::string field = {}) {
  ApiError error;
  error.error_class = error_class;
  error.message = std::move(message);
  error.field = std::move(field);
  return error;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
  return text;
}

// An objectType is a name (contacts, p123_cars) or an id (2-123456): nothing to escape.
bool validObjectType(std::string_view object) {
  if (object.empty()) return false;
  for (char c : object) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// {"name":"value",...}, or the field whose value is not JSON text.
std::variant<std::string, ApiError> propertiesObject(const Fields& fields) {
  std::string out = "{";
  for (const auto& [name, value] : fields) {
    std::optional<std::string> text = propertyValue(value);
    if (!text)
      return refusal(ErrorClass::kInvalidValue, "the value of " + name + " is not JSON", name);
    if (out.size() > 1) out += ',';
    out += jsonQuote(name) + ":" + *text;
  }
  return out + "}";
}

std::optional<ApiError> checkIds(const WriteRequest& request) {
  std::set<std::string_view> seen;
  for (const Row& row : request.rows) {
    if (row.id.empty())
      return refusal(ErrorClass::kValidation, "a row to change has no HubSpot id", "id");
    if (!seen.insert(row.id).second)
      return refusal(ErrorClass::kValidation, "HubSpot id " + row.id + " appears twice", "id");
  }
  return std::nullopt;
}

std::variant<std::string, ApiError> singleCreateBody(const WriteRequest& request) {
  auto properties = propertiesObject(request.rows.front().fields);
  if (auto* error = std::get_if<ApiError>(&properties)) return *error;
  return "{\"properties\":" + std::get<std::string>(properties) + "}";
}

// {"inputs":[...]}: each input is {"id"} (archive), {"id","properties"} (update) or
// {"properties","objectWriteTraceId"} (create).
std::variant<std::string, ApiError> inputsBody(const WriteRequest& request) {
  std::string body = "{\"inputs\":[";
  for (size_t i = 0; i < request.rows.size(); ++i) {
    const Row& row = request.rows[i];
    body += i ? ",{" : "{";
    if (request.operation != Operation::kInsert) body += "\"id\":" + jsonQuote(row.id);
    if (request.operation != Operation::kDelete) {
      auto properties = propertiesObject(row.fields);
      if (auto* error = std::get_if<ApiError>(&properties)) return *error;
      if (request.operation == Operation::kUpdate) body += ',';
      body += "\"properties\":" + std::get<std::string>(properties);
    }
    if (request.operation == Operation::kInsert)
      body += ",\"objectWriteTraceId\":" + jsonQuote(writeTraceId(request, i));
    body += "}";
  }
  return body + "]}";
}

}  // namespace

bool usesBatchCreate(const WriteRequest& request) {
  return request.operation == Operation::kInsert && request.rows.size() != 1;
}

std::string writeTraceId(const WriteRequest& request, size_t index) {
  std::string key = request.idempotency_key.empty() ? "row" : request.idempotency_key;
  return key + "-" + std::to_string(index);
}

std::optional<std::string> propertyValue(std::string_view json) {
  json = trim(json);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError()) return std::nullopt;
  switch (doc.GetType()) {
    case rapidjson::kStringType:
      return std::string(json);
    case rapidjson::kNumberType:
      return "\"" + std::string(json) + "\"";
    case rapidjson::kTrueType:
      return "\"true\"";
    case rapidjson::kFalseType:
      return "\"false\"";
    case rapidjson::kNullType:
      return "\"\"";
    default:  // a jsonb object or array: its JSON text, as a string
      return jsonQuote(json);
  }
}

std::variant<HttpRequest, ApiError> buildWriteRequest(std::string_view base_url,
                                                      const WriteRequest& request) {
  if (!validObjectType(request.object))
    return refusal(
        ErrorClass::kUnknownObject,
        "\"" + request.object + "\" is not a HubSpot objectType (contacts, 2-1234, ...)");
  if (request.rows.empty()) return refusal(ErrorClass::kValidation, "no rows to send");
  if (request.rows.size() > kMaxBatchInputs)
    return refusal(ErrorClass::kUnsupported, "HubSpot batches take at most 100 inputs, not " +
                                                 std::to_string(request.rows.size()));
  if (request.operation != Operation::kInsert)
    if (auto error = checkIds(request)) return *error;

  HttpRequest http;
  http.method = "POST";
  http.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  std::string path = "/crm/v3/objects/" + request.object;
  http.path_template = "POST /crm/v3/objects/{objectType}";
  std::variant<std::string, ApiError> body;
  if (request.operation == Operation::kInsert && !usesBatchCreate(request)) {
    body = singleCreateBody(request);
  } else {
    const char* verb = request.operation == Operation::kInsert   ? "/batch/create"
                       : request.operation == Operation::kUpdate ? "/batch/update"
                                                                 : "/batch/archive";
    path += verb;
    http.path_template += verb;
    body = inputsBody(request);
  }
  if (auto* error = std::get_if<ApiError>(&body)) return *error;
  http.body = std::move(std::get<std::string>(body));
  http.url = std::string(base_url) + path;
  // Update and archive set absolute values: sent twice, the result is the same. A create sent
  // twice creates two records (HubSpot has no idempotency key).
  http.resend_safe = request.operation != Operation::kInsert;
  return http;
}

}  // namespace apibouncer::adapters::hubspot
