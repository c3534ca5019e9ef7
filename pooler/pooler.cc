// Pooler: listeners, the client registry, cancel routing, pools, upkeep and shutdown.
#include "pooler/pooler.h"

#include <openssl/rand.h>

#include <algorithm>
#include <unordered_set>

#include "pooler/admin/admin_commands.h"
#include "pooler/admin/show_commands.h"
#include "pooler/cancel.h"
#include "pooler/client.h"
#include "pooler/listener.h"
#include "pooler/log.h"
#include "pooler/metrics/prometheus_text.h"
#include "pooler/peer_cancel.h"
#include "pooler/pool.h"
#include "pooler/server.h"
#include "pooler/socket_address.h"
#include "pooler/socket_options.h"
#include "pooler/systemd_notify.h"
#include "pooler/wire/writer.h"

namespace apibouncer {
using config::ms;
namespace {

constexpr uint64_t kJanitorIntervalMs = 250;

// Cancel keys must be unguessable, but a RAND_bytes call per login costs more than the rest of
// the key's handling (OpenSSL checks for a fork on every call): keys are drawn 64 at a time.
uint64_t randomCancelKey() {
  static uint64_t batch[64];
  static size_t left = 0;
  if (left == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(batch), sizeof batch) != 1) return uv_hrtime();
    left = std::size(batch);
  }
  uint64_t key = batch[--left];
  batch[left] = 0;  // a key handed out does not stay in memory twice
  return key;
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text + ",") {
    if (c == ',') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else if (c != ' ' && c != '\t') {
      item += c;
    }
  }
  return out;
}

std::string peerName(uv_stream_t* stream, bool unix_socket) {
  if (unix_socket) return "unix";
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getpeername(reinterpret_cast<uv_tcp_t*>(stream), reinterpret_cast<sockaddr*>(&addr),
                         &len) != 0)
    return "?";
  std::string host = ipText(addr);
  return (host.empty() ? "?" : host) + ":" + std::to_string(portOf(addr));
}

}  // namespace

Pooler::Pooler(uv_loop_t* loop, std::shared_ptr<const config::Config> config,
               auth::AuthFile auth_file)
    : loop_(loop),
      dns_(loop),
      config_(std::move(config)),
      tracked_names_(apibouncer::trackedParameterNames(config_->settings.track_extra_parameters)),
      auth_file_(std::move(auth_file)) {
  Connection::setFullReadsPerTurn(config_->settings.sbuf_loopcnt);
}

Pooler::~Pooler() = default;

bool Pooler::start(std::string& error) {
  const auto& s = settings();
  for (const std::string& item : splitList(s.listen_addr)) {
    // "*" means every IPv4 and IPv6 address, as in PgBouncer; a host without IPv6 keeps IPv4.
    bool wildcard = item == "*";
    for (const std::string& address :
         wildcard ? std::vector<std::string>{"0.0.0.0", "::"} : std::vector<std::string>{item}) {
      auto* listener = new Listener(*this);
      if (!listener->listenTcp(address, s, error)) {
        listener->closeAndDelete();
        if (wildcard && address == "::") {
          LOG_WARNING("%s", error.c_str());
          error.clear();
          continue;
        }
        return false;
      }
      listeners_.push_back(listener);
      LOG_INFO("listening on %s", listener->description().c_str());
    }
  }
  if (!s.unix_socket_dir.empty() && !s.unix_socket_dir.starts_with('@')) {
    auto* listener = new Listener(*this);
    std::string path = s.unix_socket_dir + "/.s.PGSQL." + std::to_string(s.listen_port);
    if (!listener->listenUnix(path, s, error)) {
      listener->closeAndDelete();
      return false;
    }
    listeners_.push_back(listener);
    LOG_INFO("listening on unix:%s", path.c_str());
  }
  if (listeners_.empty()) {
    error = "nothing to listen on: set listen_addr or unix_socket_dir";
    return false;
  }
  started_at_ms_ = uv_now(loop_);
  janitor_ = new uv_timer_t;
  uv_timer_init(loop_, janitor_);
  janitor_->data = this;
  uv_timer_start(
      janitor_, [](uv_timer_t* t) { static_cast<Pooler*>(t->data)->runMaintenance(); },
      kJanitorIntervalMs, kJanitorIntervalMs);
  return true;
}

namespace {

std::string conninfoValue(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

void Pooler::configureMetrics(int port) {
  if (port == metrics_port_ && (port == 0 || metrics_)) return;
  metrics_.reset();
  metrics_port_ = port;
  if (port == 0) return;
  // The pooler's first listen_addr ("*" = every interface), else loopback only.
  std::string host = "127.0.0.1";
  auto addresses = splitList(settings().listen_addr);
  if (!addresses.empty()) host = addresses.front() == "*" ? "0.0.0.0" : addresses.front();
  auto server = std::make_unique<metrics::MetricsServer>(loop_, [this] { return renderMetrics(); });
  std::string error;
  if (!server->listen(host, port, error)) {
    LOG_ERROR("%s", error.c_str());
    return;
  }
  LOG_INFO("metrics on http://%s:%d/metrics", host.c_str(), server->port());
  metrics_ = std::move(server);
}

// The console's figures, so dashboards and the console never disagree.
std::string Pooler::renderMetrics() {
  struct Source {
    const char* show;
    const char* prefix;
    bool counters;
  };
  static constexpr Source kSources[] = {
      {"lists", "apibouncer_lists", false},
      {"pools", "apibouncer_pools", false},
      {"stats_totals", "apibouncer_stats", true},
      {"apis", "apibouncer_api", false},
      {"synced_tables", "apibouncer_synced_table", false},
  };
  std::string out;
  for (const Source& source : kSources)
    if (auto rows = admin::showRows(*this, source.show))
      metrics::appendResultSet(out, source.prefix, *rows, source.counters, {"token_state"});
  return out;
}

void Pooler::configureInterceptor(const interceptor::SyncConfig& sync) {
  configureMetrics(sync.settings.metrics_port);
  if (sync.empty() && !interceptor_) return;  // no synced tables: nothing is ever parsed
  if (!interceptor_) {
    // The write pool reaches the same servers as the database's pools, as writer_user.
    auto connector = [this](const std::string& database, const std::string& user,
                            std::string& error) -> std::optional<std::string> {
      auto it = config_->databases.find(database);
      if (it == config_->databases.end()) it = config_->databases.find("*");
      if (it == config_->databases.end()) {
        error = "database \"" + database + "\" is not in [databases]";
        return std::nullopt;
      }
      const config::DatabaseConfig& db = it->second;
      std::string info =
          "host=" + conninfoValue(db.hosts.empty() ? "/var/run/postgresql" : db.hosts.front()) +
          " port=" + std::to_string(db.port) +
          " dbname=" + conninfoValue(db.dbname.empty() ? database : db.dbname) +
          " user=" + conninfoValue(user) +
          " application_name='apibouncer writer' connect_timeout=10";
      std::string password = db.user == user ? db.password : "";
      if (password.empty())
        if (const auth::Secret* secret = auth_file_.find(user)) password = secret->text;
      if (!password.empty()) info += " password=" + conninfoValue(password);
      return info;
    };
    auto logger = [](bool warning, const std::string& line) {
      if (warning)
        LOG_WARNING("%s", line.c_str());
      else
        LOG_INFO("%s", line.c_str());
    };
    interceptor_ = std::make_unique<interceptor::Interceptor>(loop_, connector, logger);
    interceptor_->setIdleCallback([this] { checkShutdownProgress(); });
  }
  interceptor_->configure(sync);
  if (!sync.empty())
    LOG_INFO("%zu synced table(s): writes to them go to their API first", sync.tables.size());
}

void Pooler::replaceConfig(std::shared_ptr<const config::Config> config, auth::AuthFile auth_file) {
  std::shared_ptr<const config::Config> old = std::move(config_);
  config_ = std::move(config);
  tracked_names_ = apibouncer::trackedParameterNames(config_->settings.track_extra_parameters);
  auth_file_ = std::move(auth_file);
  Connection::setFullReadsPerTurn(config_->settings.sbuf_loopcnt);
  // Pools learn their database's new entry now, not at the next login: a changed address or
  // login retires the links made for the old one (Pool::updateDatabase). As in PgBouncer, the
  // clients and links of a database the new config no longer lists are ended, even where "*"
  // would take the name; pools the "*" entry made are left to autodb_idle_timeout.
  std::vector<Pool*> removed;
  for (auto& [key, pool] : pools_) {
    const std::string& name = pool->database().name;
    if (old && old->databases.contains(name) && !config_->databases.contains(name)) {
      pool->markRemoved();
      removed.push_back(pool.get());
    } else if (auto db = config_->findDatabase(name)) {
      pool->updateDatabase(*db);
    }
  }
  if (!removed.empty()) killPools(removed, "database removed");
}

// Every client of `pools` (waiting, linked, or idle between transactions) and every link of
// them goes now, with PgBouncer's words for it.
void Pooler::killPools(const std::vector<Pool*>& pools, const char* reason) {
  std::vector<ClientSession*> victims;
  for (const auto& [raw, client] : clients_)
    if (client->pool() != nullptr &&
        std::find(pools.begin(), pools.end(), client->pool()) != pools.end())
      victims.push_back(raw);
  for (Pool* pool : pools) pool->killAll(reason);
  for (ClientSession* client : victims)
    client->fail(wire::sqlstate::kProtocolViolation, "database removed", reason);
}

void Pooler::acceptClient(uv_stream_t* listener, bool unix_socket) {
  auto transport = unix_socket ? Connection::Transport::kUnix : Connection::Transport::kTcp;
  auto client = std::make_unique<ClientSession>(*this, transport);
  if (uv_accept(listener, client->stream()) != 0) {
    ClientSession* raw = client.release();
    clients_.emplace(raw, std::unique_ptr<ClientSession>(raw));
    raw->disconnect("accept failed");
    return;
  }
  const auto& s = settings();
  if (!unix_socket) applyTcpOptions(reinterpret_cast<uv_tcp_t*>(client->stream()), s);
  std::string peer = peerName(client->stream(), unix_socket);
  ClientSession* raw = client.get();
  clients_.emplace(raw, std::move(client));
  raw->start(peer);
}

void Pooler::clientClosed(ClientSession* client) {
  if (client->cancelKey() != 0) cancel_keys_.erase(client->cancelKey());
  clients_.erase(client);
  checkShutdownProgress();
}

uint64_t Pooler::registerCancelKey(ClientSession* client) {
  uint64_t key = 0;
  do {
    key = peering::stampKey(randomCancelKey(), settings().peer_id);
  } while (key == 0 || cancel_keys_.contains(key));
  cancel_keys_.emplace(key, client);
  return key;
}

void Pooler::forwardCancel(uint32_t pid, uint32_t key) {
  uint64_t full = (uint64_t{pid} << 32) | key;
  int own_id = settings().peer_id;
  auto it = cancel_keys_.find(own_id > 0 ? peering::asHandedOut(full) : full);
  if (it == cancel_keys_.end()) {
    if (own_id > 0 && peering::peerOf(full) != own_id) {
      forwardCancelToPeer(full);
      return;
    }
    LOG_DEBUG("cancel request for an unknown key ignored");
    return;
  }
  // A synced write runs on a write link, not on the client's: it is the query to cancel.
  if (it->second->writeStartedMs() != 0) {
    it->second->cancelWrite();
    return;
  }
  // Only a link that is running this client's query gets the cancel; a client without one, or
  // whose link sits between queries, has nothing running.
  ServerLink* server = it->second->server();
  if (server != nullptr && (server->busy() || server->extendedOpen())) cancelServerQuery(*server);
}

// Peering: the key was handed out by another process of the group.
void Pooler::forwardCancelToPeer(uint64_t key) {
  int peer_id = peering::peerOf(key);
  auto peer = config_->peers.find(peer_id);
  if (peer == config_->peers.end()) {
    LOG_DEBUG("cancel request for unknown peer %d ignored", peer_id);
    return;
  }
  if (peering::hopsLeft(key) == 0) {
    LOG_WARNING("cancel request for peer %d dropped: forwarded too often (check [peers])", peer_id);
    return;
  }
  std::shared_ptr<int>& in_flight = peer_cancels_in_flight_[peer_id];
  if (!in_flight) in_flight = std::make_shared<int>(0);
  int limit = peer->second.pool_size >= 0 ? peer->second.pool_size : settings().default_pool_size;
  if (*in_flight >= limit) {
    LOG_WARNING("cancel request for peer %d dropped: %d already on their way (pool_size)", peer_id,
                *in_flight);
    return;
  }
  LOG_DEBUG("forwarding a cancel request to peer %d", peer_id);
  peering::forward(*this, peer->second, peering::withOneHopLess(key), in_flight);
}

int Pooler::peerCancelsInFlight(int peer_id) const {
  auto it = peer_cancels_in_flight_.find(peer_id);
  return it == peer_cancels_in_flight_.end() ? 0 : *it->second;
}

void Pooler::cancelServerQuery(ServerLink& link) {
  ServerLink* server = &link;
  if (server->state() != ServerLink::State::kActive) return;
  if (server->transport() == Connection::Transport::kUnix) {
    std::string path = server->addressHost() + "/.s.PGSQL." + std::to_string(server->addressPort());
    CancelLink::send(loop_, nullptr, path, *server);
    return;
  }
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getpeername(reinterpret_cast<uv_tcp_t*>(server->stream()),
                         reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return;
  CancelLink::send(loop_, reinterpret_cast<sockaddr*>(&addr), {}, *server);
}

Pool& Pooler::poolFor(const config::DatabaseConfig& db, const std::string& server_user) {
  std::string key = db.name + '\0' + server_user;
  auto it = pools_.find(key);
  // An existing pool already has the current entry: replaceConfig() hands it over at RELOAD.
  if (it == pools_.end())
    it = pools_.emplace(key, std::make_unique<Pool>(*this, db, server_user)).first;
  return *it->second;
}

bool Pooler::reload(std::string& error) {
  if (!reloader_) {
    error = "reload is not available";
    return false;
  }
  return reloader_(error);
}

void Pooler::serverSlotFreed() {
  if (shutdown_mode_ != ShutdownMode::kNone) {
    checkShutdownProgress();
    return;
  }
  for (auto& [key, pool] : pools_)
    if (pool->waitingCount() > 0) pool->launchForWaiters();
}

int Pooler::activeServerCount() const {
  int n = 0;
  for (const auto& [key, pool] : pools_) n += pool->activeCount();
  return n;
}

void Pooler::runMaintenance() {
  uint64_t now = uv_now(loop_);
  // Suspended, nothing is timed out or opened (as PgBouncer skips its maintenance): the
  // clients cannot act, so their timeouts would only punish them for the operator's SUSPEND.
  if (pause_.suspended) {
    dropUnflushedAfterSuspendTimeout(now);
  } else {
    std::vector<std::pair<ClientSession*, const char*>> expired;
    for (auto& [raw, client] : clients_)
      if (const char* reason = checkClientLimits(*client, now)) expired.emplace_back(raw, reason);
    for (auto [client, reason] : expired)
      client->fail(wire::sqlstate::kProtocolViolation, reason, reason);
    for (auto& [key, pool] : pools_) pool->maintain(now);
    if (settings().autodb_idle_timeout > 0) freeUnusedAutoPools(now);
  }
  bool rolled = stats_.maybeRoll(now, ms(settings().stats_period));
  admin::answerFinishedWaits(*this);
  if (rolled && settings().log_stats) logStats();
  checkShutdownProgress();
}

// log_stats: every stats_period, PgBouncer's line per database (averages over the period),
// then one line per [api.NAME] (totals since start, or since the API's config changed).
void Pooler::logStats() {
  stats_.forEach([](const StatsRegistry::Row& row) {
    const DatabaseStats& a = row.averages;
    LOG_INFO(
        "stats: %s: %llu xacts/s, %llu queries/s, %llu client parses/s, %llu server parses/s, "
        "%llu binds/s, in %llu B/s, out %llu B/s, xact %llu us, query %llu us, wait %llu us",
        row.database->c_str(), (unsigned long long)a.xact_count, (unsigned long long)a.query_count,
        (unsigned long long)a.client_parse_count, (unsigned long long)a.server_parse_count,
        (unsigned long long)a.bind_count, (unsigned long long)a.bytes_received,
        (unsigned long long)a.bytes_sent, (unsigned long long)a.xact_time_us,
        (unsigned long long)a.query_time_us, (unsigned long long)a.wait_time_us);
  });
  if (!interceptor_) return;
  for (const auto& row : interceptor_->apiStats()) {
    const auto& s = row.stats;
    uint64_t average = s.requests > 0 ? s.total_ms / s.requests : 0;
    LOG_INFO(
        "api stats: %s (%s): %llu requests, %llu failed, %llu retries, %llu rate limited, "
        "%llu ms throttled, avg %llu ms, p50 %llu ms, p99 %llu ms, last status %d, %zu in "
        "flight, token %s",
        row.name.c_str(), row.platform.c_str(), (unsigned long long)s.requests,
        (unsigned long long)s.failed, (unsigned long long)s.retries,
        (unsigned long long)s.rate_limited, (unsigned long long)s.throttled_ms,
        (unsigned long long)average, (unsigned long long)s.p50_ms, (unsigned long long)s.p99_ms,
        s.last_status, s.in_flight, s.token_state.c_str());
  }
}

// The timeout `client` ran into (it gets disconnected), or nullptr. query_timeout only cancels
// the running query. [users] values above 0 override [pgbouncer]'s.
const char* Pooler::checkClientLimits(ClientSession& client, uint64_t now) {
  const auto& s = settings();
  auto state = client.state();
  if (state == ClientSession::State::kStartup || state == ClientSession::State::kAuth) {
    bool late =
        s.client_login_timeout > 0 && now - client.connectedAtMs() >= ms(s.client_login_timeout);
    return late ? "client_login_timeout" : nullptr;
  }
  // Authenticated, but waiting for the pool's first link to be welcomed: PgBouncer counts this
  // against client_login_timeout too, as the server being down.
  if (!client.welcomed() && !client.isAdminConsole() &&
      state == ClientSession::State::kWaitingLink && client.pool() != nullptr &&
      client.pool()->welcomeParameters() == nullptr && s.client_login_timeout > 0 &&
      now - client.connectedAtMs() >= ms(s.client_login_timeout))
    return "client_login_timeout (server down)";
  // As PgBouncer: the client's own [users] entry times its idling; what runs on its link is
  // timed by the entry of the user the link logs in as (a database's forced user, say).
  const config::UserConfig* user = config_->findUser(client.userName());
  const config::UserConfig* link_user =
      client.pool() != nullptr ? config_->findUser(client.pool()->serverUser()) : user;
  auto limit = [&](const config::UserConfig* entry, double config::UserConfig::*member,
                   double global) { return ms(config::userTimeoutOr(entry, member, global)); };
  ServerLink* server = client.server();
  bool linked = state == ClientSession::State::kActive && server != nullptr &&
                server->state() == ServerLink::State::kActive;
  uint64_t query_timeout = limit(link_user, &config::UserConfig::query_timeout, s.query_timeout);
  if (uint64_t write_started = client.writeStartedMs(); write_started != 0) {
    // A synced write is the running query, and the client is not idle meanwhile. Its link, if
    // it has one, waits for the write: nothing runs there to time out. A cancel may end the
    // write at once and release the link, so `server` is not used after it.
    if (query_timeout > 0 && now - write_started >= query_timeout)
      client.cancelWrite();  // repeated each check; the write takes the first
    return nullptr;
  }
  uint64_t idle_timeout =
      limit(user, &config::UserConfig::client_idle_timeout, s.client_idle_timeout);
  // As in PgBouncer, only a client without a link idles: a session-pooling client that holds
  // its link (a LISTEN that waits for notifications, say) stays, and so do admin consoles.
  bool idle = state == ClientSession::State::kLoggedIn && !client.isAdminConsole();
  if (idle && idle_timeout > 0 && now - client.lastActivityMs() >= idle_timeout)
    return "client_idle_timeout";
  if (!linked) return nullptr;
  // An Execute sent with Flush and no Sync counts as running (pipeline mode), as for cancel
  // requests. The query is canceled first; if that does not end it within another
  // query_timeout (the server ignores a cancel while it waits for the client's next message,
  // and a client that never sends its Sync would keep the link for good), the client goes,
  // as PgBouncer's query_timeout does at once.
  bool running = server->busy() || server->extendedOpen();
  if (query_timeout > 0 && running) {
    if (!server->cancelSent() && now - server->queryClockMs() >= query_timeout) {
      LOG_INFO("C-%llu query_timeout: canceling the running query",
               (unsigned long long)client.id());
      server->markCancelSent();
      cancelServerQuery(*server);
    } else if (server->cancelSent() && now - server->cancelSentMs() >= query_timeout) {
      return "query timeout";
    }
  }
  // transaction_timeout covers a statement outside BEGIN too (its implicit transaction), as in
  // PgBouncer and PostgreSQL: an autocommit UPDATE stuck on a lock does not hold on for good.
  uint64_t tx_timeout =
      limit(link_user, &config::UserConfig::transaction_timeout, s.transaction_timeout);
  if (tx_timeout > 0 && (server->inTransaction() || running)) {
    uint64_t since = server->inTransaction() ? server->transactionSinceMs() : server->busySinceMs();
    if (now - since >= tx_timeout) return "transaction timeout";
  }
  if (!server->inTransaction()) return nullptr;
  uint64_t idle_tx =
      limit(link_user, &config::UserConfig::idle_transaction_timeout, s.idle_transaction_timeout);
  // Idle since the last bytes either way (the ReadyForQuery that ended a long statement
  // counts); an Execute sent with Flush and no Sync may still be running.
  uint64_t idle_since = std::max(client.lastActivityMs(), server->lastUsedMs());
  if (idle_tx > 0 && !running && now - idle_since >= idle_tx) return "idle transaction timeout";
  return nullptr;
}

// autodb_idle_timeout: pools the "*" entry made on demand go once nobody has used them for
// that long, with their SHOW DATABASES row (the database's counters stay, SHOW STATS keeps
// them). Only pools no client refers to are freed: clients hold a pointer to theirs.
void Pooler::freeUnusedAutoPools(uint64_t now) {
  uint64_t timeout = ms(settings().autodb_idle_timeout);
  std::vector<std::string> candidates;
  for (const auto& [key, pool] : pools_) {
    uint64_t since = pool->unusedSinceMs();
    if (since != 0 && now - since >= timeout && !config_->databases.contains(pool->database().name))
      candidates.push_back(key);
  }
  if (candidates.empty()) return;
  std::unordered_set<const Pool*> in_use;
  for (const auto& [raw, client] : clients_)
    if (client->pool() != nullptr) in_use.insert(client->pool());
  for (const std::string& key : candidates) {
    auto it = pools_.find(key);
    if (in_use.contains(it->second.get())) continue;
    LOG_INFO("autodb: freeing pool %s/%s, unused for autodb_idle_timeout",
             it->second->database().name.c_str(), it->second->serverUser().c_str());
    pools_.erase(it);
  }
}

void Pooler::closeListeners() {
  for (Listener* listener : listeners_) listener->closeAndDelete();
  listeners_.clear();
}

void Pooler::shutdown(ShutdownMode mode) {
  systemd::notifyStopping();
  if (mode == ShutdownMode::kImmediate || shutdown_mode_ != ShutdownMode::kNone) {
    LOG_INFO("shutting down immediately");
    stop();
    return;
  }
  shutdown_mode_ = mode;
  // Waiting for clients or servers needs their traffic to move again.
  if (pause_.suspended) resumeFromSuspend();
  LOG_INFO("shutting down: waiting for %s",
           mode == ShutdownMode::kWaitForServers ? "servers to be released" : "clients to leave");
  closeListeners();
  if (mode == ShutdownMode::kWaitForServers) {
    std::vector<ClientSession*> idle;
    for (auto& [raw, client] : clients_)
      if (client->server() == nullptr) idle.push_back(raw);
    for (ClientSession* client : idle)
      client->fail(wire::sqlstate::kAdminShutdown, "pooler is shutting down", "shutdown");
  }
  checkShutdownProgress();
}

void Pooler::checkShutdownProgress() {
  if (stopped_ || shutdown_mode_ == ShutdownMode::kNone) return;
  // Synced writes in flight finish first: the API may already have them.
  if (interceptor_ && interceptor_->writesInFlight() > 0) return;
  if (shutdown_mode_ == ShutdownMode::kWaitForServers && activeServerCount() == 0)
    stop();
  else if (shutdown_mode_ == ShutdownMode::kWaitForClients && clients_.empty())
    stop();
}

void Pooler::stop() {
  if (stopped_) return;
  stopped_ = true;
  shutdown_mode_ = ShutdownMode::kImmediate;
  closeListeners();
  std::vector<ClientSession*> clients;
  for (auto& [raw, client] : clients_) clients.push_back(raw);
  for (ClientSession* client : clients)
    client->fail(wire::sqlstate::kAdminShutdown, "pooler is shutting down", "shutdown");
  for (auto& [key, pool] : pools_) pool->closeAll();
  if (interceptor_) interceptor_->close();
  metrics_.reset();
  if (janitor_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(janitor_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    janitor_ = nullptr;
  }
  uv_stop(loop_);
}

}  // namespace apibouncer
