// What every adapter shares: the default retry rule, the standard OAuth2 refresh exchange, and
// small encoding helpers.
#include "adapters/adapter.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <cstdlib>

namespace apibouncer::adapters {

std::string responseHeader(const HttpResponse& response, std::string_view lower_case_name) {
  for (const auto& [name, value] : response.headers)
    if (name == lower_case_name) return value;
  return {};
}

double retryAfterSeconds(const HttpResponse& response) {
  std::string value = responseHeader(response, "retry-after");
  if (value.empty()) return 0;
  char* end = nullptr;
  double seconds = std::strtod(value.c_str(), &end);
  // An HTTP date is not worth parsing here: no platform in scope sends one on writes.
  if (end == value.c_str() || seconds < 0) return 0;
  return seconds;
}

std::string formEscape(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string jsonQuote(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

RetryAdvice Adapter::adviseRetry(const HttpRequest&, const HttpResponse& response) const {
  RetryAdvice advice;
  double after = retryAfterSeconds(response);
  if ((response.status == 429 || response.status == 503) && after > 0) {
    advice.retry = true;
    advice.after_seconds = after;
  }
  return advice;
}

HttpRequest Adapter::buildTokenRefresh(const OAuthClient& client,
                                       std::string_view refresh_token) const {
  HttpRequest http;
  http.method = "POST";
  http.url = client.token_url;
  http.path_template = "POST {token_url}";
  http.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"Accept", "application/json"}};
  http.body = "grant_type=refresh_token&refresh_token=" + formEscape(refresh_token) +
              "&client_id=" + formEscape(client.client_id);
  if (!client.client_secret.empty())
    http.body += "&client_secret=" + formEscape(client.client_secret);
  // A refresh that may have arrived is not resent: with rotation the first one already used
  // the refresh token up.
  return http;
}

std::variant<TokenGrant, ApiError> Adapter::parseTokenRefresh(const HttpResponse& response) const {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response.body.c_str(), response.body.size());
  auto text = [&](const char* name) -> std::string {
    if (doc.HasParseError() || !doc.IsObject()) return {};
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString()) return {};
    return {it->value.GetString(), it->value.GetStringLength()};
  };
  ApiError error;
  error.http_status = response.status;
  error.request_id = responseHeader(response, "x-request-id");
  // Some token endpoints (GitHub) answer errors with 200: the body decides.
  std::string oauth_error = text("error");
  if (response.status < 200 || response.status >= 300 || !oauth_error.empty()) {
    error.error_class = response.status >= 500 ? ErrorClass::kUnavailable : ErrorClass::kAuth;
    error.code = oauth_error;
    error.message = text("error_description");
    if (error.message.empty()) error.message = text("message");
    if (error.message.empty())
      error.message = "the token endpoint refused the refresh token (HTTP " +
                      std::to_string(response.status) + ")";
    return error;
  }
  TokenGrant grant;
  grant.access_token = text("access_token");
  grant.refresh_token = text("refresh_token");
  if (!doc.HasParseError() && doc.IsObject()) {
    auto it = doc.FindMember("expires_in");
    if (it != doc.MemberEnd()) {
      if (it->value.IsNumber()) grant.expires_in_seconds = it->value.GetDouble();
      if (it->value.IsString()) grant.expires_in_seconds = std::atof(it->value.GetString());
    }
  }
  if (grant.access_token.empty()) {
    error.error_class = ErrorClass::kBadResponse;
    error.message = "the token endpoint's answer has no access_token";
    return error;
  }
  return grant;
}

}  // namespace apibouncer::adapters
