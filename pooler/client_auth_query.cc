// auth_query for one login: a user missing from auth_file is looked up with auth_query, run as
// auth_user (from auth_file) on a link of that user's pool in auth_dbname (or the client's
// database). The link waits in the pool's queue like any client's and goes back clean.
#include <memory>

#include "pooler/auth/auth_query.h"
#include "pooler/client.h"
#include "pooler/log.h"
#include "pooler/pool.h"
#include "pooler/pooler.h"
#include "pooler/server.h"
#include "pooler/wire/writer.h"

namespace apibouncer {
namespace {

// The exchanges that need a secret: the others (trust, any, cert) never look one up.
bool needsSecret(config::AuthType type) {
  return type == config::AuthType::kPlain || type == config::AuthType::kMd5 ||
         type == config::AuthType::kScramSha256;
}

template <class T>
const T& firstSet(const T& database_value, const T& global_value) {
  return database_value.empty() ? global_value : database_value;
}

}  // namespace

bool ClientSession::startAuthLookup(config::AuthType auth_type) {
  if (!db_) return false;  // console logins (no pool) use auth_file only
  const auto& s = pooler_.settings();
  const std::string& auth_user = firstSet(db_->auth_user, s.auth_user);
  if (auth_user.empty() || !needsSecret(auth_type)) return false;
  // auth_dbname names a [databases] entry whose server runs the query; by default the
  // client's own database does.
  config::DatabaseConfig lookup_db = *db_;
  const std::string& auth_dbname = firstSet(db_->auth_dbname, s.auth_dbname);
  if (!auth_dbname.empty()) {
    auto found = pooler_.config().findDatabase(auth_dbname);
    if (!found) {
      fail(wire::sqlstate::kInvalidCatalogName,
           "auth_dbname \"" + auth_dbname + "\" is not in [databases]", "auth_dbname missing");
      return true;
    }
    lookup_db = std::move(*found);
  }
  auth_lookup_ = std::make_unique<AuthLookup>(
      AuthLookup{auth_type, &pooler_.poolFor(lookup_db, auth_user), nullptr, false, {}});
  LOG_DEBUG("C-%llu %s/%s@%s: not in auth_file, asking auth_query as %s", (unsigned long long)id(),
            database_.c_str(), user_.c_str(), peer_.c_str(), auth_user.c_str());
  wait_start_ms_ = uv_now(loop());
  auth_lookup_->pool->requestServer(this);  // -> onAuthLookupLink, or fail()
  return true;
}

void ClientSession::onAuthLookupLink(ServerLink* server) {
  auth_lookup_->link = server;
  server->linkTo(this);
  const std::string& query =
      firstSet(auth_lookup_->pool->database().auth_query, pooler_.settings().auth_query);
  server->runInternalQuery(
      auth::bindAuthQuery(query, user_),
      [this](bool ok, const std::string& error) { finishAuthLookup(ok, error); });
}

void ClientSession::finishAuthLookup(bool ok, const std::string& error) {
  AuthLookup& lookup = *auth_lookup_;
  ServerLink* server = lookup.link;
  lookup.link = nullptr;
  lookup.answered = true;
  if (ok) lookup.secret = auth::secretFromAuthQueryRow(server->internalFirstRow());
  server->unlink();
  lookup.pool->releaseServer(server, ok);
  if (!ok) {
    LOG_WARNING("C-%llu %s/%s@%s: auth_query failed: %s", (unsigned long long)id(),
                database_.c_str(), user_.c_str(), peer_.c_str(), error.c_str());
    fail(wire::sqlstate::kInvalidAuthorization, "authentication lookup failed (auth_query)",
         "auth_query failed");
    return;
  }
  runAuthExchange(lookup.auth_type, lookup.secret ? &*lookup.secret : nullptr);
  // A message the client sent before it was asked (it waited in inbuf_) is the answer now.
  if (!closing() && state_ == State::kAuth && !inbuf_.empty()) processLoginBuffer();
}

// The client left (or failed) while its lookup waited or ran: stop waiting, and drop a link
// whose query is still running (it is not clean; it must not serve anyone else).
void ClientSession::abandonAuthLookup() {
  if (!auth_lookup_ || auth_lookup_->answered) return;
  auth_lookup_->pool->cancelRequest(this);
  if (ServerLink* server = auth_lookup_->link) {
    auth_lookup_->link = nullptr;
    server->unlink();
    auth_lookup_->pool->releaseServer(server, false);
  }
  auth_lookup_->answered = true;
}

}  // namespace apibouncer
