// The SHOW handlers shared between the files that build them: show_sockets.cc (clients,
// servers, sockets) and show_stats.cc (stats, APIs, synced tables); show_commands.cc holds the
// rest and the dispatch table.
#pragma once

#include <string_view>

#include "pooler/admin/result_set.h"

namespace apibouncer {
class ClientSession;
class Pooler;
class ServerLink;
}  // namespace apibouncer

namespace apibouncer::admin::rows {

// PgBouncer's list a client is on: "login", "waiting" or "active"; empty while closing.
std::string_view clientList(const ClientSession& client);
// PgBouncer's list a server link is on: "new", "active", "idle", "tested", "being_canceled";
// empty while closing.
std::string_view serverList(const ServerLink& server);

ResultSet showClients(Pooler& pooler);
ResultSet showServers(Pooler& pooler);
ResultSet showSockets(Pooler& pooler);
ResultSet showActiveSockets(Pooler& pooler);

ResultSet showStats(Pooler& pooler);
ResultSet showStatsTotals(Pooler& pooler);
ResultSet showStatsAverages(Pooler& pooler);
ResultSet showTotals(Pooler& pooler);
ResultSet showApis(Pooler& pooler);
ResultSet showSyncedTables(Pooler& pooler);

}  // namespace apibouncer::admin::rows
