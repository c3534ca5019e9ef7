// The Airtable codec (adapters-spec §1): create, update and delete of at most 10 records in one
// request to {base_url}/{table}, where base_url is .../v0/{baseId}; results by position, checked
// against the ids sent; the 30 s rate-limit lock; OAuth refresh with HTTP Basic client auth.
//
// Field names: Airtable accepts a field's name or its id (fld...) when writing, but answers
// with names unless the request says "returnFieldsByFieldId":true. The interceptor must get the
// fields back under the names it sent, so the flag is sent exactly when every field sent is an
// id; a request mixing ids and names could not be read back and is refused (kUnsupported).
#include <algorithm>
#include <cctype>
#include <optional>

#include "adapters/adapter.h"
#include "adapters/airtable/airtable_codec.h"
#include "adapters/json_text.h"

namespace apibouncer::adapters {
namespace {

using airtable::kMaxRecords;
using airtable::kRateLimitPauseSeconds;

ApiError refusal(ErrorClass error_class, std::string message, std::string field = {}) {
  ApiError error;
  error.error_class = error_class;
  error.message = std::move(message);
  error.field = std::move(field);
  return error;
}

// encodeURIComponent, as Airtable's own client escapes a table name in the path.
std::string pathEscape(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) ||
        std::string_view("-_.!~*'()").find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// "fld" and 14 letters or digits: a field id, not a name.
bool isFieldId(std::string_view name) {
  if (name.size() != 17 || name.substr(0, 3) != "fld") return false;
  for (char c : name.substr(3))
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

enum class FieldNaming { kNames, kIds, kMixed };

FieldNaming namingOf(const WriteRequest& request) {
  bool ids = false, names = false;
  for (const Row& row : request.rows)
    for (const auto& [name, value] : row.fields) (isFieldId(name) ? ids : names) = true;
  if (ids && names) return FieldNaming::kMixed;
  return ids ? FieldNaming::kIds : FieldNaming::kNames;
}

std::string fieldsObject(const Fields& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    const auto& [name, value] = fields[i];
    out += (i ? "," : "") + jsonQuote(name) + ":" + (value.empty() ? "null" : value);
  }
  return out + "}";
}

// The refusal for a request Airtable cannot take, or nullopt.
std::optional<ApiError> checkRequest(const WriteRequest& request) {
  if (request.object.empty())
    return refusal(ErrorClass::kUnknownObject, "no Airtable table id or name (object) is set");
  if (request.rows.empty()) return refusal(ErrorClass::kValidation, "no records to send");
  if (request.rows.size() > kMaxRecords)
    return refusal(ErrorClass::kValidation, "Airtable takes at most 10 records per request, " +
                                                std::to_string(request.rows.size()) +
                                                " were given");
  if (request.operation != Operation::kInsert) {
    for (const Row& row : request.rows)
      if (row.id.empty())
        return refusal(ErrorClass::kValidation, "a row to change has no Airtable record id", "id");
  }
  if (request.operation != Operation::kDelete && namingOf(request) == FieldNaming::kMixed)
    return refusal(ErrorClass::kUnsupported,
                   "Airtable answers with either field ids or field names: map every column of "
                   "the statement to a field id (fld...) or every one to a field name");
  return std::nullopt;
}

std::string writeBody(const WriteRequest& request) {
  std::string body = "{\"records\":[";
  for (size_t i = 0; i < request.rows.size(); ++i) {
    const Row& row = request.rows[i];
    body += i ? ",{" : "{";
    if (request.operation == Operation::kUpdate) body += "\"id\":" + jsonQuote(row.id) + ",";
    body += "\"fields\":" + fieldsObject(row.fields) + "}";
  }
  body += "],\"typecast\":false";
  if (namingOf(request) == FieldNaming::kIds) body += ",\"returnFieldsByFieldId\":true";
  return body + "}";
}

class AirtableAdapter final : public Adapter {
 public:
  explicit AirtableAdapter(std::string base_url) : base_url_(std::move(base_url)) {}

  std::string_view platform() const override { return "airtable"; }

  std::variant<HttpRequest, ApiError> buildRequest(const WriteRequest& request) const override {
    if (auto refused = checkRequest(request)) return *refused;
    HttpRequest http;
    http.url = base_url_ + "/" + pathEscape(request.object);
    http.headers = {{"Accept", "application/json"}};
    // PATCH changes only the fields sent and DELETE of the same ids twice ends the same: only
    // a create may not be sent twice.
    http.resend_safe = request.operation != Operation::kInsert;
    if (request.operation == Operation::kDelete) {
      http.method = "DELETE";
      for (size_t i = 0; i < request.rows.size(); ++i)
        http.url +=
            (i ? "&" : "?") + formEscape("records[]") + "=" + formEscape(request.rows[i].id);
    } else {
      http.method = request.operation == Operation::kInsert ? "POST" : "PATCH";
      http.headers.emplace_back("Content-Type", "application/json");
      http.body = writeBody(request);
    }
    http.path_template = http.method + " /v0/{base}/{table}";
    return http;
  }

  WriteResult parseResponse(const WriteRequest& request,
                            const HttpResponse& response) const override {
    WriteResult result;
    if (response.status < 200 || response.status >= 300) {
      result.error = airtable::parseError(request, response);
      return result;
    }
    auto top = jsonObjectMembers(response.body);
    const std::string_view* records_text = top ? findMember(*top, "records") : nullptr;
    auto records = records_text ? jsonArrayElements(*records_text) : std::nullopt;
    if (!records || records->size() != request.rows.size())
      return bad(result, response, "Airtable's answer does not have one record per row sent");
    for (size_t i = 0; i < records->size(); ++i) {
      std::optional<RowResult> row = readRecord(request, i, (*records)[i]);
      if (!row)
        return bad(result, response,
                   "record " + std::to_string(i) +
                       " of Airtable's answer is not the record sent there "
                       "(not an object, no or another id, or no fields)");
      result.rows.push_back(std::move(*row));
    }
    result.ok = true;
    return result;
  }

  RetryAdvice adviseRetry(const HttpRequest& request, const HttpResponse& response) const override {
    RetryAdvice advice;
    if (response.status == 429) {
      // Nothing was applied; the base is locked for 30 s and every request to it must wait.
      advice.retry = true;
      advice.after_seconds = std::max(kRateLimitPauseSeconds, retryAfterSeconds(response));
      advice.pause_api_seconds = advice.after_seconds;
    } else if (response.status >= 500 && response.status < 600 && request.method != "POST") {
      // A create that failed on the server may have happened: only PATCH and DELETE go again.
      advice.retry = true;
      advice.after_seconds = std::max(1.0, Adapter::adviseRetry(request, response).after_seconds);
    }
    return advice;
  }

  HttpRequest buildTokenRefresh(const OAuthClient& client,
                                std::string_view refresh_token) const override {
    HttpRequest http;
    http.method = "POST";
    http.url = client.token_url;
    http.path_template = "POST /oauth2/v1/token";
    http.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                    {"Accept", "application/json"}};
    http.body = "grant_type=refresh_token&refresh_token=" + formEscape(refresh_token);
    // An integration with a secret authenticates with HTTP Basic, never in the body.
    if (client.client_secret.empty()) {
      http.body += "&client_id=" + formEscape(client.client_id);
    } else {
      http.headers.emplace_back(
          "Authorization",
          "Basic " + airtable::base64Encode(client.client_id + ":" + client.client_secret));
    }
    return http;
  }

  std::variant<TokenGrant, ApiError> parseTokenRefresh(
      const HttpResponse& response) const override {
    auto parsed = Adapter::parseTokenRefresh(response);
    if (auto* error = std::get_if<ApiError>(&parsed); error && response.status == 429) {
      error->error_class = ErrorClass::kRateLimited;
      error->retry_after_seconds = std::max(kRateLimitPauseSeconds, retryAfterSeconds(response));
    }
    return parsed;
  }

 private:
  static WriteResult& bad(WriteResult& result, const HttpResponse& response, std::string message) {
    result.ok = false;
    result.rows.clear();
    result.error = refusal(ErrorClass::kBadResponse, std::move(message));
    result.error.http_status = response.status;
    result.error.request_id = responseHeader(response, "x-request-id");
    return result;
  }

  // Record `index` of the answer, or nullopt if it is not the one sent at that position.
  static std::optional<RowResult> readRecord(const WriteRequest& request, size_t index,
                                             std::string_view text) {
    auto record = jsonObjectMembers(text);
    if (!record) return std::nullopt;
    const std::string_view* id_text = findMember(*record, "id");
    std::optional<std::string> id = id_text ? jsonStringValue(*id_text) : std::nullopt;
    if (!id || id->empty()) return std::nullopt;
    const Row& sent = request.rows[index];
    if (request.operation != Operation::kInsert && *id != sent.id) return std::nullopt;
    RowResult row;
    row.id = *id;
    if (request.operation == Operation::kDelete) {
      const std::string_view* deleted = findMember(*record, "deleted");
      if (!deleted || *deleted != "true") return std::nullopt;
      return row;
    }
    const std::string_view* fields_text = findMember(*record, "fields");
    if (fields_text) {
      auto fields = jsonObjectMembers(*fields_text);
      if (!fields) return std::nullopt;
      for (const auto& [name, value] : *fields) row.fields.emplace_back(name, std::string(value));
    }
    // Airtable leaves out empty values ("", false, []): a field sent but not answered is empty.
    for (const auto& [name, value] : sent.fields) {
      bool answered = false;
      for (const auto& [returned, ignored] : row.fields) answered = answered || returned == name;
      if (!answered) row.fields.emplace_back(name, "null");
    }
    return row;
  }

  std::string base_url_;
};

}  // namespace

std::unique_ptr<Adapter> makeAirtableAdapter(std::string base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  return std::make_unique<AirtableAdapter>(std::move(base_url));
}

}  // namespace apibouncer::adapters
