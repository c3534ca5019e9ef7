#include "tools/fakeapi/tokens.h"

#include <rapidjson/document.h>

#include "tools/fakeapi/json.h"

namespace fakeapi {

bool TokenAuthority::accepts(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view token;
  if (authorization.substr(0, kBearer.size()) == kBearer)
    token = authorization.substr(kBearer.size());
  std::lock_guard lock(mutex_);
  if (auto it = access_tokens_.find(token); !token.empty() && it != access_tokens_.end())
    return Clock::now() < it->second;
  if (api_key_.empty()) return true;
  return token == api_key_;
}

TokenAuthority::Refusal TokenAuthority::refresh(std::string_view refresh_token,
                                                std::string_view client_id,
                                                std::string_view client_secret, Grant& grant) {
  std::lock_guard lock(mutex_);
  if (!client_id_.empty() && client_id != client_id_) return Refusal::kUnknownClient;
  if (!client_secret_.empty() && client_secret != client_secret_) return Refusal::kUnknownClient;
  auto it = refresh_tokens_.find(refresh_token);
  if (it == refresh_tokens_.end()) return Refusal::kBadRefreshToken;
  ++refreshes_;
  ++issued_;
  grant.expires_in = expires_in_;
  grant.refresh_token = std::string(refresh_token);
  if (rotate_) {
    // The old pair dies: its refresh token and the access tokens issued alongside it (named
    // after it, below).
    refresh_tokens_.erase(it);
    std::string suffix = "-" + std::string(refresh_token);
    for (auto at = access_tokens_.begin(); at != access_tokens_.end();) {
      const std::string& name = at->first;
      bool from_old = name.size() > suffix.size() &&
                      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
      at = from_old ? access_tokens_.erase(at) : std::next(at);
    }
    grant.refresh_token = "rt-rotated-" + std::to_string(issued_);
    refresh_tokens_.insert(grant.refresh_token);
  }
  grant.access_token = "at-" + std::to_string(issued_) + "-" + grant.refresh_token;
  access_tokens_[grant.access_token] = Clock::now() + std::chrono::seconds(expires_in_);
  return Refusal::kNone;
}

bool TokenAuthority::configure(std::string_view json_body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json_body.data(), json_body.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  auto text = [&](const char* name, std::string& out) {
    const rapidjson::Value* value = findMember(doc, name);
    if (value == nullptr) return true;
    if (!value->IsString()) return false;
    out = value->GetString();
    return true;
  };
  std::string refresh_token, client_id, client_secret;
  if (!text("refresh_token", refresh_token) || !text("client_id", client_id) ||
      !text("client_secret", client_secret))
    return false;
  const rapidjson::Value* expires_in = findMember(doc, "expires_in");
  if (expires_in != nullptr && (!expires_in->IsInt64() || expires_in->GetInt64() <= 0))
    return false;
  const rapidjson::Value* rotate = findMember(doc, "rotate");
  if (rotate != nullptr && !rotate->IsBool()) return false;
  std::lock_guard lock(mutex_);
  if (!refresh_token.empty()) refresh_tokens_.insert(refresh_token);
  client_id_ = client_id;
  client_secret_ = client_secret;
  if (expires_in != nullptr) expires_in_ = static_cast<long>(expires_in->GetInt64());
  if (rotate != nullptr) rotate_ = rotate->GetBool();
  return true;
}

void TokenAuthority::expireAccessTokens() {
  std::lock_guard lock(mutex_);
  for (auto& [token, expiry] : access_tokens_) expiry = Clock::now();
}

std::string TokenAuthority::stats() const {
  std::lock_guard lock(mutex_);
  std::string out = "{\"refreshes\":" + std::to_string(refreshes_) + ",\"refresh_tokens\":[";
  bool first = true;
  for (const auto& token : refresh_tokens_) {
    out += (first ? "\"" : ",\"") + token + "\"";
    first = false;
  }
  return out + "]}";
}

void TokenAuthority::clear() {
  std::lock_guard lock(mutex_);
  client_id_.clear();
  client_secret_.clear();
  expires_in_ = 3600;
  rotate_ = false;
  refresh_tokens_.clear();
  access_tokens_.clear();
  refreshes_ = 0;
}

}  // namespace fakeapi
