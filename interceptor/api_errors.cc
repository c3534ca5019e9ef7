// API outcomes as PostgreSQL errors (see api_errors.h and adapters-spec §7).
#include "interceptor/api_errors.h"

#include <cmath>

namespace apibouncer::interceptor {
namespace {

using adapters::ErrorClass;

std::string_view verb(adapters::Operation operation) {
  switch (operation) {
    case adapters::Operation::kInsert:
      return "INSERT";
    case adapters::Operation::kUpdate:
      return "UPDATE";
    case adapters::Operation::kDelete:
      return "DELETE";
  }
  return "WRITE";
}

bool mentions(std::string_view text, std::string_view word) {
  return text.find(word) != std::string_view::npos;
}

std::string detailOf(const adapters::ApiError& error, const WriteContext& write) {
  std::string detail = "platform: " + std::string(write.platform);
  if (error.http_status > 0) detail += "; HTTP " + std::to_string(error.http_status);
  if (!error.code.empty()) detail += "; code: " + error.code;
  if (!error.field.empty()) detail += "; field: " + error.field;
  if (!error.request_id.empty()) detail += "; request id: " + error.request_id;
  return detail + "; nothing was applied to the database";
}

}  // namespace

PgError describeApiError(const adapters::ApiError& error, const WriteContext& write) {
  PgError pg;
  std::string what = std::string(verb(write.operation)) + " on " + std::string(write.table);
  std::string platform(write.platform);
  pg.message = platform + " rejected " + what + ": " + error.message;
  pg.detail = detailOf(error, write);
  std::string api = "[api." + std::string(write.api_name) + "]";
  auto retryHint = [&](std::string otherwise) {
    return error.retry_after_seconds > 0
               ? "Retry after " +
                     std::to_string(static_cast<long>(std::ceil(error.retry_after_seconds))) + " s."
               : otherwise;
  };
  const std::string field_hint =
      error.field.empty() ? std::string() : "Check the value of " + error.field + ".";
  switch (error.error_class) {
    case ErrorClass::kValidation:
      pg.sqlstate =
          mentions(error.code, "required") || mentions(error.code, "missing") ? "23502" : "23514";
      pg.hint = field_hint;
      break;
    case ErrorClass::kRequiredField:
      pg.sqlstate = "23502";
      pg.hint = field_hint;
      break;
    case ErrorClass::kDuplicate:
      pg.sqlstate = "23505";
      break;
    case ErrorClass::kBadReference:
      pg.sqlstate = "23503";
      pg.hint = field_hint;
      break;
    case ErrorClass::kTooLong:
      pg.sqlstate = "22001";
      pg.hint = field_hint;
      break;
    case ErrorClass::kInvalidValue:
      pg.sqlstate = "22023";
      pg.hint = field_hint;
      break;
    case ErrorClass::kUnknownField:
      pg.sqlstate = "42703";
      pg.hint =
          "The table's columns no longer match the API's fields: check column_map of "
          "[table." +
          std::string(write.table) + "].";
      break;
    case ErrorClass::kUnknownObject:
      pg.sqlstate = "42P01";
      pg.hint = "Check object of [table." + std::string(write.table) + "] and the permissions of " +
                api + ".";
      break;
    case ErrorClass::kUnsupported:
      pg.sqlstate = "0A000";
      break;
    case ErrorClass::kConflict:
      pg.sqlstate = mentions(error.code, "duplicate") || mentions(error.code, "exists") ||
                            mentions(error.code, "unique")
                        ? "23505"
                        : "55P03";
      if (pg.sqlstate == "55P03")
        pg.hint = "Another change to the same record is in progress; retry.";
      break;
    case ErrorClass::kLocked:
      pg.sqlstate = "55P03";
      pg.hint = retryHint("The record is locked upstream; retry shortly.");
      break;
    case ErrorClass::kAuth:
      pg.sqlstate = "28000";
      pg.hint = "Check the credentials of " + api +
                " (reconnect the integration if its refresh "
                "token was revoked).";
      break;
    case ErrorClass::kForbidden:
      pg.sqlstate = "42501";
      pg.hint = "The credentials of " + api + " lack the permission for this write.";
      break;
    case ErrorClass::kNotFound:
      // Deleted upstream meanwhile: the same answer as a concurrent delete in PostgreSQL.
      pg.sqlstate = "40001";
      pg.hint = "The record is gone from the API; retry the statement after the next sync.";
      break;
    case ErrorClass::kRateLimited:
      pg.sqlstate = "53000";
      pg.hint = retryHint("Retry later, or lower the write rate.");
      break;
    case ErrorClass::kQuotaExhausted:
      pg.sqlstate = "53400";
      pg.hint = retryHint("The API's quota is used up; it will not clear within seconds.");
      break;
    case ErrorClass::kUnavailable:
      // A 500 on a write may have been applied; 502/503/504 were not.
      pg.sqlstate = error.http_status == 500 ? "08007" : "58000";
      pg.hint = pg.sqlstate == "08007"
                    ? "The API may have applied the write; the next sync will show it."
                    : "The API is failing; retry later.";
      break;
    case ErrorClass::kBadResponse:
      pg.sqlstate = "08007";
      pg.detail = "platform: " + platform + "; HTTP " + std::to_string(error.http_status) + "; " +
                  error.message + "; the write may exist upstream";
      pg.message = platform + " answered " + what + " with something apibouncer cannot read";
      pg.hint = "The API's answer changed shape; the next sync will show whether it applied.";
      break;
    case ErrorClass::kUnreachable:
      pg.sqlstate = "08001";
      pg.message = "could not reach " + platform + " for " + what;
      pg.detail =
          "platform: " + platform + "; " + error.message + "; nothing was sent, nothing applied";
      pg.hint = "Check base_url of " + api + " and the network.";
      break;
    case ErrorClass::kTimedOut:
      pg.sqlstate = "57014";
      pg.message = platform + " did not answer " + what + " within api_timeout";
      pg.detail = "platform: " + platform + "; " + error.message + "; nothing was applied";
      pg.hint = "Nothing was sent; retry.";
      break;
    case ErrorClass::kOutcomeUnknown:
      pg.sqlstate = "08007";
      pg.message = "no answer from " + platform + " for " + what;
      pg.detail = "platform: " + platform + "; " + error.message +
                  "; the request was sent, so the API may have applied it";
      pg.hint =
          "The API may have applied the write; the next sync will show it. Do not retry "
          "blindly.";
      break;
  }
  return pg;
}

PgError reachedApiNotDatabase(const WriteContext& write, std::string_view api_ids,
                              std::string_view database_error) {
  return PgError{"25000",
                 "the " + std::string(verb(write.operation)) + " on " + std::string(write.table) +
                     " reached " + std::string(write.platform) + " but not the database yet",
                 "API ids: " + std::string(api_ids) +
                     "; database error: " + std::string(database_error) +
                     "; the write is recorded and will be applied later",
                 "Do not retry the statement: the API already has the change."};
}

}  // namespace apibouncer::interceptor
