// Stripe error bodies as ApiErrors (stripe_errors.h). Codes from Stripe's error-code list
// (docs.stripe.com/error-codes), classes from adapters-spec §7.
#include "adapters/stripe/stripe_errors.h"

#include <string_view>

#include "adapters/json_text.h"

namespace apibouncer::adapters::stripe {
namespace {

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string stringMember(const JsonMembers& members, std::string_view name) {
  const std::string_view* value = findMember(members, name);
  return value ? jsonStringValue(*value).value_or(std::string()) : std::string();
}

struct Details {
  std::string type, code, message, param, request_log_url;
};

Details readDetails(std::string_view body) {
  Details details;
  auto top = jsonObjectMembers(body);
  const std::string_view* error = top ? findMember(*top, "error") : nullptr;
  if (error == nullptr) return details;
  auto members = jsonObjectMembers(*error);
  if (!members) {
    details.message = jsonStringValue(*error).value_or(std::string());
    return details;
  }
  details.type = stringMember(*members, "type");
  details.code = stringMember(*members, "code");
  details.message = stringMember(*members, "message");
  details.param = stringMember(*members, "param");
  details.request_log_url = stringMember(*members, "request_log_url");
  return details;
}

ErrorClass notFoundClass(const Details& details, Operation operation, bool& object_missing) {
  if (details.code == "resource_missing") {
    // Without a param, or with "id", the missing object is the one in the URL; any other param
    // names a referenced object (customer, default_payment_method, product, ...).
    bool names_target = details.param.empty() || details.param == "id";
    if (!names_target || operation == Operation::kInsert) return ErrorClass::kBadReference;
    object_missing = true;
    return ErrorClass::kNotFound;
  }
  // "Unrecognized request URL (DELETE: /v1/prices/price_1)": no such route.
  if (startsWith(details.message, "Unrecognized request URL"))
    return operation == Operation::kDelete ? ErrorClass::kUnsupported : ErrorClass::kUnknownObject;
  return operation == Operation::kInsert ? ErrorClass::kUnknownObject : ErrorClass::kNotFound;
}

ErrorClass classify(int status, const Details& details, Operation operation, bool& object_missing) {
  const std::string& code = details.code;
  if (status == 401) return ErrorClass::kAuth;
  if (status == 403) return ErrorClass::kForbidden;
  if (code == "lock_timeout") return ErrorClass::kLocked;
  if (status == 429 || code == "rate_limit") return ErrorClass::kRateLimited;
  if (details.type == "idempotency_error" || status == 409 || code == "idempotency_key_in_use")
    return ErrorClass::kConflict;
  if (status >= 500 || status == 424 || details.type == "api_error")
    return ErrorClass::kUnavailable;
  if (details.type == "card_error" || status == 402) return ErrorClass::kValidation;
  if (status == 404 || code == "resource_missing")
    return notFoundClass(details, operation, object_missing);
  if (code == "parameter_missing") return ErrorClass::kRequiredField;
  if (code == "parameter_unknown") return ErrorClass::kUnknownField;
  if (code == "resource_already_exists" || code == "account_already_exists" ||
      code == "bank_account_exists")
    return ErrorClass::kDuplicate;
  if (startsWith(code, "parameter_invalid_") || endsWith(code, "_invalid"))
    return ErrorClass::kInvalidValue;
  return ErrorClass::kValidation;
}

}  // namespace

std::string requestId(const HttpResponse& response, std::string_view request_log_url) {
  std::string id = responseHeader(response, "request-id");
  if (!id.empty()) return id;
  size_t at = request_log_url.find("/req_");
  if (at == std::string_view::npos) return {};
  size_t end = at + 1;
  while (end < request_log_url.size()) {
    char c = request_log_url[end];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      break;
    ++end;
  }
  return std::string(request_log_url.substr(at + 1, end - at - 1));
}

bool isLockTimeout(const HttpResponse& response) {
  return readDetails(response.body).code == "lock_timeout";
}

double backoffSeconds(const HttpResponse& response) {
  double after = retryAfterSeconds(response);
  return after > 0 ? after : 1.0;
}

StripeError readError(const HttpResponse& response, Operation operation) {
  Details details = readDetails(response.body);
  StripeError out;
  out.type = details.type;
  ApiError& error = out.error;
  error.http_status = response.status;
  error.error_class = classify(response.status, details, operation, out.object_missing);
  error.message = !details.message.empty()
                      ? details.message
                      : "Stripe answered HTTP " + std::to_string(response.status) +
                            " without a readable error body";
  error.code = !details.code.empty() ? details.code : details.type;
  error.field = details.param;
  error.request_id = requestId(response, details.request_log_url);
  bool waits =
      response.status == 429 || response.status == 409 || error.error_class == ErrorClass::kLocked;
  error.retry_after_seconds = waits ? backoffSeconds(response) : retryAfterSeconds(response);
  return out;
}

}  // namespace apibouncer::adapters::stripe
