// The generic HTTP adapter (platform = http): POST/PATCH/DELETE {base_url}/{object} with
// {"records": [...]} or {"ids": [...]}, bearer token, idempotency key; errors as
// {"error": {"type", "message", "code", "field"}}.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdlib>
#include <string_view>

#include "adapters/adapter.h"
#include "adapters/json_text.h"

namespace apibouncer::adapters {
namespace {

using Json = rapidjson::Value;

std::string jsonString(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return buffer.GetString();
}

std::string_view text(const Json& object, const char* name) {
  if (!object.IsObject()) return {};
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

ErrorClass classFromType(std::string_view type, int status) {
  if (type == "validation") return ErrorClass::kValidation;
  if (type == "auth") return ErrorClass::kAuth;
  if (type == "forbidden") return ErrorClass::kForbidden;
  if (type == "not_found") return ErrorClass::kNotFound;
  if (type == "conflict") return ErrorClass::kConflict;
  if (type == "rate_limited") return ErrorClass::kRateLimited;
  if (type == "unavailable") return ErrorClass::kUnavailable;
  // Unknown or missing type: the status says enough.
  switch (status) {
    case 400:
    case 422:
      return ErrorClass::kValidation;
    case 401:
      return ErrorClass::kAuth;
    case 403:
      return ErrorClass::kForbidden;
    case 404:
      return ErrorClass::kNotFound;
    case 409:
      return ErrorClass::kConflict;
    case 429:
      return ErrorClass::kRateLimited;
    default:
      return ErrorClass::kUnavailable;
  }
}

class GenericHttpAdapter final : public Adapter {
 public:
  explicit GenericHttpAdapter(std::string base_url) : base_url_(std::move(base_url)) {}
  std::string_view platform() const override { return "http"; }

  std::variant<HttpRequest, ApiError> buildRequest(const WriteRequest& request) const override {
    HttpRequest http;
    http.url = base_url_ + "/" + request.object;
    http.headers = {{"Content-Type", "application/json"}};
    if (!request.idempotency_key.empty())
      http.headers.emplace_back("Idempotency-Key", request.idempotency_key);
    std::string& body = http.body;
    if (request.operation == Operation::kDelete) {
      http.method = "DELETE";
      http.path_template = "DELETE /{object}";
      body = "{\"ids\":[";
      for (size_t i = 0; i < request.rows.size(); ++i) {
        if (request.rows[i].id.empty())
          return ApiError{ErrorClass::kValidation, 0, "a row to delete has no id", {}, "id", {}, 0};
        body += (i ? "," : "") + jsonString(request.rows[i].id);
      }
      body += "]}";
      return http;
    }
    http.method = request.operation == Operation::kInsert ? "POST" : "PATCH";
    http.path_template = http.method + " /{object}";
    body = "{\"records\":[";
    for (size_t i = 0; i < request.rows.size(); ++i) {
      const Row& row = request.rows[i];
      body += i ? ",{" : "{";
      bool first = true;
      if (request.operation == Operation::kUpdate) {
        if (row.id.empty())
          return ApiError{ErrorClass::kValidation, 0, "a row to update has no id", {}, "id", {}, 0};
        body += "\"id\":" + jsonString(row.id);
        first = false;
      }
      for (const auto& [field, value] : row.fields) {
        body += (first ? "" : ",") + jsonString(field) + ":" + value;
        first = false;
      }
      body += "}";
    }
    body += "]}";
    return http;
  }

  WriteResult parseResponse(const WriteRequest& request,
                            const HttpResponse& response) const override {
    WriteResult result;
    rapidjson::Document doc;
    // Iterative: an API's deeply nested garbage must not exhaust the stack.
    doc.Parse<rapidjson::kParseIterativeFlag>(response.body.c_str(), response.body.size());
    bool json_ok = !doc.HasParseError() && doc.IsObject();
    if (response.status < 200 || response.status >= 300) {
      ApiError& error = result.error;
      error.http_status = response.status;
      error.request_id = responseHeader(response, "x-request-id");
      error.retry_after_seconds = retryAfterSeconds(response);
      const Json* details = nullptr;
      if (json_ok) {
        auto it = doc.FindMember("error");
        if (it != doc.MemberEnd() && it->value.IsObject()) details = &it->value;
      }
      std::string_view type = details ? text(*details, "type") : std::string_view();
      error.error_class = classFromType(type, response.status);
      error.message = details && !text(*details, "message").empty()
                          ? std::string(text(*details, "message"))
                          : "HTTP " + std::to_string(response.status);
      if (details) {
        error.code = std::string(text(*details, "code"));
        error.field = std::string(text(*details, "field"));
      }
      return result;
    }
    auto bad = [&](std::string message) {
      result.error = ApiError{ErrorClass::kBadResponse,
                              response.status,
                              std::move(message),
                              {},
                              {},
                              responseHeader(response, "x-request-id"),
                              0};
      return result;
    };
    if (!json_ok) return bad("the API answered with something that is not a JSON object");
    if (request.operation == Operation::kDelete) {
      auto it = doc.FindMember("deleted");
      if (it == doc.MemberEnd() || !it->value.IsArray() || it->value.Size() != request.rows.size())
        return bad("the API's answer does not list every deleted id");
      for (const Row& row : request.rows) {
        RowResult applied;
        applied.id = row.id;
        result.rows.push_back(std::move(applied));
      }
      result.ok = true;
      return result;
    }
    // Field values are kept as the API wrote them (adapters/json_text.h).
    auto top = jsonObjectMembers(response.body);
    const std::string_view* records_text = top ? findMember(*top, "records") : nullptr;
    auto records = records_text ? jsonArrayElements(*records_text) : std::nullopt;
    if (!records || records->size() != request.rows.size())
      return bad("the API's answer does not have one record per row sent");
    for (std::string_view record_text : *records) {
      auto record = jsonObjectMembers(record_text);
      if (!record) return bad("a record in the API's answer is not an object");
      RowResult row;
      for (const auto& [name, value] : *record) {
        if (name == "id") {
          row.id = jsonStringValue(value).value_or(std::string(value));
          continue;
        }
        row.fields.emplace_back(name, std::string(value));
      }
      if (row.id.empty() || row.id == "null") return bad("a record in the API's answer has no id");
      result.rows.push_back(std::move(row));
    }
    result.ok = true;
    return result;
  }

 private:
  std::string base_url_;
};

}  // namespace

std::unique_ptr<Adapter> makeGenericHttpAdapter(std::string base_url) {
  return std::make_unique<GenericHttpAdapter>(std::move(base_url));
}

}  // namespace apibouncer::adapters
