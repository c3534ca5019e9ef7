// The HubSpot adapter (platform = hubspot, adapters-spec §2): CRM v3 objects, one request per
// statement (hubspot_request.cc), answers correlated to rows by id (batch update) or by
// objectWriteTraceId (batch create), never by position: HubSpot does not keep input order.
// Batch update is not atomic: a 207 is a partial success. An input that neither results nor
// errors[] name is kUnknown (HubSpot may or may not have applied it; the others still count).
// Batch archive answers 204 with no detail, so every id counts as archived. Retries follow §6.4:
// 429 burst policies, 423, 502/504 on update/archive; never DAILY, 477, or a create's 5xx.
#include <algorithm>

#include "adapters/hubspot/hubspot_codec.h"

namespace apibouncer::adapters {
namespace {

using hubspot::correlationId;
using hubspot::idText;

WriteResult failure(ApiError error) {
  WriteResult result;
  result.error = std::move(error);
  return result;
}

WriteResult badResponse(const HttpResponse& response, const JsonMembers* body,
                        std::string message) {
  ApiError error;
  error.error_class = ErrorClass::kBadResponse;
  error.http_status = response.status;
  error.message = std::move(message);
  error.request_id = correlationId(body, response);
  return failure(std::move(error));
}

// A record of HubSpot's answer ({"id","properties":{...},...}) as a row: its id and properties.
std::optional<RowResult> recordRow(const JsonMembers& record) {
  const std::string_view* id = findMember(record, "id");
  std::optional<std::string> id_text = id ? idText(*id) : std::nullopt;
  if (!id_text || id_text->empty()) return std::nullopt;
  RowResult row;
  row.id = std::move(*id_text);
  if (const std::string_view* properties = findMember(record, "properties")) {
    auto members = jsonObjectMembers(*properties);
    if (!members) return std::nullopt;
    for (const auto& [name, value] : *members) row.fields.emplace_back(name, std::string(value));
  }
  return row;
}

// Rows in request order once every input has an outcome; the first refused (else unknown)
// row's error is the statement's.
WriteResult settle(std::vector<std::optional<RowResult>> outcomes, const ApiError& unanswered) {
  WriteResult result;
  result.ok = true;
  const ApiError* first_refused = nullptr;
  const ApiError* first_unknown = nullptr;
  for (auto& outcome : outcomes) {
    if (!outcome) {
      outcome = RowResult{RowOutcome::kUnknown, {}, {}, unanswered, {}};
    }
    if (outcome->outcome == RowOutcome::kRefused && !first_refused) first_refused = &outcome->error;
    if (outcome->outcome == RowOutcome::kUnknown && !first_unknown) first_unknown = &outcome->error;
    if (outcome->outcome != RowOutcome::kApplied) result.ok = false;
  }
  if (!result.ok) result.error = first_refused ? *first_refused : *first_unknown;
  for (auto& outcome : outcomes) result.rows.push_back(std::move(*outcome));
  return result;
}

class HubspotAdapter final : public Adapter {
 public:
  explicit HubspotAdapter(std::string base_url) : base_url_(std::move(base_url)) {
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  }

  std::string_view platform() const override { return "hubspot"; }

  std::variant<HttpRequest, ApiError> buildRequest(const WriteRequest& request) const override {
    return hubspot::buildWriteRequest(base_url_, request);
  }

  WriteResult parseResponse(const WriteRequest& request,
                            const HttpResponse& response) const override {
    if (response.status < 200 || response.status >= 300)
      return failure(hubspot::responseError(request, response));
    if (request.operation == Operation::kDelete) return parseArchive(request, response);
    if (request.operation == Operation::kInsert && !hubspot::usesBatchCreate(request))
      return parseSingleCreate(response);
    return parseBatch(request, response);
  }

  RetryAdvice adviseRetry(const HttpRequest& request, const HttpResponse& response) const override {
    RetryAdvice advice;
    double retry_after = retryAfterSeconds(response);
    switch (response.status) {
      case 429:
        // A 429 is refused before anything is applied, so even a create may go again; the
        // burst window is the whole account's, so every request waits.
        if (!hubspot::isDailyLimit(response)) {
          advice.retry = true;
          advice.after_seconds = hubspot::burstWaitSeconds(response);
          advice.pause_api_seconds = advice.after_seconds;
        }
        break;
      case 423:
        advice = {true, std::max(2.0, retry_after), 0};
        break;
      case 502:
      case 504:
        // HubSpot's processing limits: pause and retry. A create may have been applied before
        // the gateway gave up, and HubSpot has no idempotency key: only resend-safe requests.
        if (request.resend_safe) advice = {true, retry_after > 0 ? retry_after : 1, 0};
        break;
      case 477:  // account migration: Retry-After can be hours
        break;
      default:
        advice = Adapter::adviseRetry(request, response);
        break;
    }
    if (responseHeader(response, "x-hubspot-ratelimit-remaining") == "0") {
      double interval = hubspot::rateLimitIntervalSeconds(response);
      advice.pause_api_seconds = std::max(advice.pause_api_seconds, interval > 0 ? interval : 1);
    }
    return advice;
  }

  std::variant<TokenGrant, ApiError> parseTokenRefresh(
      const HttpResponse& response) const override {
    auto parsed = Adapter::parseTokenRefresh(response);
    auto* error = std::get_if<ApiError>(&parsed);
    if (error == nullptr) return parsed;
    // HubSpot: 400 {"status":"BAD_REFRESH_TOKEN","message","correlationId"} (or OAuth's
    // {"error":"invalid_grant"}): the app must be installed again.
    auto body = jsonObjectMembers(response.body);
    if (body) {
      if (error->code.empty()) error->code = hubspot::stringMember(*body, "status");
      if (error->code.empty() || error->code == "error")
        error->code = hubspot::stringMember(*body, "category");
    }
    error->request_id = correlationId(body ? &*body : nullptr, response);
    if (response.status == 429) {
      error->error_class = ErrorClass::kRateLimited;
      error->retry_after_seconds = hubspot::burstWaitSeconds(response);
    }
    return parsed;
  }

 private:
  // 201 {"id","properties":{...},"createdAt",...}
  WriteResult parseSingleCreate(const HttpResponse& response) const {
    auto body = jsonObjectMembers(response.body);
    if (!body) return badResponse(response, nullptr, "HubSpot's answer is not a JSON object");
    if (response.status == 207)
      return badResponse(response, &*body, "HubSpot answered a single create with 207");
    std::optional<RowResult> row = recordRow(*body);
    if (!row) return badResponse(response, &*body, "HubSpot's new record has no id or properties");
    WriteResult result;
    result.ok = true;
    result.rows.push_back(std::move(*row));
    return result;
  }

  // 200/201 {"status","results":[...]} or 207 with "errors":[...] too. Keys: the ids sent
  // (update) or the objectWriteTraceIds (create).
  WriteResult parseBatch(const WriteRequest& request, const HttpResponse& response) const {
    bool by_trace = request.operation == Operation::kInsert;
    std::vector<std::string> keys;
    for (size_t i = 0; i < request.rows.size(); ++i)
      keys.push_back(by_trace ? hubspot::writeTraceId(request, i) : request.rows[i].id);
    auto body = jsonObjectMembers(response.body);
    if (!body) return badResponse(response, nullptr, "HubSpot's answer is not a JSON object");
    const JsonMembers* top = &*body;
    std::string request_id = correlationId(top, response);
    const std::string_view* results_text = findMember(*top, "results");
    const std::string_view* errors_text = findMember(*top, "errors");
    auto results = results_text ? jsonArrayElements(*results_text) : std::nullopt;
    auto errors = errors_text ? jsonArrayElements(*errors_text) : std::nullopt;
    if ((results_text && !results) || (errors_text && !errors) || (!results && !errors))
      return badResponse(response, top, "HubSpot's batch answer has no results[] or errors[]");

    std::vector<std::optional<RowResult>> outcomes(keys.size());
    for (std::string_view item : results.value_or(std::vector<std::string_view>())) {
      auto record = jsonObjectMembers(item);
      std::optional<RowResult> row = record ? recordRow(*record) : std::nullopt;
      if (!row) return badResponse(response, top, "a result in HubSpot's answer has no id");
      std::string key = by_trace ? hubspot::stringMember(*record, "objectWriteTraceId") : row->id;
      bool matched = false;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (keys[i] != key) continue;
        if (outcomes[i]) return badResponse(response, top, "HubSpot answered one input twice");
        outcomes[i] = *row;
        matched = true;
      }
      if (!matched)
        return badResponse(response, top,
                           by_trace
                               ? "a created record's objectWriteTraceId matches no row sent"
                               : "HubSpot answered for id " + row->id + ", which was not sent");
    }
    for (std::string_view item : errors.value_or(std::vector<std::string_view>())) {
      auto entry = hubspot::batchEntryError(item, request.operation, response.status, request_id);
      if (!entry)
        return badResponse(response, top, "an entry of HubSpot's errors[] is not an object");
      for (const std::string& key : by_trace ? entry->trace_ids : entry->ids) {
        for (size_t i = 0; i < keys.size(); ++i) {
          if (keys[i] != key) continue;
          if (outcomes[i] && outcomes[i]->outcome == RowOutcome::kApplied)
            return badResponse(response, top, "HubSpot both applied and refused one input");
          if (!outcomes[i])
            outcomes[i] = RowResult{RowOutcome::kRefused, request.rows[i].id, {}, entry->error, {}};
        }
      }
    }
    ApiError unanswered;
    unanswered.error_class = ErrorClass::kOutcomeUnknown;
    unanswered.http_status = response.status;
    unanswered.request_id = request_id;
    unanswered.message = "HubSpot's answer names this row neither in results nor in errors";
    return settle(std::move(outcomes), unanswered);
  }

  // 204 without a body. A body is read only for an errors[] list (a record HubSpot no longer
  // has is archived all the same: deleting is idempotent).
  WriteResult parseArchive(const WriteRequest& request, const HttpResponse& response) const {
    std::vector<std::optional<RowResult>> outcomes(request.rows.size());
    auto body = jsonObjectMembers(response.body);
    const std::string_view* errors_text = body ? findMember(*body, "errors") : nullptr;
    if (errors_text) {
      auto errors = jsonArrayElements(*errors_text);
      if (!errors) return badResponse(response, &*body, "HubSpot's errors[] is not a list");
      std::string request_id = correlationId(&*body, response);
      for (std::string_view item : *errors) {
        auto entry = hubspot::batchEntryError(item, request.operation, response.status, request_id);
        if (!entry)
          return badResponse(response, &*body, "an entry of HubSpot's errors[] is not an object");
        for (const std::string& id : entry->ids)
          for (size_t i = 0; i < outcomes.size(); ++i)
            if (request.rows[i].id == id && !outcomes[i])
              outcomes[i] = archivedOrRefused(request, i, entry->error);
      }
    }
    for (size_t i = 0; i < outcomes.size(); ++i)
      if (!outcomes[i])
        outcomes[i] = RowResult{RowOutcome::kApplied, request.rows[i].id, {}, {}, {}};
    return settle(std::move(outcomes), ApiError{});
  }

  static RowResult archivedOrRefused(const WriteRequest& request, size_t i, const ApiError& error) {
    const std::string& id = request.rows[i].id;
    if (error.error_class == ErrorClass::kNotFound)
      return RowResult{RowOutcome::kApplied,
                       id,
                       {},
                       {},
                       "HubSpot has no " + request.object + " record " + id +
                           " (already archived); deleted here too"};
    return RowResult{RowOutcome::kRefused, id, {}, error, {}};
  }

  std::string base_url_;
};

}  // namespace

std::unique_ptr<Adapter> makeHubspotAdapter(std::string base_url) {
  return std::make_unique<HubspotAdapter>(std::move(base_url));
}

}  // namespace apibouncer::adapters
