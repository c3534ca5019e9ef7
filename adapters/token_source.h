// The access token an API's requests carry: a fixed key, or an OAuth2 access token obtained
// from a refresh token and renewed before it expires (from expires_in) or once after the API
// refused it (Salesforce says nothing of lifetimes). Refreshes are serialized: while one is in
// flight, everyone else waits for its answer instead of spending the refresh token again (with
// rotation, a second spend would kill the session). A rotated refresh token is written to
// token_file (atomically, mode 0600) and read back at start, so a restart keeps working.
// Runs on the loop; callbacks run on the loop.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/http/http_client.h"

namespace apibouncer::adapters {

struct OAuthSettings {
  OAuthClient client;         // token_url empty: no OAuth, the fixed key is used
  std::string refresh_token;  // from the config (token_file, when it holds one, wins)
  std::string token_file;     // "" : rotated refresh tokens live in memory only
};

class TokenSource {
 public:
  using Logger = std::function<void(bool warning, const std::string& line)>;
  // token: what goes after "Bearer " ("" : send no Authorization). !ok: `error` says why.
  using Ready = std::function<void(bool ok, const std::string& token, const ApiError& error)>;

  TokenSource(std::string api_name, std::string fixed_key, OAuthSettings oauth, HttpClient& http,
              const Adapter& adapter, Logger logger);

  bool usesOAuth() const { return !oauth_.client.token_url.empty(); }
  // A token valid for at least a minute more, refreshing first if needed.
  void get(double timeout_seconds, Ready ready);
  // The API refused `token`: the next get() refreshes, unless a newer token replaced it already.
  void rejected(const std::string& token);
  int refreshes() const { return refreshes_; }
  // For SHOW APIS, never the token: "api key", "none", "oauth: valid 1740 s", "oauth: valid
  // until refused", "oauth: refreshing", "oauth: no token (last refresh failed: ...)".
  std::string describe() const;

 private:
  void refresh(double timeout_seconds);
  void finishRefresh(bool ok, const ApiError& error);
  void persist(const std::string& refresh_token);

  std::string api_name_;
  std::string fixed_key_;
  OAuthSettings oauth_;
  HttpClient& http_;
  const Adapter& adapter_;
  Logger logger_;
  std::string access_token_;
  std::string refresh_token_;
  double expires_at_ms_ = 0;  // 0: unknown (valid until refused)
  bool refreshing_ = false;
  std::string last_failure_;
  std::vector<Ready> waiting_;
  int refreshes_ = 0;
  uv_loop_t* loop_;
};

}  // namespace apibouncer::adapters
