// GitHub error reading (github_errors.h): rate-limit timing, REST error bodies, GraphQL error
// entries, and the message refinements that pick a SQLSTATE (adapters-spec §7).
#include "adapters/github/github_errors.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace apibouncer::adapters::github {
namespace {

constexpr double kSecondaryWait = 60;   // GitHub: "wait at least one minute"
constexpr double kQuotaThreshold = 60;  // a reset further away than this is a quota

std::string requestIdOf(const HttpResponse& response) {
  return responseHeader(response, "x-github-request-id");
}

std::string stringMember(const JsonMembers& members, std::string_view name) {
  const std::string_view* value = findMember(members, name);
  if (value == nullptr) return {};
  return jsonStringValue(*value).value_or("");
}

// "Sun, 16 Jan 2022 18:52:10 GMT" (RFC 9110 IMF-fixdate) as Unix seconds, or nullopt.
std::optional<double> httpDateSeconds(const std::string& date) {
  char month_name[4] = {};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (std::sscanf(date.c_str(), "%*3s, %d %3s %d %d:%d:%d GMT", &day, month_name, &year, &hour,
                  &minute, &second) != 6)
    return std::nullopt;
  static constexpr const char* kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const char* found = std::strstr(kMonths, month_name);
  if (found == nullptr || std::strlen(month_name) != 3 || (found - kMonths) % 3 != 0)
    return std::nullopt;
  int month = static_cast<int>(found - kMonths) / 3 + 1;
  // Days from civil (H. Hinnant's algorithm).
  int y = year - (month <= 2);
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  double days = static_cast<double>(era) * 146097 + doe - 719468;
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

// The field of the row's input that `message` blames: the one whose name is its first word
// ("Title can't be blank" -> "title"), or whose string value it quotes ("Could not resolve to a
// node with the global id of 'R_x'" -> "repositoryId").
std::string fieldNamedBy(std::string_view message, const Fields& input) {
  for (const auto& [field, value] : input) {
    std::optional<std::string> text = jsonStringValue(value);
    if (text && !text->empty() && message.find("'" + *text + "'") != std::string_view::npos)
      return field;
  }
  size_t end = 0;
  while (end < message.size() && std::isalnum(static_cast<unsigned char>(message[end]))) ++end;
  std::string_view word = message.substr(0, end);
  for (const auto& [field, value] : input) {
    if (field.size() != word.size() || word.empty()) continue;
    bool same = std::equal(field.begin(), field.end(), word.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) ==
             std::tolower(static_cast<unsigned char>(b));
    });
    if (same) return field;
  }
  return {};
}

// "... was provided invalid value for number (Field is not defined on CreateIssueInput)".
std::string fieldFromCoercionMessage(std::string_view message) {
  constexpr std::string_view kMarker = "invalid value for ";
  size_t start = message.find(kMarker);
  if (start == std::string_view::npos) return {};
  start += kMarker.size();
  size_t end = start;
  while (end < message.size() && message[end] != ' ' && message[end] != '(') ++end;
  return std::string(message.substr(start, end - start));
}

// A validation message in the words of its cause (GitHub's are Rails-like sentences).
ErrorClass refineValidation(std::string_view message) {
  for (const char* part : {"can't be blank", "cannot be blank", "is missing", "to not be null"})
    if (containsNoCase(message, part)) return ErrorClass::kRequiredField;
  if (containsNoCase(message, "too long")) return ErrorClass::kTooLong;
  for (const char* part : {"already exists", "already been taken"})
    if (containsNoCase(message, part)) return ErrorClass::kDuplicate;
  for (const char* part : {"is not defined on", "doesn't exist on"})
    if (containsNoCase(message, part)) return ErrorClass::kUnknownField;
  for (const char* part : {"to be one of", "could not coerce", "is not included in the list"})
    if (containsNoCase(message, part)) return ErrorClass::kInvalidValue;
  return ErrorClass::kValidation;
}

bool serverTrouble(std::string_view message) {
  return containsNoCase(message, "something went wrong") || containsNoCase(message, "timeout") ||
         containsNoCase(message, "timed out");
}

bool forbiddenType(std::string_view type) {
  return type == "FORBIDDEN" || type == "INSUFFICIENT_SCOPES";
}

void setRateLimited(ApiError& error, const HttpResponse& response, const Clock& clock) {
  RateLimit limit = rateLimitOf(response, clock);
  error.error_class = limit.exhausted ? ErrorClass::kQuotaExhausted : ErrorClass::kRateLimited;
  error.retry_after_seconds = limit.wait_seconds;
}

// REST "errors": [{"resource","field","code","message"}]: 422 refinements.
ErrorClass classFromRestCode(std::string_view code, std::string_view message) {
  if (code == "missing" || code == "missing_field") return ErrorClass::kRequiredField;
  if (code == "already_exists") return ErrorClass::kDuplicate;
  if (code == "invalid") return ErrorClass::kInvalidValue;
  return refineValidation(message);
}

ErrorClass classFromStatus(int status) {
  switch (status) {
    case 401:
      return ErrorClass::kAuth;
    case 403:
      return ErrorClass::kForbidden;
    case 404:  // no /graphql here (wrong base_url), or issues disabled
    case 410:
      return ErrorClass::kUnknownObject;
    case 409:
      return ErrorClass::kConflict;
    case 429:
      return ErrorClass::kRateLimited;
    default:
      return status >= 500 ? ErrorClass::kUnavailable : ErrorClass::kValidation;
  }
}

}  // namespace

bool containsNoCase(std::string_view text, std::string_view part) {
  auto it = std::search(text.begin(), text.end(), part.begin(), part.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end() || part.empty();
}

bool isRateLimitType(std::string_view type) {
  return type == "RATE_LIMITED" || type == "RATE_LIMIT";
}

RateLimit rateLimitOf(const HttpResponse& response, const Clock& clock) {
  RateLimit limit;
  bool has_retry_after = !responseHeader(response, "retry-after").empty();
  double retry_after = retryAfterSeconds(response);
  std::string reset_text = responseHeader(response, "x-ratelimit-reset");
  double until_reset = -1;
  if (responseHeader(response, "x-ratelimit-remaining") == "0" && !reset_text.empty()) {
    char* end = nullptr;
    double reset = std::strtod(reset_text.c_str(), &end);
    if (end != reset_text.c_str()) {
      std::optional<double> now = httpDateSeconds(responseHeader(response, "date"));
      until_reset = std::max(reset - (now ? *now : (clock ? clock() : reset)), 0.0);
    }
  }
  if (has_retry_after)
    limit.wait_seconds = retry_after;
  else if (until_reset >= 0)
    limit.wait_seconds = std::max(until_reset, 1.0);  // the window turns at the reset second
  else
    limit.wait_seconds = kSecondaryWait;
  limit.exhausted = until_reset > kQuotaThreshold && limit.wait_seconds > kQuotaThreshold;
  return limit;
}

bool restRateLimited(const HttpResponse& response) {
  if (response.status == 429) return true;
  if (response.status != 403) return false;
  return !responseHeader(response, "retry-after").empty() ||
         responseHeader(response, "x-ratelimit-remaining") == "0" ||
         containsNoCase(response.body, "rate limit");
}

std::optional<std::vector<GraphqlError>> graphqlErrors(const JsonMembers& top) {
  std::vector<GraphqlError> errors;
  const std::string_view* list = findMember(top, "errors");
  if (list == nullptr || *list == "null") return errors;
  auto elements = jsonArrayElements(*list);
  if (!elements) return std::nullopt;
  for (std::string_view element : *elements) {
    auto members = jsonObjectMembers(element);
    if (!members) return std::nullopt;
    GraphqlError error;
    error.type = stringMember(*members, "type");
    error.message = stringMember(*members, "message");
    error.code = stringMember(*members, "code");
    if (const std::string_view* path = findMember(*members, "path"))
      if (auto steps = jsonArrayElements(*path); steps && !steps->empty())
        error.alias = jsonStringValue(steps->front()).value_or("");
    if (const std::string_view* extensions = findMember(*members, "extensions"))
      if (auto ext = jsonObjectMembers(*extensions)) {
        if (error.code.empty()) error.code = stringMember(*ext, "code");
        const std::string_view* problems = findMember(*ext, "problems");
        auto items = problems ? jsonArrayElements(*problems) : std::nullopt;
        auto first = items && !items->empty() ? jsonObjectMembers(items->front()) : std::nullopt;
        const std::string_view* path = first ? findMember(*first, "path") : nullptr;
        if (auto steps = path ? jsonArrayElements(*path) : std::nullopt)
          for (std::string_view step : *steps)
            if (auto name = jsonStringValue(step)) error.field = *name;
      }
    if (error.field.empty()) error.field = fieldFromCoercionMessage(error.message);
    errors.push_back(std::move(error));
  }
  return errors;
}

ApiError restError(const HttpResponse& response, const Clock& clock) {
  ApiError error;
  error.http_status = response.status;
  error.request_id = requestIdOf(response);
  std::string first_code, first_message;
  if (auto top = jsonObjectMembers(response.body)) {
    error.message = stringMember(*top, "message");
    const std::string_view* list = findMember(*top, "errors");
    auto items = list ? jsonArrayElements(*list) : std::nullopt;
    auto first = items && !items->empty() ? jsonObjectMembers(items->front()) : std::nullopt;
    if (first) {
      first_code = stringMember(*first, "code");
      first_message = stringMember(*first, "message");
      error.field = stringMember(*first, "field");
    }
  }
  error.code = first_code;
  if (!first_message.empty()) error.message += (error.message.empty() ? "" : ": ") + first_message;
  if (error.message.empty()) error.message = "HTTP " + std::to_string(response.status);
  if (restRateLimited(response)) {
    setRateLimited(error, response, clock);
  } else if (response.status == 422 || response.status == 400) {
    error.error_class = classFromRestCode(first_code, error.message);
  } else {
    error.error_class = classFromStatus(response.status);
    if (response.status == 503) error.retry_after_seconds = retryAfterSeconds(response);
  }
  return error;
}

ApiError documentError(const GraphqlError& graphql, const HttpResponse& response,
                       const Clock& clock) {
  ApiError error;
  error.http_status = response.status;
  error.request_id = requestIdOf(response);
  error.message = graphql.message.empty() ? "GitHub refused the GraphQL document" : graphql.message;
  error.code = graphql.type.empty() ? graphql.code : graphql.type;
  error.field = graphql.field;
  if (isRateLimitType(graphql.type) || containsNoCase(graphql.message, "rate limit"))
    setRateLimited(error, response, clock);
  else if (forbiddenType(graphql.type))
    error.error_class = ErrorClass::kForbidden;
  else if (serverTrouble(graphql.message))
    error.error_class = ErrorClass::kUnavailable;
  else
    error.error_class = refineValidation(graphql.message);
  return error;
}

ApiError rowError(const GraphqlError& graphql, Operation operation, const Fields& input,
                  const HttpResponse& response) {
  ApiError error;
  error.http_status = response.status;
  error.request_id = requestIdOf(response);
  error.message = graphql.message.empty() ? "GitHub refused the row" : graphql.message;
  error.code = graphql.type.empty() ? graphql.code : graphql.type;
  error.field = graphql.field.empty() ? fieldNamedBy(graphql.message, input) : graphql.field;
  if (graphql.type == "UNPROCESSABLE")
    error.error_class = refineValidation(graphql.message);
  else if (graphql.type == "NOT_FOUND")  // an insert's repositoryId, labelIds, ... are unknown
    error.error_class =
        operation == Operation::kInsert ? ErrorClass::kBadReference : ErrorClass::kNotFound;
  else if (forbiddenType(graphql.type))
    error.error_class = ErrorClass::kForbidden;
  else if (isRateLimitType(graphql.type))
    error.error_class = ErrorClass::kRateLimited;
  else if (serverTrouble(graphql.message))
    error.error_class = ErrorClass::kUnavailable;
  else
    error.error_class = refineValidation(graphql.message);
  return error;
}

}  // namespace apibouncer::adapters::github
