// HubSpot's error bodies, read defensively (every field is optional):
// {"status":"error","message","correlationId","category","errors":[{"message","code","in",
// "context":{"propertyName":[...]}}]}, older property errors embedded in the message
// ("Property values were not valid: [{...,"error":"INVALID_EMAIL","name":"email"}]"), 429s with
// "policyName", and the entries of a 207's errors[] ("category", "message", "context.ids").
// Each becomes an ApiError whose class refines HubSpot's category by its codes (spec §7).
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iterator>

#include "adapters/hubspot/hubspot_codec.h"

namespace apibouncer::adapters::hubspot {
namespace {

// One detail of an error: errors[i], or one element of the message's embedded list.
struct Detail {
  std::string code;
  std::string field;
  std::string message;
};

bool containsText(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

bool containsNoCase(std::string_view text, std::string_view part) {
  auto it = std::search(text.begin(), text.end(), part.begin(), part.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

// The strings of a JSON string or array of strings (numbers count as their text).
std::vector<std::string> stringList(const std::string_view* json) {
  std::vector<std::string> out;
  if (json == nullptr) return out;
  if (auto one = idText(*json)) {
    out.push_back(*one);
  } else if (auto items = jsonArrayElements(*json)) {
    for (std::string_view item : *items)
      if (auto text = idText(item)) out.push_back(*text);
  }
  return out;
}

std::optional<JsonMembers> contextOf(const JsonMembers& entry) {
  const std::string_view* context = findMember(entry, "context");
  return context ? jsonObjectMembers(*context) : std::nullopt;
}

// The property an errors[] entry blames: context.propertyName, else "in" unless it names a
// part of the request.
std::string blamedField(const JsonMembers& entry) {
  if (auto context = contextOf(entry)) {
    std::vector<std::string> names = stringList(findMember(*context, "propertyName"));
    if (!names.empty()) return names.front();
  }
  std::string in = stringMember(entry, "in");
  if (in == "body" || in == "query" || in == "path" || in == "header") return {};
  return in;
}

// "Property values were not valid: [{"isValid":false,"message","error","name"}]"
std::vector<Detail> embeddedDetails(std::string_view message) {
  std::vector<Detail> details;
  size_t open = message.find('[');
  if (open == std::string_view::npos) return details;
  auto items = jsonArrayElements(message.substr(open));
  if (!items) return details;
  for (std::string_view item : *items) {
    auto entry = jsonObjectMembers(item);
    if (!entry) continue;
    details.push_back({stringMember(*entry, "error"), stringMember(*entry, "name"),
                       stringMember(*entry, "message")});
  }
  return details;
}

std::vector<Detail> detailsOf(const JsonMembers& body) {
  std::vector<Detail> details;
  const std::string_view* errors = findMember(body, "errors");
  auto items = errors ? jsonArrayElements(*errors) : std::nullopt;
  for (std::string_view item : items.value_or(std::vector<std::string_view>())) {
    auto entry = jsonObjectMembers(item);
    if (!entry) continue;
    details.push_back(
        {stringMember(*entry, "code"), blamedField(*entry), stringMember(*entry, "message")});
  }
  if (details.empty()) details = embeddedDetails(stringMember(body, "message"));
  return details;
}

// A validation code precise enough for a sharper SQLSTATE than 23514.
std::optional<ErrorClass> refinedClass(std::string_view code) {
  static constexpr std::string_view kBadFormat[] = {
      "INVALID_EMAIL",   "INVALID_OPTION", "INVALID_DATE",   "INVALID_DATETIME",
      "INVALID_INTEGER", "INVALID_LONG",   "INVALID_DOUBLE", "INVALID_BOOLEAN"};
  if (code == "PROPERTY_DOESNT_EXIST") return ErrorClass::kUnknownField;
  if (std::find(std::begin(kBadFormat), std::end(kBadFormat), code) != std::end(kBadFormat))
    return ErrorClass::kInvalidValue;
  if (containsText(code, "REQUIRED")) return ErrorClass::kRequiredField;
  if (containsText(code, "TOO_LONG")) return ErrorClass::kTooLong;
  if (containsText(code, "ALREADY_EXISTS")) return ErrorClass::kDuplicate;
  return std::nullopt;
}

// OBJECT_NOT_FOUND: the objectType itself, or a record. A create names no record.
ErrorClass notFoundClass(Operation operation, std::string_view message) {
  if (containsNoCase(message, "object type") || operation == Operation::kInsert)
    return ErrorClass::kUnknownObject;
  return ErrorClass::kNotFound;
}

struct Classified {
  ErrorClass error_class = ErrorClass::kValidation;
  const Detail* detail = nullptr;  // the detail that refined it
};

// status 0: an entry of a 207's errors[], where the category alone speaks.
Classified classify(int status, std::string_view category, std::string_view policy,
                    std::string_view message, const std::vector<Detail>& details,
                    Operation operation) {
  switch (status) {
    case 401:
      return {ErrorClass::kAuth};
    case 403:
      return {ErrorClass::kForbidden};
    case 404:
      return {notFoundClass(operation, message)};
    case 409:
      return {ErrorClass::kDuplicate};
    case 423:
      return {ErrorClass::kLocked};
    case 429:
      return {policy == "DAILY" ? ErrorClass::kQuotaExhausted : ErrorClass::kRateLimited};
    case 477:
      return {ErrorClass::kUnavailable};
    default:
      break;
  }
  if (status >= 500) return {ErrorClass::kUnavailable};
  if (status > 0 && status < 400) return {ErrorClass::kBadResponse};
  if (category == "OBJECT_NOT_FOUND") return {notFoundClass(operation, message)};
  if (category == "CONFLICT") return {ErrorClass::kDuplicate};
  if (category == "INVALID_AUTHENTICATION") return {ErrorClass::kAuth};
  if (category == "MISSING_SCOPES") return {ErrorClass::kForbidden};
  if (category == "RATE_LIMITS" || category == "RATE_LIMIT")
    return {policy == "DAILY" ? ErrorClass::kQuotaExhausted : ErrorClass::kRateLimited};
  if (containsNoCase(message, "infer object type")) return {ErrorClass::kUnknownObject};
  for (const Detail& detail : details)
    if (auto refined = refinedClass(detail.code)) return {*refined, &detail};
  return {ErrorClass::kValidation};
}

// "CATEGORY/POLICY/CODE1/CODE2", each part once.
std::string codesOf(std::string_view category, std::string_view policy,
                    const std::vector<Detail>& details) {
  std::vector<std::string_view> parts = {category, policy};
  for (const Detail& detail : details) parts.push_back(detail.code);
  std::string out;
  std::vector<std::string_view> seen;
  for (std::string_view part : parts) {
    if (part.empty() || std::find(seen.begin(), seen.end(), part) != seen.end()) continue;
    seen.push_back(part);
    out += (out.empty() ? "" : "/") + std::string(part);
  }
  return out;
}

// HubSpot's own words; its "Property values were not valid: [<JSON>]" with the JSON replaced by
// the details' messages.
std::string readableMessage(const std::string& message, const std::vector<Detail>& details) {
  constexpr std::string_view kPropertyValues = "Property values were not valid";
  std::string readable;
  for (const Detail& detail : details)
    if (!detail.message.empty()) readable += (readable.empty() ? "" : "; ") + detail.message;
  if (message.empty()) return readable;
  if (!message.starts_with(kPropertyValues) || readable.empty()) return message;
  return std::string(kPropertyValues) + ": " + readable;
}

ApiError errorFrom(const JsonMembers& body, int status, Operation operation) {
  std::string category = stringMember(body, "category");
  if (category.empty()) category = stringMember(body, "errorType");  // 429: "RATE_LIMIT"
  std::string policy = stringMember(body, "policyName");
  std::string message = stringMember(body, "message");
  std::vector<Detail> details = detailsOf(body);
  Classified classified = classify(status, category, policy, message, details, operation);

  ApiError error;
  error.error_class = classified.error_class;
  error.code = codesOf(category, policy, details);
  const Detail* blamed = classified.detail;
  for (const Detail& detail : details)
    if (blamed == nullptr && !detail.field.empty()) blamed = &detail;
  if (blamed != nullptr) error.field = blamed->field;
  error.message = readableMessage(message, details);
  return error;
}

double errorRetryAfter(const HttpResponse& response) {
  double retry_after = retryAfterSeconds(response);
  switch (response.status) {
    case 429:
      return isDailyLimit(response) ? retry_after : burstWaitSeconds(response);
    case 423:
      return std::max(2.0, retry_after);  // "wait at least 2 s"
    case 502:
    case 504:
      return retry_after > 0 ? retry_after : 1;
    default:
      return retry_after;
  }
}

}  // namespace

std::string stringMember(const JsonMembers& members, std::string_view key) {
  const std::string_view* value = findMember(members, key);
  if (value == nullptr) return {};
  return jsonStringValue(*value).value_or(std::string());
}

std::optional<std::string> idText(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError()) return std::nullopt;
  if (doc.IsString()) return std::string(doc.GetString(), doc.GetStringLength());
  if (!doc.IsNumber()) return std::nullopt;
  // A number is kept as written: 12345678901234567890 must not go through a double.
  size_t begin = json.find_first_not_of(" \t\r\n");
  size_t end = json.find_last_not_of(" \t\r\n");
  return std::string(json.substr(begin, end - begin + 1));
}

std::string correlationId(const JsonMembers* body, const HttpResponse& response) {
  std::string id = body ? stringMember(*body, "correlationId") : std::string();
  return id.empty() ? responseHeader(response, "x-hubspot-correlation-id") : id;
}

double rateLimitIntervalSeconds(const HttpResponse& response) {
  std::string value = responseHeader(response, "x-hubspot-ratelimit-interval-milliseconds");
  double ms = std::strtod(value.c_str(), nullptr);
  return ms > 0 ? ms / 1000 : 0;
}

bool isDailyLimit(const HttpResponse& response) {
  if (response.status != 429) return false;
  auto body = jsonObjectMembers(response.body);
  return body && stringMember(*body, "policyName") == "DAILY";
}

double burstWaitSeconds(const HttpResponse& response) {
  if (double after = retryAfterSeconds(response); after > 0) return after;
  if (double interval = rateLimitIntervalSeconds(response); interval > 0) return interval;
  return 1;
}

ApiError responseError(const WriteRequest& request, const HttpResponse& response) {
  auto body = jsonObjectMembers(response.body);
  ApiError error = errorFrom(body.value_or(JsonMembers()), response.status, request.operation);
  error.http_status = response.status;
  error.request_id = correlationId(body ? &*body : nullptr, response);
  error.retry_after_seconds = errorRetryAfter(response);
  if (error.message.empty())
    error.message = "HubSpot answered HTTP " + std::to_string(response.status);
  return error;
}

std::optional<BatchEntryError> batchEntryError(std::string_view entry_json, Operation operation,
                                               int http_status, std::string_view request_id) {
  auto entry = jsonObjectMembers(entry_json);
  if (!entry) return std::nullopt;
  BatchEntryError out;
  out.error = errorFrom(*entry, 0, operation);
  out.error.http_status = http_status;
  out.error.request_id = std::string(request_id);
  if (out.error.message.empty()) out.error.message = "HubSpot refused this input";
  out.ids = stringList(findMember(*entry, "id"));
  out.trace_ids = stringList(findMember(*entry, "objectWriteTraceId"));
  if (auto context = contextOf(*entry)) {
    for (std::string& id : stringList(findMember(*context, "ids"))) out.ids.push_back(id);
    for (std::string& id : stringList(findMember(*context, "objectWriteTraceId")))
      out.trace_ids.push_back(id);
  }
  return out;
}

}  // namespace apibouncer::adapters::hubspot
