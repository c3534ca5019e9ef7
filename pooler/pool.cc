// Pool: opening, handing out, resetting and retiring server links (see pool.h).
#include "pooler/pool.h"

#include "pooler/client.h"
#include "pooler/log.h"
#include "pooler/pooler.h"
#include "pooler/server.h"
#include "pooler/wire/writer.h"

namespace apibouncer {
using config::ms;
namespace {

// Where PostgreSQL listens when a database entry names no host (Debian's default).
constexpr const char* kDefaultSocketDir = "/var/run/postgresql";

}  // namespace

Pool::Pool(Pooler& pooler, config::DatabaseConfig db, std::string server_user)
    : pooler_(pooler),
      stats_(&pooler.stats().forDatabase(db.name)),
      db_(std::move(db)),
      server_user_(std::move(server_user)) {
  applyMode();
}

namespace {

// What a link was logged in with: a change means the links made so far serve the old setup.
bool sameLogin(const config::DatabaseConfig& a, const config::DatabaseConfig& b) {
  return a.dbname == b.dbname && a.hosts == b.hosts && a.port == b.port && a.user == b.user &&
         a.password == b.password && a.connect_query == b.connect_query &&
         a.client_encoding == b.client_encoding && a.datestyle == b.datestyle &&
         a.timezone == b.timezone && a.application_name == b.application_name;
}

}  // namespace

void Pool::updateDatabase(const config::DatabaseConfig& db) {
  bool relogin = !sameLogin(db, db_);
  db_ = db;
  removed_ = false;  // listed again
  applyMode();
  if (!relogin) return;
  // New links log in with the new values (timezone=, datestyle=, ...): clients are welcomed
  // with theirs, not with what the first link of the old configuration reported.
  forgetWelcome();
  // As PgBouncer's close_needed after RELOAD: idle links go now, the others once released
  // (or at once with server_fast_close, see maintain()).
  pooler_.pauseState().retire_before_ms[db_.name] = uv_now(pooler_.loop());
  closeIdle("database configuration changed");
}

void Pool::forgetWelcome() {
  welcome_params_.reset();
  welcome_cache_ = WelcomeCache();
}

Pool::~Pool() = default;

std::string Pool::serverPassword() const {
  if (!db_.password.empty()) return db_.password;
  const auth::Secret* secret = pooler_.authFile().find(server_user_);
  return secret != nullptr ? secret->text : looked_up_secret_;
}

void Pool::applyMode() {
  mode_ = configuredMode();
  int max = pooler_.settings().max_prepared_statements;
  prepared_capacity_ =
      mode_ == config::PoolMode::kSession || max <= 0 ? 0 : static_cast<size_t>(max);
}

config::PoolMode Pool::configuredMode() const {
  const config::UserConfig* user = pooler_.config().findUser(server_user_);
  if (user != nullptr && user->pool_mode) return *user->pool_mode;
  if (db_.pool_mode) return *db_.pool_mode;
  return pooler_.settings().pool_mode;
}

int Pool::poolSize() const {
  return config::userSetOr(pooler_.config().findUser(server_user_), &config::UserConfig::pool_size,
                           config::setOr(db_.pool_size, pooler_.settings().default_pool_size));
}

int Pool::reservePoolSize() const {
  return config::userSetOr(
      pooler_.config().findUser(server_user_), &config::UserConfig::reserve_pool_size,
      config::setOr(db_.reserve_pool_size, pooler_.settings().reserve_pool_size));
}

int Pool::minPoolSize() const {
  return config::setOr(db_.min_pool_size, pooler_.settings().min_pool_size);
}

double Pool::serverLifetime() const {
  return config::setOr(db_.server_lifetime, pooler_.settings().server_lifetime);
}

size_t Pool::connectingCount() const {
  size_t n = 0;
  for (const auto& [link, owned] : servers_)
    if (link->loggingIn()) ++n;
  return n;
}

int Pool::activeCount() const {
  int n = 0;
  for (const auto& [link, owned] : servers_)
    if (link->state() == ServerLink::State::kActive) ++n;
  return n;
}

bool Pool::mayOpenServer(bool use_reserve) const {
  const auto& s = pooler_.settings();
  int size = poolSize();
  if (size > 0) {
    int limit = size + (use_reserve ? reservePoolSize() : 0);
    if (static_cast<int>(servers_.size()) >= limit) return false;
  }
  int max_db = config::setOr(db_.max_db_connections, s.max_db_connections);
  if (max_db > 0 && pooler_.dbCounts(db_.name).servers >= max_db) return false;
  int max_user =
      config::userSetOr(pooler_.config().findUser(server_user_),
                        &config::UserConfig::max_user_connections, s.max_user_connections);
  if (max_user > 0 && pooler_.userCounts(server_user_).servers >= max_user) return false;
  return true;
}

void Pool::openServer() {
  std::string host = kDefaultSocketDir;
  if (!db_.hosts.empty()) {
    size_t index = db_.load_balance_hosts_round_robin ? next_host_++ % db_.hosts.size() : 0;
    host = db_.hosts[index];
  }
  auto transport =
      host.starts_with('/') ? Connection::Transport::kUnix : Connection::Transport::kTcp;
  auto link = std::make_unique<ServerLink>(pooler_.loop(), *this, transport);
  ServerLink* raw = link.get();
  servers_.emplace(raw, std::move(link));
  pooler_.dbCounts(db_.name).servers++;
  pooler_.userCounts(server_user_).servers++;
  raw->connectTo(host, db_.port);
}

void Pool::launchForWaiters() {
  if (removed_) return;
  uint64_t now = uv_now(pooler_.loop());
  if (now < login_failed_until_ms_ || holdingWaiters()) return;
  // Under load the pool is full and clients wait their turn: the limit check comes first
  // because it is cheap, counting the links still logging in is not.
  while (!waiting_.empty()) {
    bool reserve_allowed =
        now - waiting_.front()->waitStartMs() >= ms(pooler_.settings().reserve_pool_timeout);
    if (!mayOpenServer(false) && !(reserve_allowed && mayOpenServer(true))) return;
    if (connectingCount() >= waiting_.size()) return;
    openServer();
  }
}

ServerLink* Pool::takeIdleServer() {
  uint64_t now = uv_now(pooler_.loop());
  double lifetime = serverLifetime();
  while (!idle_.empty()) {
    // LIFO keeps few links warm; server_round_robin spreads the load over all of them.
    ServerLink* server;
    if (pooler_.settings().server_round_robin) {
      server = idle_.front();
      idle_.erase(idle_.begin());
    } else {
      server = idle_.back();
      idle_.pop_back();
    }
    if (lifetime > 0 && now - server->createdAtMs() >= ms(lifetime)) {
      server->disconnect("server lifetime over");
      continue;
    }
    return server;
  }
  return nullptr;
}

void Pool::requestServer(ClientSession* client) {
  if (removed_) {
    client->fail(wire::sqlstate::kProtocolViolation, "database removed", "database removed");
    return;
  }
  // Paused: the client queues until RESUME (query_wait_timeout still applies).
  if (ServerLink* server = holdingWaiters() ? nullptr : takeIdleServer()) {
    checkAndAssign(server, client);
    return;
  }
  // As PgBouncer: while logins fail, a client is refused at once only if the pool has no link
  // that logged in (one of those may free up; a failed login of one more link, say at the
  // server's connection limit, must not turn clients away).
  if (uv_now(pooler_.loop()) < login_failed_until_ms_ && !hasLoggedInLinks(nullptr)) {
    client->fail(wire::sqlstate::kProtocolViolation,
                 "server login has been failing, cached error: " + last_login_error_ +
                     " (server_login_retry)",
                 "server login retry");
    return;
  }
  waiting_.push_back(client);
  launchForWaiters();
}

bool Pool::hasLoggedInLinks(const ServerLink* except) const {
  // A link a RELOAD or RECONNECT retired is closed when released, never handed on.
  uint64_t retired_before = pooler_.pauseState().retireBefore(db_.name);
  for (const auto& [link, owned] : servers_) {
    auto state = link->state();
    if (link != except && link->loggedIn() && state != ServerLink::State::kClosing &&
        link->createdAtMs() > retired_before)
      return true;
  }
  return false;
}

void Pool::cancelRequest(ClientSession* client) {
  waiting_.erase(client);
  for (auto& [server, checked_for] : checking_)
    if (checked_for == client) checked_for = nullptr;
}

// Hands `server` to `client`, first checking it if it sat idle longer than server_check_delay.
void Pool::checkAndAssign(ServerLink* server, ClientSession* client) {
  const auto& s = pooler_.settings();
  uint64_t idle_for = uv_now(pooler_.loop()) - server->lastUsedMs();
  bool check = !s.server_check_query.empty() && idle_for >= ms(s.server_check_delay);
  if (!check) {
    client->onServerAssigned(server);
    return;
  }
  std::string sql = s.server_check_query == "<empty>" ? "" : s.server_check_query;
  checking_[server] = client;
  server->runInternalQuery(sql, [this, server](bool ok, const std::string& error) {
    ClientSession* waiting_client = checking_[server];
    checking_.erase(server);
    if (!ok) {
      LOG_WARNING("S-%llu server check failed: %s", (unsigned long long)server->id(),
                  error.c_str());
      server->disconnect("server check query failed");
      if (waiting_client != nullptr) requestServer(waiting_client);
      return;
    }
    if (waiting_client != nullptr) {
      waiting_client->onServerAssigned(server);
    } else {
      serverReady(server);
    }
  });
}

void Pool::releaseServer(ServerLink* server, bool clean) {
  if (!clean || !server->isClean()) {
    server->disconnect("client disconnected with the server not idle");
    return;
  }
  if (server->cancelInFlight()) {
    server->parkUntilCanceled();  // back here once the cancel is through
    return;
  }
  const auto& s = pooler_.settings();
  bool reset = poolMode() == config::PoolMode::kSession || s.server_reset_query_always;
  if (!reset || s.server_reset_query.empty()) {
    server->becomeIdle();
    serverReady(server);
    return;
  }
  server->runInternalQuery(s.server_reset_query, [this, server](bool ok, const std::string& error) {
    if (!ok) {
      LOG_WARNING("S-%llu server_reset_query failed: %s", (unsigned long long)server->id(),
                  error.c_str());
      server->disconnect("server_reset_query failed");
      return;
    }
    serverReady(server);
  });
}

void Pool::serverReady(ServerLink* server) {
  if (server->state() != ServerLink::State::kIdle) server->becomeIdle();
  uint64_t now = uv_now(pooler_.loop());
  double lifetime = serverLifetime();
  if (lifetime > 0 && now - server->createdAtMs() >= ms(lifetime)) {
    server->disconnect("server lifetime over");
    return;
  }
  if (pooler_.shutdownMode() == ShutdownMode::kWaitForServers) {
    server->disconnect("shutting down");
    return;
  }
  if (paused()) {
    server->disconnect("database paused");
    return;
  }
  if (server->createdAtMs() <= pooler_.pauseState().retireBefore(db_.name)) {
    server->disconnect("reconnect requested");
    return;
  }
  if (!waiting_.empty() && !pooler_.pauseState().suspended) {
    ClientSession* client = waiting_.front();
    waiting_.pop_front();
    client->onServerAssigned(server);
    return;
  }
  server->becomeIdle();
  idle_.push_back(server);
}

void Pool::serverLoginFailed(ServerLink* failed, const std::string& sqlstate,
                             const std::string& message) {
  login_failed_until_ms_ = uv_now(pooler_.loop()) + ms(pooler_.settings().server_login_retry);
  last_login_error_ = message;
  // Waiting clients hear the server's error, unless the pool's links that logged in can still
  // serve them, or the server is starting up (57P03: a retry will get in), as in PgBouncer.
  if (hasLoggedInLinks(failed) || sqlstate == wire::sqlstate::kCannotConnectNow) return;
  failWaiters(sqlstate, message);
}

void Pool::failWaiters(const std::string& sqlstate, const std::string& message) {
  RingQueue<ClientSession*> waiters;
  waiters.swap(waiting_);
  for (ClientSession* client : waiters) client->fail(sqlstate, message, "server login failed");
}

void Pool::serverClosed(ServerLink* server) {
  std::erase(idle_, server);
  auto checked = checking_.find(server);
  ClientSession* orphan = nullptr;
  if (checked != checking_.end()) {
    orphan = checked->second;
    checking_.erase(checked);
  }
  pooler_.dbCounts(db_.name).servers--;
  pooler_.userCounts(server_user_).servers--;
  servers_.erase(server);  // deletes it
  if (orphan != nullptr) requestServer(orphan);
  pooler_.serverSlotFreed();
}

void Pool::maintain(uint64_t now) {
  const auto& s = pooler_.settings();
  if (!servers_.empty() || !waiting_.empty())
    unused_since_ms_ = 0;
  else if (unused_since_ms_ == 0)
    unused_since_ms_ = now;
  if (removed_) return;  // ended with its clients; autodb_idle_timeout may free it
  double connect_timeout = s.server_connect_timeout;
  std::vector<ServerLink*> expired;
  for (const auto& [server, owned] : servers_)
    if (server->loggingIn() && connect_timeout > 0 &&
        now - server->createdAtMs() >= ms(connect_timeout))
      expired.push_back(server);
  for (ServerLink* server : expired)
    server->failLogin(std::string(wire::sqlstate::kConnectionFailure), "server_connect_timeout");

  // A cancel that does not get through in cancel_wait_timeout may still land later: the link
  // it was meant for is not safe to reuse.
  std::vector<ServerLink*> stuck;
  for (const auto& [server, owned] : servers_)
    if (server->parked() && s.cancel_wait_timeout > 0 &&
        now - server->parkedSinceMs() >= ms(s.cancel_wait_timeout))
      stuck.push_back(server);
  for (ServerLink* server : stuck) server->disconnect("cancel_wait_timeout");

  double lifetime = serverLifetime();
  std::vector<ServerLink*> retire;
  size_t keep = static_cast<size_t>(std::max(0, minPoolSize()));
  for (ServerLink* server : idle_) {
    bool idle_too_long = s.server_idle_timeout > 0 &&
                         now - server->lastUsedMs() >= ms(s.server_idle_timeout) &&
                         servers_.size() - retire.size() > keep;
    bool too_old = lifetime > 0 && now - server->createdAtMs() >= ms(lifetime);
    if (idle_too_long || too_old) retire.push_back(server);
  }
  for (ServerLink* server : retire)
    server->disconnect(lifetime > 0 && now - server->createdAtMs() >= ms(lifetime)
                           ? "server lifetime over"
                           : "server idle timeout");

  if (s.server_fast_close && mode_ == config::PoolMode::kSession) closeRetiredSessions();

  // Picked first, acted on after: failing a client, or a notice that fails to send, ends it,
  // and a client that ends leaves waiting_.
  // query_timeout covers the wait too, as in PgBouncer: a query that waits for a link counts
  // from when it arrived.
  std::vector<std::pair<ClientSession*, const char*>> timed_out;
  std::vector<ClientSession*> to_notify;
  for (ClientSession* client : waiting_) {
    uint64_t waited = now - client->waitStartMs();
    uint64_t query_timeout = ms(s.query_timeout);  // the global one, as PgBouncer's janitor
    if (query_timeout > 0 && waited >= query_timeout)
      timed_out.emplace_back(client, "query_timeout");  // PgBouncer's word for a waiting one
    else if (s.query_wait_timeout > 0 && waited >= ms(s.query_wait_timeout))
      timed_out.emplace_back(client, "query_wait_timeout");
    else if (s.query_wait_notify > 0 && waited >= ms(s.query_wait_notify))
      to_notify.push_back(client);
  }
  for (auto [client, reason] : timed_out)
    client->fail(wire::sqlstate::kProtocolViolation, reason, reason);
  for (ClientSession* client : to_notify) client->notifyWaiting();

  if (pooler_.shutdownMode() == ShutdownMode::kNone && now >= login_failed_until_ms_ && !paused()) {
    bool in_use = !waiting_.empty() || activeCount() > 0 || !db_.user.empty();
    while (in_use && static_cast<int>(servers_.size()) < minPoolSize() && mayOpenServer(false))
      openServer();
  }
  launchForWaiters();
}

}  // namespace apibouncer

namespace apibouncer {

void Pool::closeAll() {
  std::vector<ServerLink*> all;
  for (const auto& [server, owned] : servers_) all.push_back(server);
  for (ServerLink* server : all) server->disconnect("shutting down");
}

}  // namespace apibouncer

namespace apibouncer {

std::vector<ServerLink*> Pool::serverLinks() const {
  std::vector<ServerLink*> out;
  out.reserve(servers_.size());
  for (const auto& [server, owned] : servers_) out.push_back(server);
  return out;
}

uint64_t Pool::oldestWaitStartMs() const {
  return waiting_.empty() ? 0 : waiting_.front()->waitStartMs();
}

bool Pool::paused() const {
  return pooler_.pauseState().paused(db_.name);
}

// server_fast_close: a session whose link was marked by RECONNECT or a RELOAD that changed the
// database ends as soon as it sits between transactions, instead of when the client leaves.
// The client is told and disconnected, so it notices that its session is gone.
void Pool::closeRetiredSessions() {
  uint64_t retire_before = pooler_.pauseState().retireBefore(db_.name);
  if (retire_before == 0) return;
  std::vector<ClientSession*> interrupted;
  for (const auto& [server, owned] : servers_)
    if (server->client() != nullptr && server->state() == ServerLink::State::kActive &&
        server->createdAtMs() <= retire_before && !server->busy() && !server->inTransaction())
      interrupted.push_back(server->client());
  for (ClientSession* client : interrupted)
    client->fail(wire::sqlstate::kAdminShutdown,
                 "database configuration changed, session closed (server_fast_close)",
                 "server_fast_close");
}

bool Pool::holdingWaiters() const {
  return paused() || pooler_.pauseState().suspended;
}

void Pool::closeIdle(const char* reason) {
  std::vector<ServerLink*> idle;
  idle.swap(idle_);
  for (ServerLink* server : idle) server->disconnect(reason);
}

bool Pool::hasLinksFrom(uint64_t before_ms) const {
  for (const auto& [server, owned] : servers_)
    if (server->createdAtMs() <= before_ms) return true;
  return false;
}

void Pool::killAll(const char* reason) {
  RingQueue<ClientSession*> waiters;
  waiters.swap(waiting_);
  // PgBouncer's words (its KILL ends the pool as a removed database's).
  for (ClientSession* client : waiters)
    client->fail(wire::sqlstate::kProtocolViolation, "database removed", reason);
  for (ServerLink* server : serverLinks()) {
    if (ClientSession* client = server->client())
      client->fail(wire::sqlstate::kProtocolViolation, "database removed", reason);
    server->disconnect(reason);
  }
}

}  // namespace apibouncer
