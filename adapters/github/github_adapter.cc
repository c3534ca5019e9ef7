// The GitHub adapter (platform = github, adapters-spec §5): one POST /graphql per statement,
// each row an aliased createIssue/updateIssue/deleteIssue. GitHub runs the aliases one by one
// and not as a transaction, so the answer is read alias by alias (never by position): some rows
// may be applied while others are refused (partial success).
#include "adapters/github/github_adapter.h"

#include <algorithm>
#include <chrono>

#include "adapters/github/github_errors.h"
#include "adapters/github/github_request.h"
#include "adapters/json_text.h"

namespace apibouncer::adapters {
namespace github {
namespace {

ApiError badResponse(const HttpResponse& response, std::string message) {
  ApiError error;
  error.error_class = ErrorClass::kBadResponse;
  error.http_status = response.status;
  error.message = std::move(message);
  error.request_id = responseHeader(response, "x-github-request-id");
  return error;
}

WriteResult failed(ApiError error) {
  WriteResult result;
  result.error = std::move(error);
  return result;
}

// What the row sent, by input member name (the node id included), to name a blamed field.
Fields sentInput(Operation operation, const Row& row) {
  Fields input;
  if (operation != Operation::kInsert)
    input.emplace_back(shapeOf(operation).id_member, jsonQuote(row.id));
  input.insert(input.end(), row.fields.begin(), row.fields.end());
  return input;
}

// A row's result object (`data.rN`) as an applied row, or why it cannot be read.
std::variant<RowResult, std::string> appliedRow(Operation operation, const Row& row, size_t index,
                                                std::string_view value) {
  auto payload = jsonObjectMembers(value);
  if (!payload) return std::string("its result is not an object");
  if (const std::string_view* echoed = findMember(*payload, "clientMutationId"))
    if (auto text = jsonStringValue(*echoed); text && *text != clientMutationIdOf(index))
      return "its result belongs to " + *text;
  RowResult result;
  if (operation == Operation::kDelete) {
    result.id = row.id;
    return result;
  }
  const std::string_view* issue_text = findMember(*payload, "issue");
  auto issue = issue_text ? jsonObjectMembers(*issue_text) : std::nullopt;
  if (!issue) return std::string("its result has no issue");
  for (const auto& [name, raw] : *issue) {
    if (name != "id") {
      result.fields.emplace_back(name, std::string(raw));
      continue;
    }
    result.id = jsonStringValue(raw).value_or("");
  }
  if (result.id.empty()) return std::string("its issue has no node id");
  if (operation == Operation::kUpdate && result.id != row.id)
    return "its issue is " + result.id + ", not " + row.id;
  return result;
}

const GraphqlError* errorFor(const std::vector<GraphqlError>& errors, std::string_view alias) {
  for (const GraphqlError& error : errors)
    if (error.alias == alias) return &error;
  return nullptr;
}

// An error not tied to any row of this request (no path, or a path naming no alias sent).
const GraphqlError* documentLevel(const std::vector<GraphqlError>& errors, size_t rows) {
  for (const GraphqlError& error : errors) {
    bool known = false;
    for (size_t i = 0; i < rows && !known; ++i) known = error.alias == aliasOf(i);
    if (!known) return &error;
  }
  return nullptr;
}

class GithubAdapter final : public Adapter {
 public:
  GithubAdapter(std::string base_url, Clock clock)
      : url_(graphqlUrl(base_url)), clock_(std::move(clock)) {}

  std::string_view platform() const override { return "github"; }

  std::variant<HttpRequest, ApiError> buildRequest(const WriteRequest& request) const override {
    auto body = mutationBody(request);
    if (auto* error = std::get_if<ApiError>(&body)) return *error;
    HttpRequest http;
    http.method = "POST";
    http.url = url_;
    http.headers = {{"Content-Type", "application/json"},
                    {"Accept", "application/vnd.github+json"},
                    {"X-GitHub-Api-Version", "2022-11-28"},
                    {"User-Agent", "apibouncer"}};
    http.body = std::move(std::get<std::string>(body));
    http.path_template = "POST /graphql";
    // Creating twice makes two issues; setting the same values again or deleting an issue that
    // is gone (NOT_FOUND, a notice) changes nothing more.
    http.resend_safe = request.operation != Operation::kInsert;
    return http;
  }

  WriteResult parseResponse(const WriteRequest& request,
                            const HttpResponse& response) const override {
    if (response.status < 200 || response.status >= 300) return failed(restError(response, clock_));
    auto top = jsonObjectMembers(response.body);
    if (!top) return failed(badResponse(response, "GitHub's answer is not a JSON object"));
    auto errors = graphqlErrors(*top);
    if (!errors) return failed(badResponse(response, "GitHub's errors are not a list of objects"));
    const std::string_view* data_text = findMember(*top, "data");
    std::optional<JsonMembers> data;
    if (data_text != nullptr && *data_text != "null") {
      data = jsonObjectMembers(*data_text);
      if (!data) return failed(badResponse(response, "GitHub's data is not an object"));
    }
    return readRows(request, response, *errors, data ? &*data : nullptr);
  }

  RetryAdvice adviseRetry(const HttpRequest& request, const HttpResponse& response) const override {
    RetryAdvice advice;
    if (restRateLimited(response) || documentRateLimited(response)) {
      // A rate-limited request was not executed: sending it again cannot duplicate anything.
      // The limit is the token's, so every request waits.
      RateLimit limit = rateLimitOf(response, clock_);
      advice.retry = true;
      advice.after_seconds = limit.wait_seconds;
      advice.pause_api_seconds = limit.wait_seconds;
      return advice;
    }
    // A 5xx may come after the mutations ran: only requests without creates are sent again.
    if (!request.resend_safe) return advice;
    if (response.status == 500 || response.status == 502 || response.status == 504) {
      advice.retry = true;
      advice.after_seconds = std::max(retryAfterSeconds(response), 1.0);
      return advice;
    }
    return Adapter::adviseRetry(request, response);
  }

  HttpRequest buildTokenRefresh(const OAuthClient& client,
                                std::string_view refresh_token) const override {
    HttpRequest http = Adapter::buildTokenRefresh(client, refresh_token);
    http.headers.emplace_back("User-Agent", "apibouncer");
    return http;
  }

  // github.com answers refusals with HTTP 200 and {"error":"bad_refresh_token",...}: the
  // default reads the body first; only the request id header differs.
  std::variant<TokenGrant, ApiError> parseTokenRefresh(
      const HttpResponse& response) const override {
    auto parsed = Adapter::parseTokenRefresh(response);
    if (auto* error = std::get_if<ApiError>(&parsed); error && error->request_id.empty())
      error->request_id = responseHeader(response, "x-github-request-id");
    return parsed;
  }

 private:
  // An HTTP 200 whose GraphQL error says the token's points are used up (nothing ran).
  bool documentRateLimited(const HttpResponse& response) const {
    if (response.status < 200 || response.status >= 300) return false;
    auto top = jsonObjectMembers(response.body);
    auto errors = top ? graphqlErrors(*top) : std::nullopt;
    if (!errors) return false;
    // If any alias has a result, something ran: a resend could create it twice.
    if (const std::string_view* data = findMember(*top, "data"))
      if (auto results = jsonObjectMembers(*data))
        for (const auto& [alias, value] : *results)
          if (value != "null") return false;
    for (const GraphqlError& error : *errors)
      if (error.alias.empty() &&
          (isRateLimitType(error.type) || containsNoCase(error.message, "rate limit")))
        return true;
    return false;
  }

  WriteResult readRows(const WriteRequest& request, const HttpResponse& response,
                       const std::vector<GraphqlError>& errors, const JsonMembers* data) const {
    const GraphqlError* document = documentLevel(errors, request.rows.size());
    WriteResult result;
    bool changed = false;  // some mutation ran: GitHub has part of the statement
    for (size_t i = 0; i < request.rows.size(); ++i) {
      const Row& row = request.rows[i];
      std::string alias = aliasOf(i);
      const std::string_view* value = data ? findMember(*data, alias) : nullptr;
      const GraphqlError* own = errorFor(errors, alias);
      RowResult out;
      if (value != nullptr && *value != "null") {
        auto applied = appliedRow(request.operation, row, i, *value);
        changed = true;
        if (auto* ok = std::get_if<RowResult>(&applied)) {
          out = std::move(*ok);
        } else {
          // It ran, but what GitHub holds now cannot be read.
          out.outcome = RowOutcome::kUnknown;
          out.error = badResponse(
              response, "row " + std::to_string(i + 1) + ": " + std::get<std::string>(applied));
        }
      } else if (own != nullptr) {
        if (request.operation == Operation::kDelete && own->type == "NOT_FOUND") {
          out.id = row.id;  // already gone: the goal is reached
          out.notice =
              "GitHub has no issue " + row.id + " (" + own->message + "); it is deleted here only";
        } else {
          out.outcome = RowOutcome::kRefused;
          out.error =
              rowError(*own, request.operation, sentInput(request.operation, row), response);
        }
      } else {
        // Neither a result nor its own error: cut short by a document error, or contract drift.
        out.outcome = RowOutcome::kUnknown;
        out.error = document ? documentError(*document, response, clock_)
                             : badResponse(response, "GitHub's answer has no result for " + alias);
      }
      result.rows.push_back(std::move(out));
    }
    return settle(std::move(result), response, document, changed);
  }

  WriteResult settle(WriteResult result, const HttpResponse& response, const GraphqlError* document,
                     bool changed) const {
    if (!changed && document) return failed(documentError(*document, response, clock_));
    const RowResult* blocking = firstNotApplied(result);
    if (blocking == nullptr) {
      result.ok = true;
      return result;
    }
    bool any_applied =
        std::any_of(result.rows.begin(), result.rows.end(),
                    [](const RowResult& row) { return row.outcome == RowOutcome::kApplied; });
    // Nothing reached GitHub (every row refused), or nothing readable did: no per-row results.
    if (!changed && (!any_applied || blocking->outcome == RowOutcome::kUnknown))
      return failed(blocking->error);
    result.error = blocking->error;  // partial success
    return result;
  }

  // The statement's error: the first refused row's, else the first unknown one's.
  static const RowResult* firstNotApplied(const WriteResult& result) {
    for (const RowResult& row : result.rows)
      if (row.outcome == RowOutcome::kRefused) return &row;
    for (const RowResult& row : result.rows)
      if (row.outcome != RowOutcome::kApplied) return &row;
    return nullptr;
  }

  std::string url_;
  Clock clock_;
};

double systemSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::unique_ptr<Adapter> makeAdapter(std::string base_url, Clock now) {
  return std::make_unique<GithubAdapter>(std::move(base_url), std::move(now));
}

}  // namespace github

std::unique_ptr<Adapter> makeGithubAdapter(std::string base_url) {
  return github::makeAdapter(std::move(base_url), github::systemSeconds);
}

}  // namespace apibouncer::adapters
