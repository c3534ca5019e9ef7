// Salesforce's answers read into plain values, and its error codes classified (see
// salesforce_results.h). Every value is read with json_text.h: no recursion, no doubles.
#include "adapters/salesforce/salesforce_results.h"

#include <utility>

#include "adapters/json_text.h"

namespace apibouncer::adapters::salesforce {
namespace {

// A string member, "" when absent or null; nullopt when it has another type.
std::optional<std::string> optionalString(const JsonMembers& members, std::string_view name) {
  const std::string_view* value = findMember(members, name);
  if (value == nullptr || *value == "null") return std::string();
  return jsonStringValue(*value);
}

// ["Name","Industry"]; absent or null is empty; nullopt when not an array of strings.
std::optional<std::vector<std::string>> stringList(const JsonMembers& members,
                                                   std::string_view name) {
  std::vector<std::string> list;
  const std::string_view* value = findMember(members, name);
  if (value == nullptr || *value == "null") return list;
  auto elements = jsonArrayElements(*value);
  if (!elements) return std::nullopt;
  for (std::string_view element : *elements) {
    auto text = jsonStringValue(element);
    if (!text) return std::nullopt;
    list.push_back(std::move(*text));
  }
  return list;
}

// {"statusCode"|"errorCode","message","fields"}.
std::optional<RecordError> parseError(std::string_view json) {
  auto members = jsonObjectMembers(json);
  if (!members) return std::nullopt;
  auto code = optionalString(*members, "statusCode");
  if (code && code->empty()) code = optionalString(*members, "errorCode");
  auto message = optionalString(*members, "message");
  auto fields = stringList(*members, "fields");
  if (!code || !message || !fields) return std::nullopt;
  return RecordError{std::move(*code), std::move(*message), std::move(*fields)};
}

std::optional<RecordResult> parseResult(std::string_view json) {
  auto members = jsonObjectMembers(json);
  if (!members) return std::nullopt;
  RecordResult result;
  const std::string_view* success = findMember(*members, "success");
  if (success == nullptr || (*success != "true" && *success != "false")) return std::nullopt;
  result.success = *success == "true";
  auto id = optionalString(*members, "id");
  if (!id) return std::nullopt;
  result.id = std::move(*id);
  if (const std::string_view* errors = findMember(*members, "errors");
      errors && *errors != "null") {
    auto elements = jsonArrayElements(*errors);
    if (!elements) return std::nullopt;
    for (std::string_view element : *elements) {
      auto error = parseError(element);
      if (!error) return std::nullopt;
      result.errors.push_back(std::move(*error));
    }
  }
  if (result.success ? result.id.empty() : result.errors.empty()) return std::nullopt;
  return result;
}

struct CodeClass {
  std::string_view code;
  ErrorClass error_class;
};

// adapters-spec §3 "Errors" and §7; ENTITY_IS_DELETED is decided by the caller.
constexpr CodeClass kCodeClasses[] = {
    {"REQUIRED_FIELD_MISSING", ErrorClass::kRequiredField},
    {"DUPLICATE_VALUE", ErrorClass::kDuplicate},
    {"DUPLICATES_DETECTED", ErrorClass::kDuplicate},
    {"DUPLICATE_EXTERNAL_ID", ErrorClass::kDuplicate},
    {"INVALID_CROSS_REFERENCE_KEY", ErrorClass::kBadReference},
    {"MALFORMED_ID", ErrorClass::kBadReference},
    {"STRING_TOO_LONG", ErrorClass::kTooLong},
    {"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ErrorClass::kInvalidValue},
    {"INVALID_TYPE_ON_FIELD_IN_RECORD", ErrorClass::kInvalidValue},
    {"INVALID_EMAIL_ADDRESS", ErrorClass::kInvalidValue},
    {"NUMBER_OUTSIDE_VALID_RANGE", ErrorClass::kInvalidValue},
    {"INVALID_FIELD", ErrorClass::kUnknownField},
    {"FIELD_CUSTOM_VALIDATION_EXCEPTION", ErrorClass::kValidation},
    {"INSUFFICIENT_ACCESS_OR_READONLY", ErrorClass::kForbidden},
    {"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", ErrorClass::kForbidden},
    {"API_DISABLED_FOR_ORG", ErrorClass::kForbidden},
    {"UNABLE_TO_LOCK_ROW", ErrorClass::kLocked},
    {"REQUEST_LIMIT_EXCEEDED", ErrorClass::kQuotaExhausted},
    {"INVALID_SESSION_ID", ErrorClass::kAuth},
    {"NOT_FOUND", ErrorClass::kUnknownObject},
    {"INVALID_TYPE", ErrorClass::kUnknownObject},
    // More than 200 records: the statement cannot be sent as written (54000 would fit better;
    // the proxy's own row limit normally stops it first).
    {"EXCEEDED_ID_LIMIT", ErrorClass::kUnsupported},
};

std::optional<ErrorClass> classOfCode(std::string_view code) {
  for (const CodeClass& entry : kCodeClasses)
    if (entry.code == code) return entry.error_class;
  return std::nullopt;
}

}  // namespace

const RecordError* RecordResult::cause() const {
  for (const RecordError& error : errors)
    if (error.code != kRolledBack) return &error;
  return nullptr;
}

std::optional<std::vector<RecordResult>> parseRecordResults(std::string_view body) {
  auto elements = jsonArrayElements(body);
  if (!elements) return std::nullopt;
  std::vector<RecordResult> results;
  results.reserve(elements->size());
  for (std::string_view element : *elements) {
    auto result = parseResult(element);
    if (!result) return std::nullopt;
    results.push_back(std::move(*result));
  }
  return results;
}

std::optional<RecordError> parseRequestError(std::string_view body) {
  if (auto elements = jsonArrayElements(body)) {
    if (elements->empty()) return std::nullopt;
    return parseError(elements->front());
  }
  auto members = jsonObjectMembers(body);
  if (!members) return std::nullopt;
  if (findMember(*members, "errorCode") != nullptr) return parseError(body);
  auto code = optionalString(*members, "error");
  auto message = optionalString(*members, "error_description");
  if (!code || !message || code->empty()) return std::nullopt;
  return RecordError{std::move(*code), std::move(*message), {}};
}

ErrorClass classifyRecordError(const RecordError& error, Operation operation) {
  if (error.code == "ENTITY_IS_DELETED") {
    bool record_itself = error.fields.empty() && operation != Operation::kInsert;
    return record_itself ? ErrorClass::kNotFound : ErrorClass::kBadReference;
  }
  return classOfCode(error.code).value_or(ErrorClass::kValidation);
}

ErrorClass classifyRequestError(int status, const RecordError& error, Operation operation) {
  if (status == 401) return ErrorClass::kAuth;
  if (error.code == "REQUEST_LIMIT_EXCEEDED") return ErrorClass::kQuotaExhausted;
  if (status >= 500) return ErrorClass::kUnavailable;
  if (error.code == "ENTITY_IS_DELETED" || classOfCode(error.code))
    return classifyRecordError(error, operation);
  switch (status) {
    case 403:
      return ErrorClass::kForbidden;
    case 404:
      return ErrorClass::kUnknownObject;  // the collections resource itself is not there
    case 409:
    case 412:
      return ErrorClass::kConflict;
    case 429:
      return ErrorClass::kRateLimited;
    default:
      return status >= 400 ? ErrorClass::kValidation : ErrorClass::kBadResponse;
  }
}

}  // namespace apibouncer::adapters::salesforce
