// The Salesforce adapter (adapters-spec §3): every statement is one sObject Collections call with
// allOrNone=true, so Salesforce applies all of its records or none. INSERT is
// POST {base}/composite/sobjects, UPDATE the same path with PATCH, DELETE is
// DELETE {base}/composite/sobjects?ids=..&allOrNone=true. Results come back by position; a 200
// may still refuse records, so every element's `success` is read. OAuth is the standard refresh
// exchange (adapter.cc): Salesforce answers without expires_in, so a 401 triggers the refresh.
//
// DELETE of a record Salesforce no longer has (ENTITY_IS_DELETED, no field blamed): the goal is
// reached, so that row is kApplied with a notice. allOrNone still rolls the other deletions
// back, and the answer says so (ALL_OR_NONE_OPERATION_ROLLED_BACK): those rows are kNotApplied
// and the statement fails as kNotFound (40001, retryable), a partial result. The interceptor
// deletes the gone rows locally; a re-run no longer names them and goes through. When every
// row is gone, nothing was rolled back and the statement succeeds with the notices.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "adapters/adapter.h"
#include "adapters/json_text.h"
#include "adapters/salesforce/salesforce_results.h"

namespace apibouncer::adapters {
namespace {

using salesforce::RecordError;
using salesforce::RecordResult;

constexpr size_t kMaxRecords = 200;  // sObject Collections' limit per request
constexpr double kRetrySeconds = 1;

bool isName(std::string_view name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_') return false;
  return true;
}

bool isAlnum(std::string_view text) {
  for (unsigned char c : text)
    if (!std::isalnum(c)) return false;
  return !text.empty();
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The same record: equal, or a 15-character id and its 18-character form (same first 15).
bool sameRecord(std::string_view sent, std::string_view answered) {
  if (sent == answered) return true;
  return sent.size() >= 15 && answered.size() >= 15 && sent.substr(0, 15) == answered.substr(0, 15);
}

// The path of the base URL ("/services/data/v62.0"), for path templates without the host.
std::string basePath(std::string_view base_url) {
  size_t scheme = base_url.find("://");
  size_t path = base_url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  return path == std::string_view::npos ? std::string() : std::string(base_url.substr(path));
}

// INVALID_FIELD at request level names the field only in its message: "No such column 'X' on
// sobject of type Account".
std::string unknownColumn(const RecordError& error) {
  constexpr std::string_view kLead = "No such column '";
  if (error.code != "INVALID_FIELD") return {};
  size_t start = error.message.find(kLead);
  if (start == std::string::npos) return {};
  start += kLead.size();
  size_t end = error.message.find('\'', start);
  if (end == std::string::npos) return {};
  return error.message.substr(start, end - start);
}

ApiError refusal(ErrorClass error_class, std::string message, std::string field = {}) {
  ApiError error;
  error.error_class = error_class;
  error.message = std::move(message);
  error.field = std::move(field);
  return error;
}

std::string requestId(const HttpResponse& response) {
  for (std::string_view name : {"sforce-request-id", "x-sfdc-request-id", "x-request-id"}) {
    std::string value = responseHeader(response, name);
    if (!value.empty()) return value;
  }
  return {};
}

class SalesforceAdapter final : public Adapter {
 public:
  explicit SalesforceAdapter(std::string base_url)
      : base_url_(std::move(base_url)), base_path_(basePath(base_url_)) {}

  std::string_view platform() const override { return "salesforce"; }

  std::variant<HttpRequest, ApiError> buildRequest(const WriteRequest& request) const override {
    if (!isName(request.object))
      return refusal(ErrorClass::kUnknownObject,
                     "\"" + request.object + "\" is not a Salesforce sObject type name");
    if (request.rows.empty()) return refusal(ErrorClass::kValidation, "no records to send");
    if (request.rows.size() > kMaxRecords)
      return refusal(ErrorClass::kUnsupported,
                     "Salesforce takes at most 200 records per sObject Collections request; "
                     "split the statement");
    HttpRequest http;
    http.resend_safe = request.operation != Operation::kInsert;
    if (request.operation == Operation::kDelete) {
      if (auto error = buildDelete(request, http)) return *error;
      return http;
    }
    if (auto error = buildSave(request, http)) return *error;
    return http;
  }

  WriteResult parseResponse(const WriteRequest& request,
                            const HttpResponse& response) const override {
    if (response.status < 200 || response.status >= 300) return requestFailure(request, response);
    auto results = salesforce::parseRecordResults(response.body);
    if (!results)
      return badResponse(response, "Salesforce's answer is not an array of save results");
    if (results->size() != request.rows.size())
      return badResponse(response, "Salesforce answered " + std::to_string(results->size()) +
                                       " results for " + std::to_string(request.rows.size()) +
                                       " records");
    return resolve(request, *results, response);
  }

  RetryAdvice adviseRetry(const HttpRequest& request, const HttpResponse& response) const override {
    RetryAdvice advice;
    const std::string& body = response.body;
    // A quota, not a burst: it will not clear within the statement (spec §3).
    if (body.find("REQUEST_LIMIT_EXCEEDED") != std::string::npos) return advice;
    if (response.status == 503) {
      advice.retry = true;
      advice.after_seconds = std::max(kRetrySeconds, retryAfterSeconds(response));
      return advice;
    }
    // UNABLE_TO_LOCK_ROW: with allOrNone nothing was committed, so sending again is safe.
    if (body.find("UNABLE_TO_LOCK_ROW") != std::string::npos && onlyLockFailures(response)) {
      advice.retry = true;
      advice.after_seconds = kRetrySeconds;
      return advice;
    }
    return Adapter::adviseRetry(request, response);
  }

 private:
  // DELETE {base}/composite/sobjects?ids=a,b&allOrNone=true: ids are Salesforce's 15 or 18
  // letters and digits; anything else cannot be written into the comma-separated list.
  std::optional<ApiError> buildDelete(const WriteRequest& request, HttpRequest& http) const {
    http.method = "DELETE";
    http.url = base_url_ + "/composite/sobjects?ids=";
    for (size_t i = 0; i < request.rows.size(); ++i) {
      const std::string& id = request.rows[i].id;
      if (id.empty()) return refusal(ErrorClass::kValidation, "a row to delete has no id", "Id");
      if (!isAlnum(id))
        return refusal(ErrorClass::kBadReference, "\"" + id + "\" is not a Salesforce id", "Id");
      http.url += (i ? "," : "") + id;
    }
    http.url += "&allOrNone=true";
    http.headers = {{"Accept", "application/json"}};
    http.path_template = "DELETE " + base_path_ + "/composite/sobjects?ids={ids}&allOrNone=true";
    return std::nullopt;
  }

  // POST/PATCH {base}/composite/sobjects {"allOrNone":true,"records":[..]}.
  std::optional<ApiError> buildSave(const WriteRequest& request, HttpRequest& http) const {
    bool update = request.operation == Operation::kUpdate;
    http.method = update ? "PATCH" : "POST";
    http.url = base_url_ + "/composite/sobjects";
    http.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    http.path_template = http.method + " " + base_path_ + "/composite/sobjects";
    const std::string attributes = "{\"attributes\":{\"type\":" + jsonQuote(request.object) + "}";
    std::string& body = http.body;
    body = "{\"allOrNone\":true,\"records\":[";
    for (size_t i = 0; i < request.rows.size(); ++i) {
      const Row& row = request.rows[i];
      body += (i ? "," : "") + attributes;
      if (update) {
        if (row.id.empty())
          return refusal(ErrorClass::kValidation, "a row to update has no id", "Id");
        body += ",\"id\":" + jsonQuote(row.id);
      }
      if (auto error = appendFields(row, update, body)) return error;
      body += "}";
    }
    body += "]}";
    return std::nullopt;
  }

  // ,"Name":"Acme",.. : names Salesforce could not take are refused here, before anything is
  // sent. An Id among the fields is the record's own (INSERT: null; UPDATE: unchanged).
  static std::optional<ApiError> appendFields(const Row& row, bool update, std::string& body) {
    for (size_t i = 0; i < row.fields.size(); ++i) {
      const auto& [name, value] = row.fields[i];
      if (!isName(name) || equalsIgnoreCase(name, "attributes"))
        return refusal(ErrorClass::kUnknownField, "\"" + name + "\" is not a Salesforce field name",
                       name);
      if (value.empty())
        return refusal(ErrorClass::kInvalidValue, "no value for field " + name, name);
      for (size_t j = 0; j < i; ++j)
        if (equalsIgnoreCase(row.fields[j].first, name))
          return refusal(ErrorClass::kValidation, "field " + name + " is set twice", name);
      if (equalsIgnoreCase(name, "id")) {
        if (update ? value == jsonQuote(row.id) : value == "null") continue;
        return refusal(ErrorClass::kValidation,
                       update ? "Salesforce cannot change a record's Id"
                              : "Salesforce assigns the Id of a new record",
                       name);
      }
      body += "," + jsonQuote(name) + ":" + value;
    }
    return std::nullopt;
  }

  // A non-2xx: [{"message","errorCode","fields"}]; the whole request was refused.
  static WriteResult requestFailure(const WriteRequest& request, const HttpResponse& response) {
    WriteResult result;
    ApiError& error = result.error;
    error.http_status = response.status;
    error.request_id = requestId(response);
    error.retry_after_seconds = retryAfterSeconds(response);
    RecordError details = salesforce::parseRequestError(response.body).value_or(RecordError{});
    error.error_class =
        salesforce::classifyRequestError(response.status, details, request.operation);
    error.code = details.code;
    error.message =
        details.message.empty() ? "HTTP " + std::to_string(response.status) : details.message;
    error.field = details.fields.empty() ? unknownColumn(details) : details.fields.front();
    if (details.code == "UNABLE_TO_LOCK_ROW") error.retry_after_seconds = kRetrySeconds;
    return result;
  }

  static WriteResult badResponse(const HttpResponse& response, std::string message) {
    WriteResult result;
    result.error.error_class = ErrorClass::kBadResponse;
    result.error.http_status = response.status;
    result.error.message = std::move(message);
    result.error.request_id = requestId(response);
    return result;
  }

  static ApiError recordError(const RecordError& cause, Operation operation,
                              const HttpResponse& response) {
    ApiError error;
    error.error_class = salesforce::classifyRecordError(cause, operation);
    error.http_status = response.status;
    error.message = cause.message;
    error.code = cause.code;
    if (!cause.fields.empty()) error.field = cause.fields.front();
    error.request_id = requestId(response);
    if (cause.code == "UNABLE_TO_LOCK_ROW") error.retry_after_seconds = kRetrySeconds;
    return error;
  }

  // Each element in request order becomes a row outcome; then the statement's verdict.
  static WriteResult resolve(const WriteRequest& request, const std::vector<RecordResult>& results,
                             const HttpResponse& response) {
    WriteResult result;
    size_t applied = 0, gone = 0, rolled_back = 0;
    const ApiError* first_refusal = nullptr;
    result.rows.resize(results.size());
    for (size_t i = 0; i < results.size(); ++i) {
      const RecordResult& answer = results[i];
      RowResult& row = result.rows[i];
      if (answer.success) {
        if (request.operation != Operation::kInsert && !sameRecord(request.rows[i].id, answer.id))
          return badResponse(response, "Salesforce's result " + std::to_string(i) +
                                           " names another record than the one sent");
        row.outcome = RowOutcome::kApplied;
        row.id = request.operation == Operation::kInsert ? answer.id : request.rows[i].id;
        ++applied;
        continue;
      }
      const RecordError* cause = answer.cause();
      if (request.operation != Operation::kInsert) row.id = request.rows[i].id;
      if (cause == nullptr) {
        row.outcome = RowOutcome::kNotApplied;
        row.error = recordError(answer.errors.front(), request.operation, response);
        ++rolled_back;
      } else if (request.operation == Operation::kDelete && cause->code == "ENTITY_IS_DELETED" &&
                 cause->fields.empty()) {
        row.outcome = RowOutcome::kApplied;
        row.notice =
            "Salesforce no longer has " + row.id + " (" + cause->message + "); deleted locally";
        ++gone;
      } else {
        row.outcome = RowOutcome::kRefused;
        row.error = recordError(*cause, request.operation, response);
        if (first_refusal == nullptr) first_refusal = &row.error;
      }
    }
    if (first_refusal == nullptr && rolled_back == 0) {
      result.ok = true;
      return result;
    }
    if (first_refusal != nullptr) {
      result.error = *first_refusal;
    } else if (gone > 0) {
      result.error = rolledBackForGone(response);
    } else {
      // Every record rolled back and none says why: nothing applied, cause unknown.
      result.error = recordError(results.front().errors.front(), request.operation, response);
    }
    // Nothing applied (allOrNone's normal failure): no rows. Otherwise the partial picture.
    if (applied == 0 && gone == 0) result.rows.clear();
    return result;
  }

  static ApiError rolledBackForGone(const HttpResponse& response) {
    ApiError error;
    error.error_class = ErrorClass::kNotFound;
    error.http_status = response.status;
    error.code = "ENTITY_IS_DELETED";
    error.message =
        "some records were already deleted in Salesforce, so allOrNone rolled back the other "
        "deletions; run the statement again";
    error.request_id = requestId(response);
    return error;
  }

  // A 2xx where every real failure is UNABLE_TO_LOCK_ROW and nothing was applied, or a
  // request-level UNABLE_TO_LOCK_ROW.
  static bool onlyLockFailures(const HttpResponse& response) {
    if (response.status < 200 || response.status >= 300) {
      auto error = salesforce::parseRequestError(response.body);
      return response.status < 500 && error && error->code == "UNABLE_TO_LOCK_ROW";
    }
    auto results = salesforce::parseRecordResults(response.body);
    if (!results) return false;
    bool locked = false;
    for (const RecordResult& result : *results) {
      if (result.success) return false;
      const RecordError* cause = result.cause();
      if (cause == nullptr) continue;
      if (cause->code != "UNABLE_TO_LOCK_ROW") return false;
      locked = true;
    }
    return locked;
  }

  std::string base_url_;
  std::string base_path_;
};

}  // namespace

std::unique_ptr<Adapter> makeSalesforceAdapter(std::string base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  return std::make_unique<SalesforceAdapter>(std::move(base_url));
}

}  // namespace apibouncer::adapters
