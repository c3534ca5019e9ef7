// SHOW dispatch, and the rows of SHOW POOLS, DATABASES, USERS, CONFIG and the process-wide
// ones (see show_commands.h). Column letters are PgBouncer's (result_set.h).
#include "pooler/admin/show_commands.h"

#include <strings.h>

#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "pooler/admin/show_rows.h"
#include "pooler/client.h"
#include "pooler/config/config_keys.h"
#include "pooler/pool.h"
#include "pooler/pooler.h"
#include "pooler/server.h"
#include "pooler/wire/writer.h"

namespace apibouncer::admin {
namespace {

using rows::clientList;
using rows::serverList;

using Show = ResultSet (*)(Pooler&);

constexpr const char* kVersion = "PgBouncer 1.25.2 (apibouncer " APIBOUNCER_VERSION ")";

Cell nullableText(std::string_view value) {
  return value.empty() ? Cell() : text(value);
}

uint64_t nowMs(Pooler& pooler) {
  return uv_now(pooler.loop());
}

// ---- pools, databases, users ----

std::string_view poolModeName(config::PoolMode mode) {
  return config::toString(mode);
}

Cell loadBalanceHosts(const config::DatabaseConfig& db) {
  if (db.hosts.size() < 2) return Cell();
  return text(db.load_balance_hosts_round_robin ? "round-robin" : "disable");
}

ResultSet showPools(Pooler& pooler) {
  ResultSet out("ssiiiiiiiiiiiiiss",
                {"database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req",
                 "cl_waiting_cancel_req", "sv_active", "sv_active_cancel", "sv_being_canceled",
                 "sv_idle", "sv_used", "sv_tested", "sv_login", "maxwait", "maxwait_us",
                 "pool_mode", "load_balance_hosts"});
  std::map<const Pool*, int> active;
  int console_clients = 0;
  for (const auto& [raw, client] : pooler.clients()) {
    if (clientList(*client) != "active") continue;
    if (client->isAdminConsole()) ++console_clients;
    if (client->pool() != nullptr) ++active[client->pool()];
  }
  uint64_t now = nowMs(pooler);
  for (const auto& [key, pool] : pooler.pools()) {
    std::map<std::string_view, int> servers;
    for (ServerLink* server : pool->serverLinks()) ++servers[serverList(*server)];
    uint64_t oldest = pool->oldestWaitStartMs();
    uint64_t max_wait_ms = oldest == 0 ? 0 : now - oldest;
    out.addRow({text(pool->database().name), text(pool->serverUser()), number(active[pool.get()]),
                number(static_cast<int64_t>(pool->waitingCount())), number(0), number(0),
                number(servers["active"]), number(0), number(servers["being_canceled"]),
                number(servers["idle"]), number(0), number(servers["tested"]),
                number(servers["new"]), number(static_cast<int64_t>(max_wait_ms / 1000)),
                number(static_cast<int64_t>(max_wait_ms % 1000 * 1000)),
                text(poolModeName(pool->poolMode())), loadBalanceHosts(pool->database())});
  }
  // The console's own pool, as PgBouncer lists it.
  out.addRow({text("pgbouncer"), text("pgbouncer"), number(console_clients), number(0), number(0),
              number(0), number(0), number(0), number(0), number(0), number(0), number(0),
              number(0), number(0), number(0), text("statement"), Cell()});
  return out;
}

ResultSet showDatabases(Pooler& pooler) {
  ResultSet out("ssissiiiissiiiiii",
                {"name", "host", "port", "database", "force_user", "pool_size", "min_pool_size",
                 "reserve_pool_size", "server_lifetime", "pool_mode", "load_balance_hosts",
                 "max_connections", "current_connections", "max_client_connections",
                 "current_client_connections", "paused", "disabled"});
  const config::Settings& s = pooler.settings();
  // Configured entries, and the ones the "*" entry made on demand.
  std::map<std::string, config::DatabaseConfig> databases;
  for (const auto& [name, db] : pooler.config().databases)
    if (name != "*") databases.emplace(name, db);
  for (const auto& [key, pool] : pooler.pools())
    databases.emplace(pool->database().name, pool->database());
  const PauseState& pause = pooler.pauseState();
  for (const auto& [name, db] : databases) {
    std::string hosts;
    for (const std::string& host : db.hosts) hosts += (hosts.empty() ? "" : ",") + host;
    Counts& counts = pooler.dbCounts(name);
    out.addRow(
        {text(name), nullableText(hosts), number(db.port),
         text(db.dbname.empty() ? name : db.dbname), nullableText(db.user),
         number(config::setOr(db.pool_size, s.default_pool_size)),
         number(config::setOr(db.min_pool_size, s.min_pool_size)),
         number(config::setOr(db.reserve_pool_size, s.reserve_pool_size)),
         number(static_cast<int64_t>(config::setOr(db.server_lifetime, s.server_lifetime))),
         db.pool_mode ? text(poolModeName(*db.pool_mode)) : Cell(), loadBalanceHosts(db),
         number(config::setOr(db.max_db_connections, s.max_db_connections)), number(counts.servers),
         number(config::setOr(db.max_db_client_connections, s.max_db_client_connections)),
         number(counts.clients), boolNumber(pause.paused(name)), boolNumber(pause.disabled(name))});
  }
  int console_clients = 0;
  for (const auto& [raw, client] : pooler.clients()) console_clients += client->isAdminConsole();
  out.addRow({text("pgbouncer"), Cell(), number(s.listen_port), text("pgbouncer"),
              text("pgbouncer"), number(2), number(0), number(0), number(0), text("statement"),
              Cell(), number(0), number(0), number(0), number(console_clients), number(0),
              number(0)});
  return out;
}

std::string paddedNumber(int value) {
  if (value < 0) return {};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%9d", value);  // PgBouncer pads these two columns
  return buf;
}

ResultSet showUsers(Pooler& pooler) {
  ResultSet out("ssssiiii", {"name", "pool_size", "reserve_pool_size", "pool_mode",
                             "max_user_connections", "current_connections",
                             "max_user_client_connections", "current_client_connections"});
  std::set<std::string> names = {"pgbouncer"};
  for (const auto& [name, secret] : pooler.authFile().users) names.insert(name);
  for (const auto& [name, user] : pooler.config().users) names.insert(name);
  for (const auto& [key, pool] : pooler.pools()) names.insert(pool->serverUser());
  for (const auto& [raw, client] : pooler.clients())
    if (!client->userName().empty()) names.insert(client->userName());
  const config::Settings& s = pooler.settings();
  for (const std::string& name : names) {
    const config::UserConfig* user = pooler.config().findUser(name);
    Counts& counts = pooler.userCounts(name);
    out.addRow({text(name), text(paddedNumber(user ? user->pool_size : -1)),
                text(paddedNumber(user ? user->reserve_pool_size : -1)),
                user && user->pool_mode ? text(poolModeName(*user->pool_mode)) : Cell(),
                number(config::userSetOr(user, &config::UserConfig::max_user_connections,
                                         s.max_user_connections)),
                number(counts.servers),
                number(config::userSetOr(user, &config::UserConfig::max_user_client_connections,
                                         s.max_user_client_connections)),
                number(counts.clients)});
  }
  return out;
}

// ---- process ----

ResultSet showVersion(Pooler&) {
  ResultSet out("s", {"version"});
  out.addRow({text(kVersion)});
  return out;
}

ResultSet showConfig(Pooler& pooler) {
  ResultSet out("ssss", {"key", "value", "default", "changeable"});
  const config::Settings defaults;
  for (const config::KeyInfo& key : config::allKeys())
    out.addRow({text(key.name), text(config::valueText(key, pooler.settings())),
                text(config::valueText(key, defaults)),
                text(changeableOnline(key.name) ? "yes" : "no")});
  return out;
}

ResultSet showState(Pooler& pooler) {
  ResultSet out("ss", {"key", "value"});
  bool paused = pooler.pauseState().all_paused;
  bool suspended = pooler.pauseState().suspended;
  out.addRow({text("active"), text(paused || suspended ? "no" : "yes")});
  out.addRow({text("paused"), text(paused ? "yes" : "no")});
  out.addRow({text("suspended"), text(suspended ? "yes" : "no")});
  return out;
}

ResultSet showLists(Pooler& pooler) {
  ResultSet out("si", {"list", "items"});
  size_t databases = 0, login = 0, used = 0, servers = 0;
  for (const auto& [name, db] : pooler.config().databases) databases += name != "*";
  for (const auto& [raw, client] : pooler.clients()) {
    std::string_view list = clientList(*client);
    login += list == "login";
    used += !list.empty();
  }
  for (const auto& [key, pool] : pooler.pools()) servers += pool->serverCount();
  auto row = [&out](std::string_view name, size_t n) {
    out.addRow({text(name), number(static_cast<int64_t>(n))});
  };
  row("databases", databases + 1);  // + the console's
  row("users", showUsers(pooler).rowCount());
  row("peers", 0);
  row("pools", pooler.pools().size() + 1);
  row("peer_pools", 0);
  row("free_clients", 0);
  row("used_clients", used);
  row("login_clients", login);
  row("free_servers", 0);
  row("used_servers", servers);
  for (std::string_view dns : {"dns_names", "dns_zones", "dns_queries", "dns_pending"}) row(dns, 0);
  return out;
}

// PgBouncer reports its slab caches; apibouncer allocates per object, so these rows give the
// object sizes and live counts (free is always 0).
ResultSet showMem(Pooler& pooler) {
  ResultSet out("siiii", {"name", "size", "used", "free", "memtotal"});
  size_t servers = 0;
  for (const auto& [key, pool] : pooler.pools()) servers += pool->serverCount();
  auto row = [&out](std::string_view name, size_t size, size_t used) {
    out.addRow({text(name), number(static_cast<int64_t>(size)), number(static_cast<int64_t>(used)),
                number(0), number(static_cast<int64_t>(size * used))});
  };
  row("user_cache", sizeof(config::UserConfig), pooler.config().users.size());
  row("db_cache", sizeof(config::DatabaseConfig), pooler.config().databases.size());
  row("pool_cache", sizeof(Pool), pooler.pools().size());
  row("server_cache", sizeof(ServerLink), servers);
  row("client_cache", sizeof(ClientSession), pooler.clients().size());
  return out;
}

// No socket passing (no online restart): the header only.
ResultSet showFds(Pooler&) {
  return ResultSet(
      "issssiqisssssbb",
      {"fd", "task", "user", "database", "addr", "port", "cancel", "link", "client_encoding",
       "std_strings", "datestyle", "timezone", "password", "scram_client_key", "scram_server_key"});
}

// The cached server host names; `ttl` is the seconds left before the next lookup.
ResultSet showDnsHosts(Pooler& pooler) {
  ResultSet out("sqs", {"hostname", "ttl", "addrs"});
  for (const DnsCache::Host& host : pooler.dnsCache().hosts()) {
    std::string addrs;
    for (const std::string& addr : host.addrs) addrs += (addrs.empty() ? "" : ",") + addr;
    out.addRow({text(host.name), number(host.ttl_left_s), text(addrs)});
  }
  return out;
}

ResultSet showDnsZones(Pooler&) {
  return ResultSet("sqi", {"zonename", "serial", "count"});
}

ResultSet showPeers(Pooler& pooler) {
  ResultSet out("isii", {"peer_id", "host", "port", "pool_size"});
  for (const auto& [id, peer] : pooler.config().peers)
    out.addRow(
        {number(id), text(peer.host), number(peer.port),
         number(peer.pool_size >= 0 ? peer.pool_size : pooler.settings().default_pool_size)});
  return out;
}

// Forwarded cancels are sent at once (a connection each, up to the peer's pool_size), so
// none waits and there is no standing link to a peer to count as sv_*.
ResultSet showPeerPools(Pooler& pooler) {
  ResultSet out("iiiii", {"peer_id", "cl_active_cancel_req", "cl_waiting_cancel_req",
                          "sv_active_cancel", "sv_login"});
  for (const auto& [id, peer] : pooler.config().peers) {
    int in_flight = pooler.peerCancelsInFlight(id);
    out.addRow({number(id), number(in_flight), number(0), number(in_flight), number(0)});
  }
  return out;
}

struct ShowEntry {
  std::string_view name;
  Show show;
};
constexpr ShowEntry kShows[] = {
    {"active_sockets", rows::showActiveSockets},
    {"apis", rows::showApis},
    {"clients", rows::showClients},
    {"config", showConfig},
    {"databases", showDatabases},
    {"dns_hosts", showDnsHosts},
    {"dns_zones", showDnsZones},
    {"fds", showFds},
    {"lists", showLists},
    {"mem", showMem},
    {"peer_pools", showPeerPools},
    {"peers", showPeers},
    {"pools", showPools},
    {"servers", rows::showServers},
    {"sockets", rows::showSockets},
    {"state", showState},
    {"stats", rows::showStats},
    {"stats_averages", rows::showStatsAverages},
    {"stats_totals", rows::showStatsTotals},
    {"synced_tables", rows::showSyncedTables},
    {"totals", rows::showTotals},
    {"users", showUsers},
    {"version", showVersion},
};

struct FakeParam {
  std::string_view name, value;
};
constexpr FakeParam kFakeParams[] = {
    {"client_encoding", "UTF-8"},
    {"default_transaction_isolation", "read committed"},
    {"standard_conforming_strings", "on"},
    {"datestyle", "ISO"},
    {"timezone", "GMT"},
    {"extra_float_digits", "2"},
};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<ResultSet> showRows(Pooler& pooler, std::string_view what) {
  for (const ShowEntry& entry : kShows)
    if (equalsIgnoreCase(entry.name, what)) return entry.show(pooler);
  return std::nullopt;
}

std::string helpMessage() {
  wire::ErrorSpec notice;
  notice.severity = "NOTICE";
  notice.sqlstate = "00000";
  notice.message = "Console usage";
  notice.detail =
      "\n\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION\n"
      "\tSHOW PEERS|PEER_POOLS\n"
      "\tSHOW FDS|SOCKETS|ACTIVE_SOCKETS|LISTS|MEM|STATE\n"
      "\tSHOW DNS_HOSTS|DNS_ZONES\n"
      "\tSHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS\n"
      "\tSHOW APIS|SYNCED_TABLES\n"
      "\tSET key = arg\n"
      "\tRELOAD\n"
      "\tPAUSE [<db>]\n"
      "\tRESUME [<db>]\n"
      "\tDISABLE <db>\n"
      "\tENABLE <db>\n"
      "\tRECONNECT [<db>]\n"
      "\tKILL [<db>]\n"
      "\tKILL_CLIENT <client_id>\n"
      "\tSUSPEND\n"
      "\tSHUTDOWN\n"
      "\tSHUTDOWN WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS\n"
      "\tWAIT_CLOSE [<db>]";
  return wire::noticeResponse(notice) + wire::commandComplete("SHOW");
}

bool isFakeParameter(std::string_view name) {
  for (const FakeParam& p : kFakeParams)
    if (equalsIgnoreCase(p.name, name)) return true;
  return false;
}

std::optional<ResultSet> fakeParameter(std::string_view name) {
  for (const FakeParam& p : kFakeParams) {
    if (!equalsIgnoreCase(p.name, name)) continue;
    ResultSet out("s", {p.name});
    out.addRow({text(p.value)});
    return out;
  }
  return std::nullopt;
}

bool changeableOnline(std::string_view key) {
  static constexpr std::string_view kRestartOnly[] = {
      "listen_addr",       "listen_port", "unix_socket_dir",  "unix_socket_mode",
      "unix_socket_group", "user",        "pidfile",          "listen_backlog",
      "so_reuseport",      "pkt_buf",     "peer_id",          "service_name",
      "job_name",          "conffile",    "tcp_defer_accept", "max_packet_size"};
  for (std::string_view fixed : kRestartOnly)
    if (equalsIgnoreCase(fixed, key)) return false;
  return true;
}

}  // namespace apibouncer::admin
