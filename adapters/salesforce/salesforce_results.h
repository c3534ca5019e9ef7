// Salesforce's answers read into plain values: the per-record SaveResult/DeleteResult array of
// sObject Collections, the request-level error array, and the mapping of Salesforce's error
// codes (statusCode / errorCode) to the interceptor's ErrorClass (adapters-spec §3, §7).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"

namespace apibouncer::adapters::salesforce {

// The code every other record of a failed allOrNone request carries.
inline constexpr std::string_view kRolledBack = "ALL_OR_NONE_OPERATION_ROLLED_BACK";

struct RecordError {
  std::string code;  // statusCode (collections) or errorCode (request level)
  std::string message;
  std::vector<std::string> fields;
};

// One element of a collections answer: {"id":..,"success":..,"errors":[..]}.
struct RecordResult {
  bool success = false;
  std::string id;  // empty when null or absent
  std::vector<RecordError> errors;
  // The error that explains a failure: the first one that is not kRolledBack, or nullptr when
  // the record was only rolled back because another failed.
  const RecordError* cause() const;
};

// The elements of a 2xx collections answer, or nullopt when it is not an array of well-formed
// results (each a JSON object; success a boolean; id a string or null; errors an array of
// objects; a failure names at least one error, a success an id).
std::optional<std::vector<RecordResult>> parseRecordResults(std::string_view body);

// The first entry of a request-level error body: [{"message","errorCode","fields"}], or, from
// the OAuth layer, {"error","error_description"}. nullopt when the body is neither.
std::optional<RecordError> parseRequestError(std::string_view body);

// The class of one record's error code. `operation` refines ENTITY_IS_DELETED: the record itself
// is gone when no field is blamed (UPDATE: kNotFound), otherwise a lookup points at a deleted
// record (kBadReference). Unknown codes are validation errors (§7: per-record refusals, 23514).
ErrorClass classifyRecordError(const RecordError& error, Operation operation);
// The class of a request-level (non-2xx) error: the status first where it is decisive (401,
// 5xx), then the code, then the status again.
ErrorClass classifyRequestError(int status, const RecordError& error, Operation operation);

}  // namespace apibouncer::adapters::salesforce
