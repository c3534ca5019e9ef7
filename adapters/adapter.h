// The whole contract between the interceptor and an upstream API: one write statement becomes
// one WriteRequest (operation, object type, a batch of rows), an adapter turns it into exactly
// one HTTP request (Stripe, which has no batch endpoint: one per row), and turns the HTTP
// response into per-row results (the API's ids and normalized fields) or a classified error.
// Adapters are pure codecs: no I/O, unit-tested against the platforms' documented bodies.
// Sending (libcurl on the loop, auth and OAuth refresh, retries, rate limits) is ApiClient's
// job (api_client.h). Values are JSON text ("\"abc\"", "42", "null"), so this header needs no
// JSON library.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace apibouncer::adapters {

enum class Operation { kInsert, kUpdate, kDelete };

using Fields = std::vector<std::pair<std::string, std::string>>;  // API field -> JSON text

struct Row {
  std::string id;  // the API's id (update, delete); empty for insert
  Fields fields;   // insert, update: the API fields to set (update: only the ones that change)
};

struct WriteRequest {
  Operation operation = Operation::kInsert;
  std::string object;  // the API's object type ("customers", "contacts", "Account", ...)
  std::vector<Row> rows;
  // Unique to the statement; ApiClient derives one per row ("<key>-<row index>") for
  // platforms that send one request per row, so a resend can never apply a row twice.
  std::string idempotency_key;
};

struct HttpRequest {
  std::string method;  // POST, PATCH, DELETE, ...
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // never Authorization: see ApiClient
  std::string body;
  // For logs and stats, without ids or secrets: "POST /v1/{object}", "PATCH /v0/{base}/{table}".
  std::string path_template;
  // Sending it again cannot apply it twice (an idempotency key the API honours, or a request
  // that is idempotent by nature): the client may resend after a connection broke mid-request.
  bool resend_safe = false;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
};

// What went wrong, in the interceptor's terms (api_errors.cc maps each class to a SQLSTATE,
// adapters-spec §7).
enum class ErrorClass {
  kValidation,      // 23514: the API refused the data (400/422)
  kRequiredField,   // 23502: a required field is missing
  kDuplicate,       // 23505: a unique value exists upstream
  kBadReference,    // 23503: a referenced record does not exist
  kTooLong,         // 22001: a value is too long
  kInvalidValue,    // 22023: bad enum option or format
  kUnknownField,    // 42703: the API has no such field (the mirror's columns drifted)
  kUnknownObject,   // 42P01: the API has no such object type / table
  kUnsupported,     // 0A000: the platform cannot do this (DELETE of a Stripe price)
  kAuth,            // 28000: credentials refused (after one refresh)
  kForbidden,       // 42501: not allowed
  kNotFound,        // 40001: a row's id is unknown upstream (404)
  kConflict,        // 409: 23505 if the code says duplicate, else 55P03
  kLocked,          // 55P03: the record is locked upstream, retries used up
  kRateLimited,     // 53000: 429, retries or deadline used up
  kQuotaExhausted,  // 53400: a quota that will not clear within seconds
  kUnavailable,     // 5xx: 08007 for a 500 on a write, else 58000
  kBadResponse,     // 08007: a 2xx the adapter cannot read (contract drift)
  kUnreachable,     // 08001: never connected, nothing sent
  kTimedOut,        // 57014: the deadline passed before anything was sent
  kOutcomeUnknown,  // 08007: sent, then no answer (timeout, connection lost)
};

struct ApiError {
  ErrorClass error_class = ErrorClass::kUnavailable;
  int http_status = 0;
  std::string message;  // the API's own words
  std::string code;     // the API's error code(s), if any
  std::string field;    // the API field it blames, if any
  std::string request_id;
  double retry_after_seconds = 0;  // from Retry-After or the platform's rule, 0 if none
};

enum class RowOutcome {
  kApplied,     // the API has the row: apply it to the table
  kRefused,     // the API refused this row (error says why); nothing of it upstream
  kNotApplied,  // not applied because another row failed (rolled back, or never sent)
  kUnknown,     // sent but unanswered: it may exist upstream (error says why)
};

struct RowResult {
  RowOutcome outcome = RowOutcome::kApplied;
  std::string id;  // the API's id (insert: the new one)
  Fields fields;   // the API's normalized values, as JSON text (may be empty)
  ApiError error;  // kRefused, kUnknown
  // DELETE of an id the API no longer has: the goal is reached, the row is deleted locally and
  // the client gets a NOTICE with this text.
  std::string notice;
};

struct WriteResult {
  // Every row applied. Otherwise `error` is the statement's error; `rows` is empty when the
  // whole request failed (nothing applied), or has one entry per request row, in request order,
  // when the platform applied some rows and refused others (partial success).
  bool ok = false;
  std::vector<RowResult> rows;
  ApiError error;
};

// What to do with a response before it is parsed.
struct RetryAdvice {
  bool retry = false;            // send the same request again (within the statement's deadline)
  double after_seconds = 0;      // wait this long first
  double pause_api_seconds = 0;  // the API asks every request to wait this long (Airtable's 30 s)
};

// OAuth2 refresh-token flow (Salesforce, HubSpot, Airtable, GitHub App user tokens).
struct OAuthClient {
  std::string token_url, client_id, client_secret;
};
struct TokenGrant {
  std::string access_token;
  std::string refresh_token;      // empty: the old one stays valid (no rotation)
  double expires_in_seconds = 0;  // 0: not said (Salesforce): refresh on 401
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string_view platform() const = 0;  // "stripe", "hubspot", ...

  // true: the platform has no batch endpoint; ApiClient calls buildRequest/parseResponse once
  // per row (a WriteRequest of one row each, with a per-row idempotency key), sends the
  // requests concurrently and merges the results (partial success possible).
  virtual bool oneRequestPerRow() const { return false; }

  // Exactly one HTTP request for the whole batch, or an error if it cannot be expressed (no
  // request is sent then).
  virtual std::variant<HttpRequest, ApiError> buildRequest(const WriteRequest& request) const = 0;
  virtual WriteResult parseResponse(const WriteRequest& request,
                                    const HttpResponse& response) const = 0;

  // Whether to send again: default, 429/503 with Retry-After. Platforms add their rules
  // (adapters-spec §6.4): only where a resend cannot duplicate a write.
  virtual RetryAdvice adviseRetry(const HttpRequest& request, const HttpResponse& response) const;
  // Whether the response says the access token expired or was refused (refresh and retry once).
  virtual bool tokenRejected(const HttpResponse& response) const { return response.status == 401; }

  // The token endpoint's refresh request, and its answer. Default: RFC 6749 form body
  // (grant_type, refresh_token, client_id, client_secret), JSON answer, 4xx -> kAuth.
  virtual HttpRequest buildTokenRefresh(const OAuthClient& client,
                                        std::string_view refresh_token) const;
  virtual std::variant<TokenGrant, ApiError> parseTokenRefresh(const HttpResponse& response) const;
};

// One factory per platform; base_url is the [api.NAME] base_url, without a trailing slash.
// platform = http: the documented generic REST contract (README, "The generic HTTP adapter").
std::unique_ptr<Adapter> makeGenericHttpAdapter(std::string base_url);
std::unique_ptr<Adapter> makeStripeAdapter(std::string base_url);      // .../v1
std::unique_ptr<Adapter> makeSalesforceAdapter(std::string base_url);  // .../services/data/vNN.0
std::unique_ptr<Adapter> makeHubspotAdapter(std::string base_url);     // https://api.hubapi.com
std::unique_ptr<Adapter> makeAirtableAdapter(std::string base_url);    // .../v0/{baseId}
std::unique_ptr<Adapter> makeGithubAdapter(std::string base_url);      // https://api.github.com

// Helpers every codec needs, in adapter.cc.
// "Retry-After" as seconds (delta-seconds only), or 0.
double retryAfterSeconds(const HttpResponse& response);
// The value of a response header (names are lower case), or "".
std::string responseHeader(const HttpResponse& response, std::string_view lower_case_name);
// application/x-www-form-urlencoded escaping of one key or value.
std::string formEscape(std::string_view text);
// A JSON string literal for `text`.
std::string jsonQuote(std::string_view text);

}  // namespace apibouncer::adapters
