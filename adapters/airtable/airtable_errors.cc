// Airtable's error answers as ApiErrors (airtable_codec.h): the body's shapes, the type -> class
// table of adapters-spec §1 and §7, and the field a message names.
#include <algorithm>
#include <optional>
#include <string_view>

#include "adapters/airtable/airtable_codec.h"
#include "adapters/json_text.h"

namespace apibouncer::adapters::airtable {
namespace {

struct ErrorBody {
  std::string type;  // error.type, the bare error string, or errors[0].error
  std::string message;
};

std::string stringMember(const JsonMembers& members, std::string_view key) {
  const std::string_view* value = findMember(members, key);
  return value ? jsonStringValue(*value).value_or(std::string()) : std::string();
}

// {"error":{"type","message"}}, {"error":"NOT_FOUND"} or {"errors":[{"error","message"}]}; any
// other shape (HTML from a proxy, garbage) leaves both empty.
ErrorBody readErrorBody(std::string_view body) {
  ErrorBody read;
  auto top = jsonObjectMembers(body);
  if (!top) return read;
  if (const std::string_view* error = findMember(*top, "error")) {
    if (auto bare = jsonStringValue(*error)) {
      read.type = *bare;
    } else if (auto details = jsonObjectMembers(*error)) {
      read.type = stringMember(*details, "type");
      read.message = stringMember(*details, "message");
    }
    return read;
  }
  if (const std::string_view* errors = findMember(*top, "errors")) {
    auto list = jsonArrayElements(*errors);
    if (!list || list->empty()) return read;
    if (auto first = jsonObjectMembers(list->front())) {
      read.type = stringMember(*first, "error");
      read.message = stringMember(*first, "message");
    }
  }
  return read;
}

ErrorClass classify(int status, std::string_view type) {
  if (type == "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND" || type == "TABLE_NOT_FOUND")
    return ErrorClass::kUnknownObject;
  if (status == 401) return ErrorClass::kAuth;
  if (status == 403) return ErrorClass::kForbidden;
  if (status == 404) return ErrorClass::kNotFound;
  if (status == 429) return ErrorClass::kRateLimited;
  if (status >= 500 && status < 600) return ErrorClass::kUnavailable;
  if (status < 400 || status >= 500) return ErrorClass::kBadResponse;  // 1xx, 3xx, nonsense
  // 400, 413, 422 and any other 4xx: the request's data, refined by the type.
  if (type == "INVALID_VALUE_FOR_COLUMN" || type == "INVALID_MULTIPLE_CHOICE_OPTIONS")
    return ErrorClass::kInvalidValue;
  if (type == "UNKNOWN_FIELD_NAME") return ErrorClass::kUnknownField;
  return ErrorClass::kValidation;
}

// The request field a message names in double quotes (`Field "Status" cannot accept the
// provided value`, `Unknown field name: "Nmae"`), the earliest if several; only names that were
// sent count, so nothing in a free-form message is taken for a field by accident.
std::string blamedField(const WriteRequest& request, std::string_view message) {
  std::string best;
  size_t best_at = std::string_view::npos;
  for (const Row& row : request.rows) {
    for (const auto& [name, value] : row.fields) {
      size_t at = message.find("\"" + name + "\"");
      if (at < best_at) {
        best_at = at;
        best = name;
      }
    }
  }
  return best;
}

}  // namespace

ApiError parseError(const WriteRequest& request, const HttpResponse& response) {
  ErrorBody body = readErrorBody(response.body);
  ApiError error;
  error.http_status = response.status;
  error.code = body.type;
  error.error_class = classify(response.status, body.type);
  error.request_id = responseHeader(response, "x-request-id");
  error.retry_after_seconds = retryAfterSeconds(response);
  error.message = body.message;
  if (error.message.empty()) {
    error.message = "Airtable answered HTTP " + std::to_string(response.status);
    if (!body.type.empty()) error.message += " " + body.type;
  }
  switch (error.error_class) {
    case ErrorClass::kRateLimited:
      error.retry_after_seconds = std::max(error.retry_after_seconds, kRateLimitPauseSeconds);
      break;
    case ErrorClass::kUnknownObject:
      error.message +=
          " (Airtable gives this answer for a table or record it does not have and for a token "
          "not allowed to use this base: it may also be a permission problem)";
      break;
    case ErrorClass::kInvalidValue:
    case ErrorClass::kUnknownField:
    case ErrorClass::kValidation:
      error.field = blamedField(request, error.message);
      break;
    default:
      break;
  }
  return error;
}

}  // namespace apibouncer::adapters::airtable
