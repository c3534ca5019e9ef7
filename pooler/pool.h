// One pool: the server links for a (database, server user) pair and the clients waiting for
// one. Decides when to open a link, which idle link a client gets, and when links retire.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pooler/auth/scram.h"
#include "pooler/config/config.h"
#include "pooler/ring_queue.h"
#include "pooler/stats.h"
#include "pooler/welcome_cache.h"

namespace apibouncer {

class ClientSession;
class Pooler;
class ServerLink;

class Pool {
 public:
  Pool(Pooler& pooler, config::DatabaseConfig db, std::string server_user);
  ~Pool();

  const config::DatabaseConfig& database() const { return db_; }
  const std::string& serverUser() const { return server_user_; }
  void updateDatabase(const config::DatabaseConfig& db);
  // The password used to log in to PostgreSQL ("" if none known), and whether it is an md5 hash.
  std::string serverPassword() const;
  // SCRAM pass-through: when the server user's secret is a SCRAM secret (auth_file or
  // auth_query), the keys its latest successful client login proved; links log in with them.
  const std::optional<auth::ScramKeys>& scramKeys() const { return scram_keys_; }
  void rememberScramKeys(auth::ScramKeys keys) { scram_keys_ = std::move(keys); }
  // The server user's secret when it came from auth_query (not in auth_file).
  void rememberLookedUpSecret(std::string secret) { looked_up_secret_ = std::move(secret); }
  // [users] pool_mode, else the database's, else [pgbouncer]'s; fixed when the config changes
  // because the relay asks at every ReadyForQuery.
  config::PoolMode poolMode() const { return mode_; }
  // Named prepared statements kept per link when the pooler tracks them (transaction and
  // statement pooling with max_prepared_statements > 0); 0 when it does not.
  size_t preparedStatementCapacity() const { return prepared_capacity_; }
  Pooler& pooler() { return pooler_; }

  // A client wants a server link. It gets one now (onServerAssigned) or waits in the queue.
  void requestServer(ClientSession* client);
  void cancelRequest(ClientSession* client);  // the client left while waiting
  // A linked client is done with its link: reset it and make it idle, or close it if dirty.
  void releaseServer(ServerLink* server, bool clean);

  // Called by ServerLink.
  void serverReady(ServerLink* server);  // login done or reset done: hand out or park idle
  void serverLoginFailed(ServerLink* server, const std::string& sqlstate,
                         const std::string& message);
  void serverClosed(ServerLink* server);  // handle closed: drop and delete it

  // Called periodically by the janitor.
  void maintain(uint64_t now_ms);
  // Opens links for waiting clients if limits allow.
  void launchForWaiters();
  // Shutdown: closes every link.
  void closeAll();

  // Parameters of the first server that logged in (its startup values), used to welcome
  // clients before they hold a link; nullptr until one logged in.
  const std::map<std::string, std::string>* welcomeParameters() const {
    return welcome_params_ ? &*welcome_params_ : nullptr;
  }
  void rememberWelcome(const std::map<std::string, std::string>& params) {
    if (!welcome_params_) welcome_params_ = params;
  }
  // The login changed (RELOAD) or the server may have (RECONNECT, after an ALTER DATABASE ...
  // SET or a failover): the next link to log in sets the welcome again.
  void forgetWelcome();
  // Encoded welcomes for welcomeParameters(), which change only with forgetWelcome().
  WelcomeCache& welcomeCache() { return welcome_cache_; }

  // Admin console: this database's counters, what SHOW POOLS/SERVERS/CLIENTS list, and
  // PAUSE/RESUME/RECONNECT/KILL.
  DatabaseStats& stats() { return *stats_; }
  std::vector<ServerLink*> serverLinks() const;
  uint64_t oldestWaitStartMs() const;  // 0 if nobody waits
  bool paused() const;
  // Paused or suspended: waiting clients stay waiting and no link opens.
  bool holdingWaiters() const;
  // PAUSE: idle links close now, busy ones when released. RESUME: waiters get links again.
  void closeIdle(const char* reason);
  void resume() { launchForWaiters(); }
  // Links created at or before `before_ms` (RECONNECT); 0 for none.
  bool hasLinksFrom(uint64_t before_ms) const;
  // KILL: every link closes now, its client and the waiting ones are disconnected.
  void killAll(const char* reason);
  // RELOAD removed the database: the pool serves nobody and opens nothing until a RELOAD
  // lists it again.
  void markRemoved() { removed_ = true; }

  // Since when the pool has had neither links nor waiting clients (0 while it has), as of the
  // last maintain(); autodb_idle_timeout frees pools the "*" entry made once this is old.
  uint64_t unusedSinceMs() const { return unused_since_ms_; }

  size_t waitingCount() const { return waiting_.size(); }
  size_t idleCount() const { return idle_.size(); }
  size_t serverCount() const { return servers_.size(); }
  int activeCount() const;
  size_t connectingCount() const;

 private:
  config::PoolMode configuredMode() const;
  void applyMode();  // pool mode and prepared statement capacity from the current config
  int poolSize() const;
  int reservePoolSize() const;
  int minPoolSize() const;
  double serverLifetime() const;
  bool mayOpenServer(bool use_reserve) const;
  // A link past its login (and connect_query) that may still serve, other than `except`.
  bool hasLoggedInLinks(const ServerLink* except) const;
  void openServer();
  ServerLink* takeIdleServer();
  void assign(ServerLink* server, ClientSession* client);
  void checkAndAssign(ServerLink* server, ClientSession* client);
  void failWaiters(const std::string& sqlstate, const std::string& message);
  void closeRetiredSessions();

  Pooler& pooler_;
  DatabaseStats* stats_;  // the registry's entry for this database (stable address)
  config::DatabaseConfig db_;
  std::string server_user_;
  std::optional<auth::ScramKeys> scram_keys_;
  std::string looked_up_secret_;
  config::PoolMode mode_ = config::PoolMode::kSession;
  size_t prepared_capacity_ = 0;  // asked for every chunk relayed: fixed with the mode
  std::unordered_map<ServerLink*, std::unique_ptr<ServerLink>> servers_;
  std::vector<ServerLink*> idle_;      // LIFO: the most recently used link is reused first
  RingQueue<ClientSession*> waiting_;  // first come, first served
  // Clients whose link is running server_check_query (nullptr once the client left).
  std::unordered_map<ServerLink*, ClientSession*> checking_;
  size_t next_host_ = 0;                // load_balance_hosts round robin
  uint64_t login_failed_until_ms_ = 0;  // server_login_retry window
  std::string last_login_error_;        // the failed login's message, for clients refused in it
  bool removed_ = false;                // RELOAD removed the database (markRemoved)
  uint64_t unused_since_ms_ = 0;
  std::optional<std::map<std::string, std::string>> welcome_params_;
  WelcomeCache welcome_cache_;
};

}  // namespace apibouncer
