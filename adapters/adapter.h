// The whole contract between the interceptor and an upstream API: one write statement becomes
// one WriteRequest (operation, object type, a batch of rows), an adapter turns it into exactly
// one HTTP request, and turns the HTTP response into per-row results (the API's ids and
// normalized fields) or one classified error. Adapters are pure mappings; sending the request
// (libcurl on the loop, retries, rate limits, OAuth refresh) is the shared HTTP client's job.
// Values are JSON text ("\"abc\"", "42", "null"), so this header needs no JSON library.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace apibouncer::adapters {

enum class Operation { kInsert, kUpdate, kDelete };

using Fields = std::vector<std::pair<std::string, std::string>>;  // API field -> JSON text

struct Row {
  std::string id;  // the API's id (update, delete); empty for insert
  Fields fields;   // insert, update
};

struct WriteRequest {
  Operation operation = Operation::kInsert;
  std::string object;  // the API's object type ("customer", "contacts", ...)
  std::vector<Row> rows;
  std::string idempotency_key;  // unique to the statement
};

struct HttpRequest {
  std::string method;  // POST, PATCH, DELETE, ...
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
};

// What went wrong, in the interceptor's terms (it maps each class to a SQLSTATE).
enum class ErrorClass {
  kValidation,   // the API refused the data (400/422)
  kAuth,         // credentials refused (401)
  kForbidden,    // not allowed (403)
  kNotFound,     // a row's id is unknown upstream (404)
  kConflict,     // duplicate or concurrent change (409)
  kRateLimited,  // 429, or retries used up on it
  kUnavailable,  // 5xx: the API failed
  kBadResponse,  // a 2xx the adapter cannot read (contract drift)
};

struct ApiError {
  ErrorClass error_class = ErrorClass::kUnavailable;
  int http_status = 0;
  std::string message;  // the API's own words
  std::string code;     // the API's error code, if any
  std::string field;    // the field it blames, if any
  std::string request_id;
  double retry_after_seconds = 0;  // from Retry-After, 0 if none
};

struct RowResult {
  std::string id;
  Fields fields;  // the API's normalized values, as JSON text
};

struct WriteResult {
  bool ok = false;
  std::vector<RowResult> rows;  // ok: one per request row, in request order
  ApiError error;               // !ok
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  // Exactly one HTTP request for the whole batch, or an error if it cannot be expressed.
  virtual std::variant<HttpRequest, ApiError> buildRequest(const WriteRequest& request) const = 0;
  virtual WriteResult parseResponse(const WriteRequest& request,
                                    const HttpResponse& response) const = 0;
};

// platform = http: the documented generic REST contract (README, "The generic HTTP adapter").
std::unique_ptr<Adapter> makeGenericHttpAdapter(std::string base_url, std::string api_key);

}  // namespace apibouncer::adapters
