#include "adapters/token_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace apibouncer::adapters {
namespace {

// Refresh this long before the announced expiry, so a request never leaves with a token that
// dies on the way.
constexpr double kRefreshMarginMs = 60'000;

std::string readFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

TokenSource::TokenSource(std::string api_name, std::string fixed_key, OAuthSettings oauth,
                         HttpClient& http, const Adapter& adapter, Logger logger)
    : api_name_(std::move(api_name)),
      fixed_key_(std::move(fixed_key)),
      oauth_(std::move(oauth)),
      http_(http),
      adapter_(adapter),
      logger_(std::move(logger)),
      loop_(http.loop()) {
  refresh_token_ = oauth_.refresh_token;
  if (usesOAuth() && !oauth_.token_file.empty()) {
    // The file holds the newest refresh token of a rotating platform: the config's one may
    // have been spent by an earlier run.
    std::string saved = readFirstLine(oauth_.token_file);
    if (!saved.empty()) refresh_token_ = saved;
  }
  // A fixed access token may be configured beside OAuth (api_key): used until it expires.
  if (usesOAuth()) access_token_ = fixed_key_;
}

void TokenSource::get(double timeout_seconds, Ready ready) {
  if (!usesOAuth()) {
    ready(true, fixed_key_, {});
    return;
  }
  double now = static_cast<double>(uv_now(loop_));
  bool fresh =
      !access_token_.empty() && (expires_at_ms_ == 0 || now + kRefreshMarginMs < expires_at_ms_);
  if (fresh && !refreshing_) {
    ready(true, access_token_, {});
    return;
  }
  waiting_.push_back(std::move(ready));
  if (!refreshing_) refresh(timeout_seconds);
}

void TokenSource::rejected(const std::string& token) {
  if (usesOAuth() && token == access_token_) access_token_.clear();
}

void TokenSource::refresh(double timeout_seconds) {
  refreshing_ = true;
  if (refresh_token_.empty()) {
    finishRefresh(false,
                  ApiError{ErrorClass::kAuth, 0, "no refresh_token is configured", {}, {}, {}, 0});
    return;
  }
  HttpRequest request = adapter_.buildTokenRefresh(oauth_.client, refresh_token_);
  uint64_t started = uv_now(loop_);
  // Never retried on a lost connection: with rotation a resent refresh spends the token twice.
  http_.send(std::move(request), timeout_seconds, nullptr, [this, started](HttpOutcome outcome) {
    if (outcome.failure != HttpOutcome::Failure::kNone || !outcome.response) {
      finishRefresh(false, ApiError{ErrorClass::kAuth,
                                    0,
                                    "could not refresh the access token: " + outcome.message,
                                    {},
                                    {},
                                    {},
                                    0});
      return;
    }
    auto grant = adapter_.parseTokenRefresh(*outcome.response);
    if (auto* error = std::get_if<ApiError>(&grant)) {
      ApiError refused = *error;
      if (refused.error_class != ErrorClass::kUnavailable) refused.error_class = ErrorClass::kAuth;
      refused.message = "the token endpoint refused the refresh: " + refused.message;
      finishRefresh(false, refused);
      return;
    }
    const TokenGrant& fresh = std::get<TokenGrant>(grant);
    access_token_ = fresh.access_token;
    double now = static_cast<double>(uv_now(loop_));
    expires_at_ms_ = fresh.expires_in_seconds > 0 ? now + fresh.expires_in_seconds * 1000 : 0;
    ++refreshes_;
    std::string rotated;
    if (!fresh.refresh_token.empty() && fresh.refresh_token != refresh_token_) {
      refresh_token_ = fresh.refresh_token;
      persist(refresh_token_);
      rotated = ", refresh token rotated";
    }
    logger_(false, "api " + api_name_ + ": access token refreshed in " +
                       std::to_string(uv_now(loop_) - started) + " ms" +
                       (fresh.expires_in_seconds > 0
                            ? ", expires in " +
                                  std::to_string(static_cast<long>(fresh.expires_in_seconds)) + " s"
                            : std::string()) +
                       rotated);
    finishRefresh(true, {});
  });
}

std::string TokenSource::describe() const {
  if (!usesOAuth()) return fixed_key_.empty() ? "none" : "api key";
  if (refreshing_) return "oauth: refreshing";
  if (access_token_.empty())
    return last_failure_.empty() ? "oauth: no token yet"
                                 : "oauth: no token (last refresh failed: " + last_failure_ + ")";
  if (expires_at_ms_ == 0) return "oauth: valid until refused";
  double left = (expires_at_ms_ - static_cast<double>(uv_now(loop_))) / 1000;
  return "oauth: valid " + std::to_string(static_cast<long>(std::max(0.0, left))) + " s";
}

void TokenSource::finishRefresh(bool ok, const ApiError& error) {
  refreshing_ = false;
  last_failure_ = ok ? "" : error.message;
  if (!ok) logger_(true, "api " + api_name_ + ": " + error.message);
  std::vector<Ready> waiting;
  waiting.swap(waiting_);
  for (Ready& ready : waiting) ready(ok, access_token_, error);
}

void TokenSource::persist(const std::string& refresh_token) {
  if (oauth_.token_file.empty()) {
    logger_(true, "api " + api_name_ +
                      ": the refresh token rotated and no token_file is set: a restart will "
                      "need a new one");
    return;
  }
  // Written beside and renamed over, so a crash never leaves half a token.
  std::string tmp = oauth_.token_file + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  bool ok = fd >= 0;
  if (ok) {
    std::string line = refresh_token + "\n";
    ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
         ::fsync(fd) == 0;
    ok = ::close(fd) == 0 && ok;
  }
  if (ok) ok = std::rename(tmp.c_str(), oauth_.token_file.c_str()) == 0;
  if (!ok)
    logger_(true, "api " + api_name_ + ": could not write token_file " + oauth_.token_file +
                      ": the rotated refresh token lives in memory only");
}

}  // namespace apibouncer::adapters
