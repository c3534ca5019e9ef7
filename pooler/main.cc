// apibouncer's entry point: command line, config and auth_file loading, daemonizing, signals,
// and the event loop.
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "interceptor/guard_sql.h"
#include "interceptor/sync_config.h"
#include "pooler/admin/admin_commands.h"
#include "pooler/auth/auth_file.h"
#include "pooler/auth/hba.h"
#include "pooler/config/config.h"
#include "pooler/log.h"
#include "pooler/pooler.h"
#include "pooler/systemd_notify.h"
#include "pooler/tls_setup.h"

using namespace apibouncer;

namespace {

struct Options {
  bool daemon = false;
  bool guard_sql = false;  // print the REVOKE/GRANT script for synced tables and exit
  bool quiet = false;
  int verbose = 0;
  std::string user;
  std::string config_path;
};

void printUsage(const char* argv0) {
  std::printf(
      "apibouncer is a PgBouncer-compatible PostgreSQL connection pooler.\n\n"
      "Usage:\n  %s [OPTION]... CONFIG_FILE\n\nOptions:\n"
      "  -d, --daemon         run in background (as a daemon; needs pidfile)\n"
      "  -q, --quiet          run quietly (no log to stderr)\n"
      "  -v, --verbose        increase verbosity (repeatable)\n"
      "  -u, --user=USERNAME  assume identity of USERNAME\n"
      "      --guard-sql      print the SQL that leaves writes to synced tables to\n"
      "                       writer_user (run it as the tables' owner), then exit\n"
      "  -V, --version        show version, then exit\n"
      "  -h, --help           show this help, then exit\n",
      argv0);
}

// Returns -1 to continue, else the exit status.
int parseArgs(int argc, char** argv, Options& opts) {
  static const option kLong[] = {
      {"daemon", no_argument, nullptr, 'd'},    {"quiet", no_argument, nullptr, 'q'},
      {"verbose", no_argument, nullptr, 'v'},   {"user", required_argument, nullptr, 'u'},
      {"version", no_argument, nullptr, 'V'},   {"help", no_argument, nullptr, 'h'},
      {"guard-sql", no_argument, nullptr, 'G'}, {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "dqvu:Vh", kLong, nullptr)) != -1) {
    switch (c) {
      case 'd':
        opts.daemon = true;
        break;
      case 'q':
        opts.quiet = true;
        break;
      case 'v':
        opts.verbose++;
        break;
      case 'u':
        opts.user = optarg;
        break;
      case 'G':
        opts.guard_sql = true;
        break;
      case 'V':
        std::printf("apibouncer %s\n", APIBOUNCER_VERSION);
        return 0;
      case 'h':
        printUsage(argv[0]);
        return 0;
      default:
        printUsage(argv[0]);
        return 1;
    }
  }
  if (optind != argc - 1) {
    std::fprintf(stderr, "apibouncer: need exactly one config file (see --help)\n");
    return 1;
  }
  opts.config_path = argv[optind];
  return -1;
}

// apibouncer's own sections, validated by the interceptor: a typo in a synced table's section
// must stop the start (or the reload), not leave the table unprotected.
bool checkSyncSections(const config::Config& cfg, std::string& error,
                       interceptor::SyncConfig* out = nullptr) {
  std::vector<interceptor::RawSection> sections;
  for (const auto& [name, entries] : cfg.extra_sections) {
    if (name == "peers") continue;
    interceptor::RawSection section{name, cfg.path, 0, {}};
    for (const auto& [key, value] : entries) {
      section.entries[key] = interceptor::RawValue{value.value, value.file, value.line};
      if (section.line == 0 || value.line < section.line) {
        section.file = value.file;
        section.line = value.line;
      }
    }
    sections.push_back(std::move(section));
  }
  std::set<std::string> databases;
  for (const auto& [name, db] : cfg.databases) databases.insert(name);
  auto parsed = interceptor::parseSyncConfig(sections, databases);
  if (auto* err = std::get_if<interceptor::SyncConfigError>(&parsed)) {
    error = err->message();
    return false;
  }
  if (out != nullptr) *out = std::move(std::get<interceptor::SyncConfig>(parsed));
  return true;
}

// --guard-sql: the roles clients reach PostgreSQL as are the pools' server users: a
// database's forced user, else each auth_file user.
int printGuardSql(const config::Config& cfg, const auth::AuthFile& auth_file) {
  interceptor::SyncConfig sync;
  std::string error;
  if (!checkSyncSections(cfg, error, &sync)) {
    std::fprintf(stderr, "apibouncer: %s\n", error.c_str());
    return 1;
  }
  if (sync.tables.empty()) {
    std::fprintf(stderr, "apibouncer: no [table.SCHEMA.TABLE] sections in %s\n", cfg.path.c_str());
    return 1;
  }
  std::set<std::string> roles;
  for (const auto& [name, db] : cfg.databases)
    if (!db.user.empty()) roles.insert(db.user);
  for (const auto& [user, secret] : auth_file.users) roles.insert(user);
  std::fputs(interceptor::guardSql(sync, roles).c_str(), stdout);
  return 0;
}

// auth_type = hba: the rules come from auth_hba_file (and its maps from auth_ident_file); a
// file that does not parse stops the start (or the reload), as a bad auth_file does.
bool loadHba(const config::Settings& s, std::shared_ptr<const auth::HbaRules>& hba,
             std::string& error) {
  if (s.auth_type != config::AuthType::kHba) return true;
  if (s.auth_hba_file.empty()) {
    error = "auth_type = hba needs auth_hba_file";
    return false;
  }
  auth::HbaParseResult parsed = auth::loadHbaFiles(s.auth_hba_file, s.auth_ident_file);
  if (auto* err = std::get_if<auth::HbaError>(&parsed)) {
    error = err->message();
    return false;
  }
  hba = std::make_shared<const auth::HbaRules>(std::move(std::get<auth::HbaRules>(parsed)));
  return true;
}

// Everything one configuration file leads to; all of it loads, or none of it is used.
struct Loaded {
  std::shared_ptr<const config::Config> cfg;
  auth::AuthFile auth_file;
  interceptor::SyncConfig sync;
  std::shared_ptr<const auth::HbaRules> hba;
  TlsContexts tls;
};

bool loadAll(const std::string& path, Loaded& out, std::string& error) {
  auto result = config::loadConfig(path);
  if (auto* err = std::get_if<config::ConfigError>(&result)) {
    error = err->message();
    return false;
  }
  out.cfg = std::get<std::shared_ptr<const config::Config>>(result);
  if (!checkSyncSections(*out.cfg, error, &out.sync)) return false;
  const std::string& auth_path = out.cfg->settings.auth_file;
  if (!auth_path.empty()) {
    auth::AuthFileError auth_error;
    if (!auth::loadAuthFile(auth_path, out.auth_file, auth_error)) {
      error = auth_path + ":" + std::to_string(auth_error.line) + ": " + auth_error.reason;
      return false;
    }
  }
  return loadHba(out.cfg->settings, out.hba, error) &&
         loadTlsContexts(out.cfg->settings, out.tls, error);
}

void warnAboutConfig(const config::Config& cfg) {
  for (const auto& warning : cfg.warnings) LOG_WARNING("%s", warning.c_str());
  const auto& s = cfg.settings;
  if (s.syslog && !log::syslogFacility(s.syslog_facility))
    LOG_WARNING("unknown syslog_facility '%s', using daemon", s.syslog_facility.c_str());
  bool non_session = cfg.settings.pool_mode != config::PoolMode::kSession;
  for (const auto& [name, db] : cfg.databases)
    non_session |= db.pool_mode && *db.pool_mode != config::PoolMode::kSession;
  for (const auto& [name, user] : cfg.users)
    non_session |= user.pool_mode && *user.pool_mode != config::PoolMode::kSession;
  if (non_session && cfg.settings.max_prepared_statements <= 0)
    LOG_WARNING(
        "max_prepared_statements = 0: named prepared statements of the protocol fail in "
        "transaction and statement pooling");
}

void warnAboutHba(const auth::HbaRules* hba) {
  if (hba == nullptr) return;
  for (const auto& warning : hba->warnings) LOG_WARNING("%s", warning.c_str());
  LOG_INFO("auth_hba_file: %zu rule(s) loaded", hba->rules.size());
}

bool daemonize(std::string& error) {
  pid_t pid = fork();
  if (pid < 0) {
    error = std::string("fork failed: ") + strerror(errno);
    return false;
  }
  if (pid > 0) _exit(0);
  setsid();
  int fd = open("/dev/null", O_RDWR);
  if (fd >= 0) {
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO) close(fd);
  }
  return true;
}

bool writePidfile(const std::string& path, std::string& error) {
  if (path.empty()) return true;
  FILE* existing = std::fopen(path.c_str(), "r");
  if (existing != nullptr) {
    long pid = 0;
    bool alive = std::fscanf(existing, "%ld", &pid) == 1 && pid > 0 && kill(pid, 0) == 0;
    std::fclose(existing);
    if (alive) {
      error = "pidfile " + path + " exists and process " + std::to_string(pid) + " is running";
      return false;
    }
  }
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    error = "cannot write pidfile " + path + ": " + strerror(errno);
    return false;
  }
  std::fprintf(f, "%d\n", getpid());
  std::fclose(f);
  return true;
}

bool switchUser(const std::string& user, std::string& error) {
  if (user.empty()) return true;
  passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    error = "unknown user: " + user;
    return false;
  }
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
      setuid(pw->pw_uid) != 0) {
    error = "cannot switch to user " + user + ": " + strerror(errno);
    return false;
  }
  return true;
}

void raiseFileLimit() {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// logfile, syslog and verbosity; -q / -d silence stderr, each -v adds to `verbose`.
void configureLog(const config::Settings& s, const Options& opts) {
  log::configure({s.logfile, !opts.quiet && !opts.daemon, s.verbose + opts.verbose, s.syslog,
                  s.syslog_ident, s.syslog_facility});
}

struct SignalContext {
  Pooler* pooler;
  std::string config_path;
  Options* opts;
};

// SIGHUP and the console's RELOAD: re-reads the config file and auth_file for new connections.
// False with `error` set (the old configuration stays) if they do not load.
bool reloadConfig(SignalContext& ctx, std::string& error) {
  Loaded loaded;
  systemd::notifyReloading();
  if (!loadAll(ctx.config_path, loaded, error)) {
    LOG_ERROR("reload failed, keeping the old configuration: %s", error.c_str());
    systemd::notifyReady();
    return false;
  }
  const auto& s = loaded.cfg->settings;
  configureLog(s, *ctx.opts);
  warnAboutConfig(*loaded.cfg);
  warnAboutHba(loaded.hba.get());
  ctx.pooler->replaceConfig(loaded.cfg, std::move(loaded.auth_file));
  ctx.pooler->setHbaRules(std::move(loaded.hba));
  ctx.pooler->setTlsContexts(std::move(loaded.tls));
  ctx.pooler->configureInterceptor(loaded.sync);
  systemd::notifyReady();
  return true;
}

void onSignal(uv_signal_t* handle, int signum) {
  auto* ctx = static_cast<SignalContext*>(handle->data);
  switch (signum) {
    case SIGINT:
      LOG_INFO("got SIGINT");
      ctx->pooler->shutdown(ShutdownMode::kWaitForServers);
      break;
    case SIGTERM:
      LOG_INFO("got SIGTERM");
      ctx->pooler->shutdown(ShutdownMode::kWaitForClients);
      break;
    case SIGQUIT:
      LOG_INFO("got SIGQUIT");
      ctx->pooler->shutdown(ShutdownMode::kImmediate);
      break;
    case SIGHUP: {
      LOG_INFO("got SIGHUP, reloading %s", ctx->config_path.c_str());
      std::string error;
      reloadConfig(*ctx, error);
      break;
    }
    case SIGUSR1: {
      const admin::PauseState& state = ctx->pooler->pauseState();
      if (state.all_paused || state.suspended) {
        LOG_INFO("got SIGUSR1, but already paused/suspended");
        break;
      }
      LOG_INFO("got SIGUSR1, pausing all activity");
      admin::pauseAll(*ctx->pooler);
      break;
    }
    case SIGUSR2:
      LOG_INFO("got SIGUSR2, resuming all activity");
      admin::resumeAll(*ctx->pooler);
      break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  if (int status = parseArgs(argc, argv, opts); status >= 0) return status;

  Loaded loaded;
  std::string error;
  if (!loadAll(opts.config_path, loaded, error)) {
    std::fprintf(stderr, "apibouncer: %s\n", error.c_str());
    return 1;
  }
  std::shared_ptr<const config::Config> cfg = loaded.cfg;
  if (opts.guard_sql) return printGuardSql(*cfg, loaded.auth_file);
  const auto& s = cfg->settings;
  if (opts.daemon && s.pidfile.empty()) {
    std::fprintf(stderr, "apibouncer: -d needs pidfile in the config\n");
    return 1;
  }
  configureLog(s, opts);
  warnAboutConfig(*cfg);
  warnAboutHba(loaded.hba.get());
  signal(SIGPIPE, SIG_IGN);
  raiseFileLimit();
  if (opts.daemon && !daemonize(error)) {
    LOG_ERROR("%s", error.c_str());
    return 1;
  }

  uv_loop_t* loop = uv_default_loop();
  Pooler pooler(loop, cfg, std::move(loaded.auth_file));
  pooler.setHbaRules(std::move(loaded.hba));
  pooler.setTlsContexts(std::move(loaded.tls));
  pooler.configureInterceptor(loaded.sync);
  if (!pooler.start(error)) {
    LOG_ERROR("%s", error.c_str());
    return 1;
  }
  std::string user = opts.user.empty() ? s.user : opts.user;
  if (!switchUser(user, error) || !writePidfile(s.pidfile, error)) {
    LOG_ERROR("%s", error.c_str());
    return 1;
  }
  LOG_INFO("apibouncer %s started, process id %d", APIBOUNCER_VERSION, getpid());

  SignalContext ctx{&pooler, opts.config_path, &opts};
  pooler.setReloader([&ctx](std::string& error) { return reloadConfig(ctx, error); });
  uv_signal_t signals[6];
  const int kSignals[6] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};
  for (int i = 0; i < 6; ++i) {
    uv_signal_init(loop, &signals[i]);
    signals[i].data = &ctx;
    uv_signal_start(&signals[i], onSignal, kSignals[i]);
  }
  systemd::notifyReady();  // listening, and reloads are handled from here on
  uv_run(loop, UV_RUN_DEFAULT);
  for (auto& sig : signals) uv_close(reinterpret_cast<uv_handle_t*>(&sig), nullptr);
  uv_run(loop, UV_RUN_DEFAULT);  // lets every close callback run
  if (!s.pidfile.empty()) unlink(s.pidfile.c_str());
  LOG_INFO("shutdown complete");
  return 0;
}
