// GitHub's error signals in the interceptor's terms: REST-style answers (401 "Bad credentials",
// 403/429 rate limits, 422 "Validation Failed"), GraphQL `errors[]` entries (type, path,
// message), and the rate-limit headers that say how long to wait (adapters-spec §5).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/github/github_adapter.h"
#include "adapters/json_text.h"

namespace apibouncer::adapters::github {

// When a rate-limited request may be sent again.
struct RateLimit {
  double wait_seconds = 0;
  bool exhausted = false;  // primary limit used up, reset more than 60 s away: 53400
};
// retry-after if present; else x-ratelimit-remaining 0 -> x-ratelimit-reset minus now (the
// answer's Date, else `clock`); else 60 s.
RateLimit rateLimitOf(const HttpResponse& response, const Clock& clock);
// A 403/429 REST-style answer that is a rate limit (primary or secondary), not a refusal.
bool restRateLimited(const HttpResponse& response);
// RATE_LIMITED (and the RATE_LIMIT spelling GitHub also sends).
bool isRateLimitType(std::string_view type);
bool containsNoCase(std::string_view text, std::string_view part);

// One entry of a GraphQL `errors` array.
struct GraphqlError {
  std::string type;   // UNPROCESSABLE, NOT_FOUND, FORBIDDEN, RATE_LIMITED, ... or ""
  std::string alias;  // path[0] if it is a string: the row's alias; "" for a document error
  std::string message;
  std::string code;   // extensions.code or code
  std::string field;  // extensions.problems[].path's last name, or "invalid value for <field>"
};
// The answer's `errors` (none if absent or null), or nullopt if it is not an array of objects.
std::optional<std::vector<GraphqlError>> graphqlErrors(const JsonMembers& top);

// A non-2xx answer as the statement's error.
ApiError restError(const HttpResponse& response, const Clock& clock);
// An error without a row's alias: GitHub refused the whole document and ran nothing.
ApiError documentError(const GraphqlError& error, const HttpResponse& response, const Clock& clock);
// A row's own error (path [rN, ...]); `input` is what the row sent, to name the field blamed.
// (A NOT_FOUND on a DELETE is no error at all: the caller makes it a notice.)
ApiError rowError(const GraphqlError& error, Operation operation, const Fields& input,
                  const HttpResponse& response);

}  // namespace apibouncer::adapters::github
