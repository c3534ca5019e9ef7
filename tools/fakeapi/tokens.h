// The fake API's credentials: the static key given with --api-key, and OAuth2 access tokens it
// issues from refresh tokens that tests register through /_control/oauth. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace fakeapi {

class TokenAuthority {
 public:
  explicit TokenAuthority(std::string api_key) : api_key_(std::move(api_key)) {}

  // Whether an Authorization header value may call the API: "Bearer <token>" with a token this
  // authority issued and that has not expired, or "Bearer <api_key>" (any Bearer value, or
  // none, when there is no api_key and the token is not one it issued).
  bool accepts(std::string_view authorization) const;

  struct Grant {
    std::string access_token;
    std::string refresh_token;  // the new one when rotating, else the same
    long expires_in = 0;        // seconds
  };
  enum class Refusal { kNone, kUnknownClient, kBadRefreshToken };
  // A refresh-token grant. Client id and secret are checked when a test registered them (an
  // empty secret is not checked). With rotation, the old refresh token and every access token
  // issued from it stop working.
  Refusal refresh(std::string_view refresh_token, std::string_view client_id,
                  std::string_view client_secret, Grant& grant);

  // POST /_control/oauth {"refresh_token","client_id","client_secret","expires_in","rotate"}:
  // registers a refresh token (replacing the settings). Returns false if unusable.
  bool configure(std::string_view json_body);
  void expireAccessTokens();  // POST /_control/oauth/expire: every issued token now gets 401
  std::string stats() const;  // {"refreshes":N,"refresh_tokens":[valid ones]}
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  const std::string api_key_;
  mutable std::mutex mutex_;
  std::string client_id_, client_secret_;
  long expires_in_ = 3600;
  bool rotate_ = false;
  std::set<std::string, std::less<>> refresh_tokens_;
  std::map<std::string, Clock::time_point, std::less<>> access_tokens_;  // -> expiry
  long refreshes_ = 0;
  long issued_ = 0;
};

}  // namespace fakeapi
