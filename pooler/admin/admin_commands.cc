// Admin console actions and the command table (see admin_commands.h).
#include "pooler/admin/admin_commands.h"

#include <strings.h>

#include <charconv>
#include <memory>
#include <set>
#include <vector>

#include "pooler/admin/admin_session.h"
#include "pooler/admin/command_parser.h"
#include "pooler/admin/show_commands.h"
#include "pooler/client.h"
#include "pooler/config/config_keys.h"
#include "pooler/log.h"
#include "pooler/pool.h"
#include "pooler/pooler.h"
#include "pooler/wire/writer.h"

namespace apibouncer::admin {
namespace {

struct Context {
  AdminSession& session;
  Pooler& pooler;
  std::string_view query;
  bool admin() const { return session.role() == Role::kAdmin; }
};

Outcome ready(std::string_view tag) {
  return Outcome{wire::commandComplete(tag), true, false, nullptr};
}

Outcome error(std::string_view message, std::string_view sqlstate = "08P01") {
  LOG_WARNING("admin console: %.*s", (int)message.size(), message.data());
  return Outcome{consoleError(message, sqlstate), true, false, nullptr};
}

// The query is echoed back as PgBouncer does, cut as its 1 KiB message buffer cuts it.
Outcome syntaxError(const Context& ctx) {
  constexpr size_t kMaxEcho = 1000;
  return error("invalid command '" + std::string(ctx.query.substr(0, kMaxEcho)) +
               "', use SHOW HELP;");
}

Outcome adminNeeded() {
  return error("admin access needed");
}

// The pools of `database`, or of every database when it is empty.
std::vector<Pool*> poolsOf(Pooler& pooler, std::string_view database) {
  std::vector<Pool*> out;
  for (const auto& [key, pool] : pooler.pools())
    if (database.empty() || pool->database().name == database) out.push_back(pool.get());
  return out;
}

bool knownDatabase(Pooler& pooler, std::string_view database) {
  return pooler.config().findDatabase(database).has_value() || !poolsOf(pooler, database).empty();
}

bool noLinks(Pooler& pooler, const std::string& database) {
  for (Pool* pool : poolsOf(pooler, database))
    if (pool->serverCount() > 0) return false;
  return true;
}

// PAUSE and WAIT_CLOSE answer once `done` holds; the upkeep checks every quarter second.
Outcome waitFor(Context& ctx, std::string tag, std::function<bool()> done) {
  if (done()) return ready(tag);
  ctx.pooler.pauseState().waiters.push_back({&ctx.session, std::move(tag), std::move(done)});
  return Outcome{{}, false, true, nullptr};
}

Outcome show(Context& ctx, const std::string& arg) {
  if (arg.empty()) return syntaxError(ctx);
  if (auto fake = fakeParameter(arg)) return Outcome{fake->encode(), true, false, nullptr};
  if (strcasecmp(arg.c_str(), "help") == 0) return Outcome{helpMessage(), true, false, nullptr};
  if (strcasecmp(arg.c_str(), "fds") == 0 && !ctx.admin()) return adminNeeded();
  auto rows = showRows(ctx.pooler, arg);
  if (!rows) return syntaxError(ctx);
  return Outcome{rows->encode(), true, false, nullptr};
}

Outcome pause(Context& ctx, const std::string& arg) {
  if (!ctx.admin()) return adminNeeded();
  PauseState& state = ctx.pooler.pauseState();
  if (state.all_paused || state.suspended) return error("already suspended/paused");
  if (arg.empty()) {
    LOG_INFO("PAUSE command issued");
    pauseAll(ctx.pooler);
  } else {
    LOG_INFO("PAUSE '%s' command issued", arg.c_str());
    if (arg == "pgbouncer") return error("cannot pause admin db: " + arg);
    if (!knownDatabase(ctx.pooler, arg)) return error("no such database: " + arg);
    state.paused_databases.insert(arg);
    for (Pool* pool : poolsOf(ctx.pooler, arg)) pool->closeIdle("database paused");
  }
  Pooler& pooler = ctx.pooler;
  return waitFor(ctx, "PAUSE", [&pooler, arg] {
    // A RESUME in the meantime ends the wait too.
    return !pooler.pauseState().paused(arg) || noLinks(pooler, arg);
  });
}

Outcome resume(Context& ctx, const std::string& arg) {
  if (!ctx.admin()) return adminNeeded();
  PauseState& state = ctx.pooler.pauseState();
  if (arg.empty()) {
    LOG_INFO("RESUME command issued");
    if (ctx.pooler.shutdownMode() != ShutdownMode::kNone) return error("pooler is shutting down");
    if (!state.all_paused && !state.suspended) return error("pooler is not paused/suspended");
    resumeAll(ctx.pooler);
    return ready("RESUME");
  }
  LOG_INFO("RESUME '%s' command issued", arg.c_str());
  if (!knownDatabase(ctx.pooler, arg)) return error("no such database: " + arg);
  if (!state.paused_databases.erase(arg)) return error("database " + arg + " is not paused");
  for (Pool* pool : poolsOf(ctx.pooler, arg)) pool->resume();
  return ready("RESUME");
}

Outcome disable(Context& ctx, const std::string& arg) {
  if (!ctx.admin()) return adminNeeded();
  if (arg.empty()) return error("a database is required");
  LOG_INFO("DISABLE '%s' command issued", arg.c_str());
  if (arg == "pgbouncer") return error("cannot disable admin db: " + arg);
  if (!knownDatabase(ctx.pooler, arg)) return error("no such database: " + arg);
  ctx.pooler.pauseState().disabled_databases.insert(arg);
  return ready("DISABLE");
}

Outcome enable(Context& ctx, const std::string& arg) {
  if (!ctx.admin()) return adminNeeded();
  if (arg.empty()) return error("a database is required");
  LOG_INFO("ENABLE '%s' command issued", arg.c_str());
  if (arg == "pgbouncer") return error("cannot enable admin db: " + arg);
  if (!knownDatabase(ctx.pooler, arg)) return error("no such database: " + arg);
  ctx.pooler.pauseState().disabled_databases.erase(arg);
  return ready("ENABLE");
}

// Links of the database(s) made until now close once their clients let go of them.
void markForRetirement(Pooler& pooler, const std::string& arg) {
  uint64_t now = uv_now(pooler.loop());
  std::set<std::string> names;
  if (!arg.empty()) names.insert(arg);
  for (Pool* pool : poolsOf(pooler, arg)) names.insert(pool->database().name);
  for (const std::string& name : names) pooler.pauseState().retire_before_ms[name] = now;
}

Outcome reconnect(Context& ctx, const std::string& arg) {
  if (!ctx.admin()) return adminNeeded();
  LOG_INFO("RECONNECT%s%s command issued", arg.empty() ? "" : " ", arg.c_str());
  if (arg == "pgbouncer") return error("cannot reconnect admin db: " + arg);
  if (!arg.empty() && !knownDatabase(ctx.pooler, arg)) return error("no such database: " + arg);
  markForRetirement(ctx.pooler, arg);
  for (Pool* pool : poolsOf(ctx.pooler, arg)) {
    pool->forgetWelcome();  // new clients see what the new links report
    pool->closeIdle("reconnect requested");
  }
  return ready("RECONNECT");
}

Outcome waitClose(Context& ctx, const std::string& arg) {
  if (!ctx.admin()) return adminNeeded();
  LOG_INFO("WAIT_CLOSE%s%s command issued", arg.empty() ? "" : " ", arg.c_str());
  if (arg == "pgbouncer") return error("cannot wait in admin db: " + arg);
  if (!arg.empty() && !knownDatabase(ctx.pooler, arg)) return error("no such database: " + arg);
  markForRetirement(ctx.pooler, arg);
  uint64_t mark = uv_now(ctx.pooler.loop());
  Pooler& pooler = ctx.pooler;
  return waitFor(ctx, "WAIT_CLOSE", [&pooler, arg, mark] {
    for (Pool* pool : poolsOf(pooler, arg))
      if (pool->hasLinksFrom(mark)) return false;
    return true;
  });
}

// KILL: the database is paused (as PgBouncer: RESUME lets it serve again) and every client
// and link of it is closed now.
Outcome kill(Context& ctx, const std::string& arg) {
  if (!ctx.admin()) return adminNeeded();
  PauseState& state = ctx.pooler.pauseState();
  if (state.all_paused || state.suspended) return error("already suspended/paused");
  LOG_INFO("KILL%s%s command issued", arg.empty() ? "" : " ", arg.c_str());
  if (arg == "pgbouncer") return error("cannot kill admin db: " + arg);
  if (!arg.empty() && !knownDatabase(ctx.pooler, arg)) return error("no such database: " + arg);
  std::vector<Pool*> pools = poolsOf(ctx.pooler, arg);
  if (!arg.empty()) state.paused_databases.insert(arg);
  for (Pool* pool : pools) state.paused_databases.insert(pool->database().name);
  ctx.pooler.killPools(pools, "admin KILL");
  return ready("KILL");
}

Outcome killClient(Context& ctx, const std::string& arg) {
  if (!ctx.admin()) return adminNeeded();
  uint64_t id = 0;
  auto [ptr, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), id);
  if (arg.empty() || ec != std::errc() || ptr != arg.data() + arg.size())
    return error("invalid client pointer supplied");
  for (const auto& [raw, client] : ctx.pooler.clients()) {
    if (client->id() != id || client->closing()) continue;
    LOG_INFO("KILL_CLIENT %llu command issued", (unsigned long long)id);
    raw->fail(wire::sqlstate::kProtocolViolation, "admin forced disconnect",
              "admin forced disconnect");
    return ready("KILL_CLIENT");
  }
  return error("client not found");
}

// SUSPEND answers once every pooled connection has sent what it had queued (or was dropped
// for not managing within suspend_timeout); see pooler_suspend.cc.
Outcome suspend(Context& ctx, const std::string& arg) {
  if (!arg.empty()) return syntaxError(ctx);
  if (!ctx.admin()) return adminNeeded();
  PauseState& state = ctx.pooler.pauseState();
  if (state.all_paused || state.suspended) return error("already suspended/paused");
  // A paused database's clients are meant to move again on its own RESUME, which a suspended
  // pooler could not honour; PgBouncer refuses the same way.
  if (!state.paused_databases.empty()) return error("cannot suspend with paused databases");
  if (ctx.pooler.shutdownMode() != ShutdownMode::kNone) return error("pooler is shutting down");
  LOG_INFO("SUSPEND command issued");
  ctx.pooler.suspend();
  Pooler& pooler = ctx.pooler;
  return waitFor(ctx, "SUSPEND",
                 [&pooler] { return !pooler.pauseState().suspended || pooler.suspendFlushed(); });
}

Outcome shutdown(Context& ctx, const std::string& arg) {
  ShutdownMode mode = ShutdownMode::kImmediate;
  if (strcasecmp(arg.c_str(), "wait_for_clients") == 0)
    mode = ShutdownMode::kWaitForClients;
  else if (strcasecmp(arg.c_str(), "wait_for_servers") == 0)
    mode = ShutdownMode::kWaitForServers;
  else if (!arg.empty())
    return syntaxError(ctx);
  if (!ctx.admin()) return adminNeeded();
  Pooler& pooler = ctx.pooler;
  if (mode == ShutdownMode::kImmediate) {
    LOG_INFO("SHUTDOWN command issued");
    // As PgBouncer: no answer, the connection ends with the process.
    return Outcome{{}, false, false, [&pooler] { pooler.shutdown(ShutdownMode::kImmediate); }};
  }
  LOG_INFO("SHUTDOWN %s command issued", arg.c_str());
  Outcome out = ready("SHUTDOWN");
  out.after = [&pooler, mode] { pooler.shutdown(mode); };
  return out;
}

Outcome reload(Context& ctx, const std::string& arg) {
  if (!arg.empty()) return syntaxError(ctx);
  if (!ctx.admin()) return adminNeeded();
  LOG_INFO("RELOAD command issued");
  std::string reason;
  if (!ctx.pooler.reload(reason)) {
    LOG_ERROR("RELOAD failed: %s", reason.c_str());
    return error("RELOAD failed, see logs for additional details", "F0000");
  }
  return ready("RELOAD");
}

using Handler = Outcome (*)(Context&, const std::string&);
struct Entry {
  std::string_view verb;
  Handler handler;
};
constexpr Entry kCommands[] = {
    {"disable", disable},
    {"enable", enable},
    {"kill", kill},
    {"kill_client", killClient},
    {"pause", pause},
    {"reconnect", reconnect},
    {"reload", reload},
    {"resume", resume},
    {"select", show},
    {"show", show},
    {"shutdown", shutdown},
    {"suspend", suspend},
    {"wait_close", waitClose},
};

Outcome set(Context& ctx, const std::string& key, const std::string& value) {
  if (isFakeParameter(key)) {
    wire::ErrorSpec notice;
    notice.severity = "NOTICE";
    notice.sqlstate = "00000";
    notice.message = "SET ignored";
    return Outcome{wire::noticeResponse(notice) + wire::commandComplete("SET"), true, false,
                   nullptr};
  }
  if (!ctx.admin()) return adminNeeded();
  const config::KeyInfo* info = config::findKey(key);
  if (info == nullptr) return error("SET failed: unknown parameter '" + key + "'");
  if (!changeableOnline(info->name))
    return error("SET failed: " + std::string(info->name) +
                 " cannot be changed while running; edit the config file and restart");
  auto changed = std::make_shared<config::Config>(ctx.pooler.config());
  std::string reason;
  if (!config::applyKey(*info, value, changed->settings, reason))
    return error("SET failed: " + reason);
  LOG_INFO("SET %s = %s", std::string(info->name).c_str(), value.c_str());
  ctx.pooler.replaceConfig(changed, ctx.pooler.authFile());
  return ready("SET " + key + "=" + value);
}

}  // namespace

std::string consoleError(std::string_view message, std::string_view sqlstate) {
  wire::ErrorSpec spec;
  spec.severity = "ERROR";
  spec.sqlstate = sqlstate;
  spec.message = message;
  return wire::errorResponse(spec);
}

Outcome runCommand(AdminSession& session, std::string_view query) {
  Context ctx{session, session.pooler(), query};
  auto parsed = parseCommand(query);
  if (!parsed) return syntaxError(ctx);
  if (parsed->kind == ParsedCommand::Kind::kSet) return set(ctx, parsed->key, parsed->value);
  for (const Entry& entry : kCommands)
    if (entry.verb == parsed->verb) return entry.handler(ctx, parsed->arg);
  return syntaxError(ctx);
}

void answerFinishedWaits(Pooler& pooler) {
  auto& waiters = pooler.pauseState().waiters;
  if (waiters.empty()) return;
  std::vector<PauseState::Waiter> done;
  std::erase_if(waiters, [&done](PauseState::Waiter& w) {
    if (!w.done()) return false;
    done.push_back(std::move(w));
    return true;
  });
  for (auto& waiter : done) waiter.session->complete(waiter.tag);
}

void pauseAll(Pooler& pooler) {
  pooler.pauseState().all_paused = true;
  for (const auto& [key, pool] : pooler.pools()) pool->closeIdle("pooler paused");
}

void resumeAll(Pooler& pooler) {
  if (pooler.pauseState().suspended) pooler.resumeFromSuspend();
  pooler.pauseState().all_paused = false;
  for (const auto& [key, pool] : pooler.pools()) pool->resume();
}

}  // namespace apibouncer::admin
