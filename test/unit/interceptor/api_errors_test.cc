// API outcomes as PostgreSQL errors: SQLSTATEs per adapters-spec §7, messages, details, hints.
#include <catch2/catch.hpp>

#include "interceptor/api_errors.h"

using namespace apibouncer;
using namespace apibouncer::interceptor;
using adapters::ErrorClass;

namespace {

const WriteContext kInsert{"http", "crm", "public.customers", adapters::Operation::kInsert};

adapters::ApiError apiError(ErrorClass error_class, int status, std::string code = {}) {
  adapters::ApiError error;
  error.error_class = error_class;
  error.http_status = status;
  error.message = "upstream says no";
  error.code = std::move(code);
  return error;
}

}  // namespace

TEST_CASE("API refusals map to the documented SQLSTATEs", "[api_errors]") {
  struct Case {
    adapters::ApiError error;
    const char* sqlstate;
  };
  for (const Case& c : {
           Case{apiError(ErrorClass::kValidation, 422, "invalid_value"), "23514"},
           Case{apiError(ErrorClass::kValidation, 422, "required_field"), "23502"},
           Case{apiError(ErrorClass::kConflict, 409, "already_exists"), "23505"},
           Case{apiError(ErrorClass::kConflict, 409, "locked"), "55P03"},
           Case{apiError(ErrorClass::kAuth, 401), "28000"},
           Case{apiError(ErrorClass::kForbidden, 403), "42501"},
           Case{apiError(ErrorClass::kNotFound, 404), "40001"},
           Case{apiError(ErrorClass::kRateLimited, 429), "53000"},
           Case{apiError(ErrorClass::kUnavailable, 503), "58000"},
           Case{apiError(ErrorClass::kUnavailable, 500), "08007"},
           Case{apiError(ErrorClass::kBadResponse, 200), "08007"},
       }) {
    INFO(static_cast<int>(c.error.error_class) << " " << c.error.code);
    CHECK(describeApiError(c.error, kInsert).sqlstate == c.sqlstate);
  }
}

TEST_CASE("an API refusal says who refused what, with the facts in DETAIL", "[api_errors]") {
  adapters::ApiError error = apiError(ErrorClass::kValidation, 422, "invalid_value");
  error.message = "email is invalid";
  error.field = "email";
  error.request_id = "req_7";
  PgError pg = describeApiError(error, kInsert);
  CHECK(pg.message == "http rejected INSERT on public.customers: email is invalid");
  CHECK(pg.detail ==
        "platform: http; HTTP 422; code: invalid_value; field: email; request id: req_7; "
        "nothing was applied to the database");
  CHECK(pg.hint == "Check the value of email.");
  adapters::ApiError limited = apiError(ErrorClass::kRateLimited, 429);
  limited.retry_after_seconds = 2.5;
  CHECK(describeApiError(limited, kInsert).hint == "Retry after 3 s.");
  CHECK(describeApiError(apiError(ErrorClass::kAuth, 401), kInsert).hint.find("[api.crm]") !=
        std::string::npos);
}

TEST_CASE("transport failures say whether the write may exist upstream", "[api_errors]") {
  adapters::ApiError unreachable = apiError(ErrorClass::kUnreachable, 0);
  unreachable.message = "Couldn't connect to server (3 attempts)";
  PgError pg = describeApiError(unreachable, kInsert);
  CHECK(pg.sqlstate == "08001");
  CHECK(pg.detail.find("3 attempts") != std::string::npos);
  CHECK(pg.detail.find("nothing was sent") != std::string::npos);
  CHECK(describeApiError(apiError(ErrorClass::kOutcomeUnknown, 0), kInsert).sqlstate == "08007");
  CHECK(describeApiError(apiError(ErrorClass::kTimedOut, 0), kInsert).sqlstate == "57014");
}

TEST_CASE("platform refinements keep PostgreSQL's own SQLSTATEs", "[api_errors]") {
  CHECK(describeApiError(apiError(ErrorClass::kRequiredField, 400), kInsert).sqlstate == "23502");
  CHECK(describeApiError(apiError(ErrorClass::kDuplicate, 409), kInsert).sqlstate == "23505");
  CHECK(describeApiError(apiError(ErrorClass::kBadReference, 400), kInsert).sqlstate == "23503");
  CHECK(describeApiError(apiError(ErrorClass::kTooLong, 400), kInsert).sqlstate == "22001");
  CHECK(describeApiError(apiError(ErrorClass::kInvalidValue, 422), kInsert).sqlstate == "22023");
  CHECK(describeApiError(apiError(ErrorClass::kUnknownField, 422), kInsert).sqlstate == "42703");
  CHECK(describeApiError(apiError(ErrorClass::kUnknownObject, 404), kInsert).sqlstate == "42P01");
  CHECK(describeApiError(apiError(ErrorClass::kUnsupported, 0), kInsert).sqlstate == "0A000");
  CHECK(describeApiError(apiError(ErrorClass::kLocked, 429), kInsert).sqlstate == "55P03");
  CHECK(describeApiError(apiError(ErrorClass::kQuotaExhausted, 403), kInsert).sqlstate == "53400");
}

TEST_CASE("reached the API but not the database is its own error", "[api_errors]") {
  PgError pg = reachedApiNotDatabase(kInsert, "cus_1, cus_2", "deadlock detected");
  CHECK(pg.sqlstate == "25000");
  CHECK(pg.message == "the INSERT on public.customers reached http but not the database yet");
  CHECK(pg.detail.find("cus_1, cus_2") != std::string::npos);
  CHECK(pg.hint.find("Do not retry") != std::string::npos);
}
