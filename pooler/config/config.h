// The loaded configuration: an immutable snapshot of one pgbouncer.ini-style file (with its
// %include files). Reload builds a new snapshot; work in flight keeps the one it started with.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace apibouncer::config {

// Timeouts are configured in seconds (fractions allowed); the loop counts milliseconds.
inline uint64_t ms(double seconds) {
  return static_cast<uint64_t>(seconds * 1000.0);
}

enum class PoolMode { kSession, kTransaction, kStatement };
std::string_view toString(PoolMode mode);
std::optional<PoolMode> parsePoolMode(std::string_view text);

enum class AuthType { kTrust, kAny, kPlain, kMd5, kScramSha256, kCert, kHba, kLdap, kPam };
std::string_view toString(AuthType type);

// [pgbouncer]: one member per key PgBouncer 1.25 knows, named exactly as the key.
// bool for 0/1 flags, int for counts/sizes/ports, double for seconds, std::string otherwise.
// Defaults are PgBouncer's.
struct Settings {
  // --- connection handling (implemented) ---
  std::string listen_addr;
  int listen_port = 6432;
  std::string unix_socket_dir = "/tmp";
  int unix_socket_mode = 0777;
  std::string unix_socket_group;
  int max_client_conn = 100;
  int listen_backlog = 128;
  bool tcp_keepalive = true;
  int tcp_keepcnt = 0, tcp_keepidle = 0, tcp_keepintvl = 0;
  int tcp_user_timeout = 0;
  int max_packet_size = 2147483647;
  // --- auth ---
  AuthType auth_type = AuthType::kMd5;
  std::string auth_file;
  // --- pooling ---
  PoolMode pool_mode = PoolMode::kSession;
  int default_pool_size = 20;
  int min_pool_size = 0;
  int reserve_pool_size = 0;
  double reserve_pool_timeout = 5.0;
  int max_db_connections = 0;
  int max_db_client_connections = 0;
  int max_user_connections = 0;
  int max_user_client_connections = 0;
  std::string server_reset_query = "DISCARD ALL";
  bool server_reset_query_always = false;
  double server_check_delay = 30.0;
  std::string server_check_query = "<empty>";
  double server_lifetime = 3600.0;
  double server_idle_timeout = 600.0;
  double server_connect_timeout = 15.0;
  double server_login_retry = 15.0;
  double client_login_timeout = 60.0;
  double query_wait_timeout = 120.0;
  double query_timeout = 0.0;
  double client_idle_timeout = 0.0;
  double idle_transaction_timeout = 0.0;
  double transaction_timeout = 0.0;
  double cancel_wait_timeout = 10.0;
  std::string ignore_startup_parameters;
  bool application_name_add_host = false;
  // --- process and logging ---
  std::string logfile;
  std::string pidfile;
  std::string user;
  bool log_connections = true;
  bool log_disconnections = true;
  bool log_pooler_errors = true;
  int verbose = 0;
  std::string admin_users;
  std::string stats_users;
  // --- accepted for compatibility; see config_keys.cc for which are implemented ---
  std::string conffile;
  std::string service_name = "pgbouncer";  // alias: job_name
  int stats_period = 60;
  bool log_stats = true;
  bool syslog = false;
  std::string syslog_ident = "pgbouncer";
  std::string syslog_facility = "daemon";
  bool server_round_robin = false;
  std::string track_extra_parameters = "IntervalStyle";
  int peer_id = 0;
  bool disable_pqexec = false;
  int max_prepared_statements = 200;
  int scram_iterations = 4096;
  std::string auth_hba_file, auth_ident_file, auth_user;
  std::string auth_query =
      "SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END "
      "FROM pg_authid WHERE rolname=$1 AND rolcanlogin";
  std::string auth_dbname, auth_ldap_options;
  bool server_fast_close = false;
  double autodb_idle_timeout = 3600.0;
  double dns_max_ttl = 15.0, dns_nxdomain_ttl = 15.0, dns_zone_check_period = 0.0;
  std::string resolv_conf;
  double query_wait_notify = 5.0;
  std::string client_tls_sslmode = "disable";
  std::string client_tls_key_file, client_tls_cert_file, client_tls_ca_file;
  std::string client_tls_protocols = "secure", client_tls_ciphers = "default";
  std::string client_tls13_ciphers, client_tls_ecdhcurve = "auto", client_tls_dheparams = "auto";
  std::string server_tls_sslmode = "prefer";
  std::string server_tls_ca_file, server_tls_key_file, server_tls_cert_file;
  std::string server_tls_protocols = "secure", server_tls_ciphers = "default";
  std::string server_tls13_ciphers;
  double suspend_timeout = 10.0;
  int pkt_buf = 4096;
  int sbuf_loopcnt = 5;
  bool so_reuseport = false;
  bool tcp_defer_accept = true;
  int tcp_socket_buffer = 0;
};

// One [databases] entry: `name = key=value ...`. Unset numbers are -1 (use the global).
struct DatabaseConfig {
  std::string name;    // the name clients connect to
  std::string dbname;  // on the server; defaults to `name`
  // Server addresses: IPs or names for TCP, or a directory (starting with '/') holding the
  // Unix socket. Empty means the Unix socket in /var/run/postgresql.
  std::vector<std::string> hosts;
  int port = 5432;
  std::string user;      // forced server user (empty = the client's user)
  std::string password;  // for `user` (or the client's user)
  std::string auth_user, auth_query, auth_dbname;
  int pool_size = -1, min_pool_size = -1, reserve_pool_size = -1;
  int max_db_connections = -1, max_db_client_connections = -1;
  std::optional<PoolMode> pool_mode;
  std::string connect_query;
  double server_lifetime = -1;
  bool load_balance_hosts_round_robin = true;
  std::string client_encoding, datestyle, timezone;
  std::string application_name;  // any other startup params given in the connstr are rare
};

// One [users] entry. Unset numbers are -1 (use the global).
struct UserConfig {
  std::string name;
  int pool_size = -1, reserve_pool_size = -1;
  std::optional<PoolMode> pool_mode;
  int max_user_connections = -1, max_user_client_connections = -1;
  double query_timeout = -1, idle_transaction_timeout = -1, transaction_timeout = -1,
         client_idle_timeout = -1;
};

// peer_id is 14 bits of every cancel key (see pooler/peer_cancel.h).
constexpr int kMaxPeerId = 16383;

// One [peers] entry: another apibouncer process of the same group (same port with
// so_reuseport), where cancel requests for its clients are forwarded.
struct PeerConfig {
  int id = 0;
  std::string host;  // IP, name, or a directory (starting with '/') holding its Unix socket
  int port = 6432;
  int pool_size = -1;  // forwarded cancels in flight at once; -1 = default_pool_size
};

// Per-database and per-user settings override [pgbouncer]'s; unset numbers are -1.
template <class T>
T setOr(T value, T fallback) {
  return value >= 0 ? value : fallback;
}
// The user's value for `member` where the user has an entry that sets it, else `fallback`.
template <class T>
T userSetOr(const UserConfig* user, T UserConfig::*member, T fallback) {
  return user != nullptr ? setOr(user->*member, fallback) : fallback;
}
// A [users] timeout applies when above 0, as in PgBouncer: a user's 0 leaves the global one.
inline double userTimeoutOr(const UserConfig* user, double UserConfig::*member, double fallback) {
  return user != nullptr && user->*member > 0 ? user->*member : fallback;
}

struct Config {
  std::string path;  // the main file, as given (used by RELOAD)
  Settings settings;
  std::map<std::string, DatabaseConfig, std::less<>> databases;  // includes "*" if present
  std::map<std::string, UserConfig, std::less<>> users;
  std::map<int, PeerConfig> peers;  // [peers], by peer_id
  // One line per accepted-but-not-implemented key ("file:line: key 'x' is not implemented yet").
  std::vector<std::string> warnings;
  // apibouncer's own sections ([apibouncer], [api.NAME], [table.SCHEMA.TABLE]), kept raw for the
  // interceptor to validate: section -> key -> value, with where each value was written (for
  // file:line errors).
  struct ExtraValue {
    std::string value;
    std::string file;
    int line = 0;
    bool operator==(std::string_view other) const { return value == other; }
  };
  std::map<std::string, std::map<std::string, ExtraValue>> extra_sections;

  // The entry for a client's database name: exact match, else the "*" fallback with
  // dbname set to `name`. nullptr if neither exists.
  std::optional<DatabaseConfig> findDatabase(std::string_view name) const;
  const UserConfig* findUser(std::string_view name) const;
};

struct ConfigError {
  std::string file;
  int line = 0;     // 0 when the error is about the file as a whole
  std::string key;  // empty when not about one key
  std::string reason;
  std::string message() const;  // "file:line: key 'k': reason"
};

using LoadResult = std::variant<std::shared_ptr<const Config>, ConfigError>;
LoadResult loadConfig(const std::string& path);

}  // namespace apibouncer::config
