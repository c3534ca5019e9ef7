// The process-wide state of one running pooler: the config snapshot, the auth file, the
// listeners, every client and pool, cancel keys, and shutdown. Everything hangs off one loop.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "interceptor/interceptor.h"
#include "pooler/admin/pause_state.h"
#include "pooler/auth/auth_file.h"
#include "pooler/auth/hba.h"
#include "pooler/config/config.h"
#include "pooler/dns_cache.h"
#include "pooler/metrics/metrics_server.h"
#include "pooler/prepared_statements.h"
#include "pooler/stats.h"
#include "pooler/tls_setup.h"
#include "pooler/tracked_params.h"

namespace apibouncer {

class ClientSession;
class Listener;
class Pool;
class ServerLink;

enum class ShutdownMode { kNone, kWaitForServers, kWaitForClients, kImmediate };

// Per-name connection counts for max_db_* / max_user_* limits.
struct Counts {
  int clients = 0;
  int servers = 0;
};

class Pooler {
 public:
  Pooler(uv_loop_t* loop, std::shared_ptr<const config::Config> config, auth::AuthFile auth_file);
  ~Pooler();

  // Opens the listeners. False with `error` set if none could be opened.
  bool start(std::string& error);
  void shutdown(ShutdownMode mode);
  ShutdownMode shutdownMode() const { return shutdown_mode_; }

  uv_loop_t* loop() const { return loop_; }
  const config::Config& config() const { return *config_; }
  // For what must outlive a RELOAD (a login's [databases] entry until its pool is known).
  const std::shared_ptr<const config::Config>& sharedConfig() const { return config_; }
  const config::Settings& settings() const { return config_->settings; }
  const auth::AuthFile& authFile() const { return auth_file_; }
  // auth_hba_file's rules (auth_type = hba); null when not loaded. Set at start and reload.
  const auth::HbaRules* hbaRules() const { return hba_rules_.get(); }
  void setHbaRules(std::shared_ptr<const auth::HbaRules> rules) { hba_rules_ = std::move(rules); }
  void replaceConfig(std::shared_ptr<const config::Config> config, auth::AuthFile auth_file);
  // client_tls_* / server_tls_* contexts: new logins and new server links use the current
  // ones; connections already encrypted keep theirs. Set at start and reload.
  const TlsContexts& tlsContexts() const { return tls_; }
  void setTlsContexts(TlsContexts contexts) { tls_ = std::move(contexts); }

  // Clients.
  void acceptClient(uv_stream_t* listener, bool unix_socket);
  void clientClosed(ClientSession* client);
  size_t clientCount() const { return clients_.size(); }
  uint64_t registerCancelKey(ClientSession* client);  // returns pid<<32|key
  void forwardCancel(uint32_t pid, uint32_t key);
  // Sends a CancelRequest for whatever `server` is running now.
  void cancelServerQuery(ServerLink& server);
  // Peering: cancel requests forwarded to a peer whose connection is still open.
  int peerCancelsInFlight(int peer_id) const;

  // Session parameters clients keep across links; new clients take the current list.
  const std::shared_ptr<const ParameterNames>& trackedParameterNames() const {
    return tracked_names_;
  }

  // Synced tables (at start and after each reload). Null until configured; stays in place
  // when a reload removes every table, so writes in flight finish.
  // Also starts, moves or stops the Prometheus endpoint ([apibouncer] metrics_port).
  void configureInterceptor(const interceptor::SyncConfig& sync);
  int metricsPort() const { return metrics_ ? metrics_->port() : 0; }
  interceptor::Interceptor* interceptor() const { return interceptor_.get(); }

  // Protocol-level prepared statements known under the pooler's names (all pools).
  StatementRegistry& statementRegistry() { return statements_; }
  // Server host names (dns_max_ttl / dns_nxdomain_ttl; SHOW DNS_HOSTS).
  DnsCache& dnsCache() { return dns_; }

  // Pools and limits.
  Pool& poolFor(const config::DatabaseConfig& db, const std::string& server_user);
  Counts& dbCounts(const std::string& db) { return db_counts_[db]; }
  Counts& userCounts(const std::string& user) { return user_counts_[user]; }
  // A server slot freed somewhere: pools blocked by a db/user limit may proceed.
  void serverSlotFreed();
  int activeServerCount() const;

  // Admin console: every client and pool (read-only views for SHOW), per-database counters,
  // PAUSE/DISABLE state, and RELOAD (main.cc installs the same reload SIGHUP runs).
  // Ends every client and link of `pools` (admin KILL, a database RELOAD removed).
  void killPools(const std::vector<Pool*>& pools, const char* reason);
  const std::unordered_map<ClientSession*, std::unique_ptr<ClientSession>>& clients() const {
    return clients_;
  }
  const std::map<std::string, std::unique_ptr<Pool>>& pools() const { return pools_; }
  StatsRegistry& stats() { return stats_; }
  admin::PauseState& pauseState() { return pause_; }
  using Reloader = std::function<bool(std::string& error)>;
  void setReloader(Reloader reloader) { reloader_ = std::move(reloader); }
  bool reload(std::string& error);
  uint64_t startedAtMs() const { return started_at_ms_; }

  // SUSPEND / RESUME (pooler_suspend.cc). The console's own sessions are never suspended.
  void suspend();
  void resumeFromSuspend();
  // Every suspended connection has sent all it had queued: SUSPEND may answer.
  bool suspendFlushed() const;

  // Called by the janitor and after releases while shutting down.
  void checkShutdownProgress();
  // Periodic timeouts and pool upkeep (every kJanitorIntervalMs).
  void runMaintenance();
  void logStats();

 private:
  const char* checkClientLimits(ClientSession& client, uint64_t now);
  // suspend_timeout: connections that could not send their queued bytes in time close.
  void dropUnflushedAfterSuspendTimeout(uint64_t now);
  void freeUnusedAutoPools(uint64_t now);
  void forwardCancelToPeer(uint64_t key);
  template <class Visit>
  void forEachSuspendable(Visit visit) const;
  void stop();
  void closeListeners();

  uv_loop_t* loop_;
  StatementRegistry statements_;  // before the clients and pools that hold its statements
  StatsRegistry stats_;           // before the pools that keep references into it
  DnsCache dns_;                  // before the server links that wait on it
  admin::PauseState pause_;       // before the clients: console sessions unregister from it
  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<const ParameterNames> tracked_names_;
  auth::AuthFile auth_file_;
  std::shared_ptr<const auth::HbaRules> hba_rules_;
  TlsContexts tls_;
  std::vector<Listener*> listeners_;  // each deletes itself when closed
  std::unordered_map<ClientSession*, std::unique_ptr<ClientSession>> clients_;
  std::unordered_map<uint64_t, ClientSession*> cancel_keys_;
  std::map<int, std::shared_ptr<int>> peer_cancels_in_flight_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;
  std::unique_ptr<interceptor::Interceptor> interceptor_;
  void configureMetrics(int port);
  std::string renderMetrics();
  std::unique_ptr<metrics::MetricsServer> metrics_;
  int metrics_port_ = 0;
  std::unordered_map<std::string, Counts> db_counts_, user_counts_;
  uv_timer_t* janitor_ = nullptr;  // freed in its close callback
  Reloader reloader_;
  uint64_t started_at_ms_ = 0;
  ShutdownMode shutdown_mode_ = ShutdownMode::kNone;
  bool stopped_ = false;
};

}  // namespace apibouncer
