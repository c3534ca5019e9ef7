// Interceptor: per-database views of the synced tables, the API clients and the write pools
// (interceptor.h). Views are immutable and replaced whole on SIGHUP; running writes keep the
// view and the shared state they started with.
#include "interceptor/interceptor.h"

#include <algorithm>

#include "adapters/api_client.h"
#include "interceptor/apply_retry.h"
#include "interceptor/guard_sql.h"
#include "interceptor/privilege_check.h"
#include "interceptor/write_through.h"

namespace apibouncer::interceptor {

struct DatabaseView {
  SyncConfig config;  // only this database's tables
  Classifier classifier{config};
  uint64_t generation = 0;
  DatabaseView() = default;
  DatabaseView(const DatabaseView&) = delete;
};

struct Interceptor::Shared {
  struct Api {
    ApiConfig config;
    // Shared with the writes using it, and with the next configuration if [api.NAME] did not
    // change: a reload keeps the access token, the rate limit's state and running requests.
    std::shared_ptr<adapters::ApiClient> client;
  };
  std::map<std::string, Api> apis;
  std::map<std::string, std::unique_ptr<WritePool>> pools;  // by database
  std::vector<std::unique_ptr<PrivilegeCheck>> checks;
  std::string writer_user;
  int write_pool_size = 4;
  double api_timeout = 15;
};

Interceptor::Interceptor(uv_loop_t* loop, Connector connector, Logger logger)
    : loop_(loop),
      connector_(std::move(connector)),
      logger_(std::move(logger)),
      shared_(std::make_shared<Shared>()),
      retries_(std::make_unique<ApplyRetries>(loop, logger_)) {}

Interceptor::~Interceptor() = default;

namespace {

std::unique_ptr<adapters::Adapter> makeAdapter(const ApiConfig& api) {
  switch (api.platform) {
    case Platform::kStripe:
      return adapters::makeStripeAdapter(api.base_url);
    case Platform::kSalesforce:
      return adapters::makeSalesforceAdapter(api.base_url);
    case Platform::kHubspot:
      return adapters::makeHubspotAdapter(api.base_url);
    case Platform::kAirtable:
      return adapters::makeAirtableAdapter(api.base_url);
    case Platform::kGithub:
      return adapters::makeGithubAdapter(api.base_url);
    case Platform::kHttp:
      break;
  }
  return adapters::makeGenericHttpAdapter(api.base_url);
}

}  // namespace

std::vector<Interceptor::ApiStatsRow> Interceptor::apiStats() const {
  std::vector<ApiStatsRow> rows;
  for (const auto& [name, api] : shared_->apis) {
    ApiStatsRow row;
    row.name = name;
    row.platform = std::string(platformName(api.config.platform));
    row.oauth = !api.config.refresh_token.empty();
    row.stats = api.client->stats();
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<Interceptor::SyncedTableRow> Interceptor::syncedTables() const {
  std::vector<SyncedTableRow> rows;
  for (const auto& [database, view] : views_)
    for (const TableConfig& table : view->config.tables) {
      SyncedTableRow row;
      row.table = table.schema + "." + table.table;
      row.database = table.database;
      row.api = table.api;
      row.object = table.object;
      row.limits = table.limits;
      if (auto it = write_counts_.find(row.table); it != write_counts_.end()) {
        row.writes_ok = it->second.ok;
        row.writes_refused = it->second.refused;
        row.writes_partial = it->second.partial;
        row.writes_lost = it->second.lost;
      }
      rows.push_back(std::move(row));
    }
  return rows;
}

void Interceptor::configure(const SyncConfig& config) {
  ++generation_;
  auto shared = std::make_shared<Shared>();
  shared->writer_user = config.settings.writer_user;
  shared->write_pool_size = config.settings.write_pool_size;
  shared->api_timeout = config.settings.api_timeout;
  for (const auto& [name, api] : config.apis) {
    Shared::Api entry;
    entry.config = api;
    if (auto old = shared_->apis.find(name);
        old != shared_->apis.end() && old->second.config == api) {
      entry.client = old->second.client;
    } else {
      adapters::ApiSettings settings;
      settings.name = name;
      settings.api_key = api.api_key;
      settings.oauth.client = {api.token_url, api.client_id, api.client_secret};
      if (api.refresh_token.empty()) settings.oauth.client.token_url.clear();
      settings.oauth.refresh_token = api.refresh_token;
      settings.oauth.token_file = api.token_file;
      settings.rate_limit_per_second = api.rate_limit_per_second;
      entry.client =
          std::make_shared<adapters::ApiClient>(loop_, makeAdapter(api), settings, logger_);
    }
    shared->apis.emplace(name, std::move(entry));
  }
  // Write links stay open across a reload that keeps the writer.
  if (shared->writer_user == shared_->writer_user) {
    shared->pools = std::move(shared_->pools);
    for (auto& [db, pool] : shared->pools) {
      pool->resize(shared->write_pool_size);
      pool->columns().clear();  // the tables may have changed
    }
  }
  std::map<std::string, std::shared_ptr<DatabaseView>> views;
  for (const TableConfig& table : config.tables) {
    auto& view = views[table.database];
    if (!view) {
      view = std::make_shared<DatabaseView>();
      view->config.settings = config.settings;
      view->config.apis = config.apis;
      view->generation = generation_;
    }
    view->config.tables.push_back(table);
  }
  views_.clear();
  for (auto& [database, view] : views) views_.emplace(database, std::move(view));
  // Old API clients finish the requests already running: the writes holding them keep them.
  shared_ = std::move(shared);
  checkPrivileges();
}

void Interceptor::checkPrivileges() {
  auto& checks = shared_->checks;
  std::erase_if(checks, [](const auto& check) { return check->done(); });
  for (const auto& [database, view] : views_) {
    std::string error;
    auto conninfo = connector_(database, view->config.settings.writer_user, error);
    if (!conninfo) {
      logger_(true, "cannot check privileges on database " + database + ": " + error);
      continue;
    }
    std::vector<std::string> tables, names;
    for (const TableConfig& table : view->config.tables) {
      tables.push_back(quoteIdentifier(table.schema) + "." + quoteIdentifier(table.table));
      names.push_back(table.table);
    }
    auto catalog_read = [this, database = database](DatabaseCatalog catalog) {
      logger_(false, "unqualified synced table names in database " + database +
                         " resolve along search_path (default " + catalog.search_path + ", " +
                         std::to_string(catalog.role_search_path.size()) + " role default(s))");
      catalogs_[database] = std::make_shared<const DatabaseCatalog>(std::move(catalog));
    };
    checks.push_back(std::make_unique<PrivilegeCheck>(loop_, *conninfo, database,
                                                      view->config.settings.writer_user, tables,
                                                      names, logger_, catalog_read));
    checks.back()->start();
  }
}

void Interceptor::close() {
  // Clearing the maps (not dropping `shared_`) also frees what running writes hold: their
  // callbacks live in the links and clients destroyed here.
  retries_.reset();
  shared_->pools.clear();
  shared_->apis.clear();
  shared_->checks.clear();
  views_.clear();
}

bool Interceptor::intercepts(std::string_view database) const {
  return !views_.empty() && views_.find(database) != views_.end();
}

Decision Interceptor::classify(std::string_view database, std::string_view sql,
                               std::string_view user,
                               const std::vector<std::string>* session_search_path) const {
  Decision decision;
  auto it = views_.find(database);
  if (it == views_.end()) return decision;
  decision.view = it->second;
  const Classifier& classifier = it->second->classifier;
  if (!classifier.mayWriteSyncedTable(sql)) return decision;  // most statements end here
  NameResolution names;
  auto catalog = catalogs_.find(database);
  if (session_search_path != nullptr) {
    names.search_path.clear();
    for (const std::string& schema : *session_search_path)
      names.search_path.push_back(schema == "$user" ? std::string(user) : schema);
  } else {
    std::string path = catalog == catalogs_.end()
                           ? std::string(kDefaultSearchPath)
                           : catalog->second->searchPathOf(std::string(user));
    names.search_path = parseSearchPath(path, user);
  }
  if (catalog != catalogs_.end()) names.relations = &catalog->second->relations;
  decision.classification = classifier.classify(sql, names);
  return decision;
}

Interceptor::CancelWrite Interceptor::write(WriteCall call, std::function<void(WriteReply)> done) {
  const DatabaseView& view = *call.decision.view;
  const SyncedWrite& synced = call.decision.classification.writes.front();
  const TableConfig* table = synced.table;
  const ApiConfig& api = view.config.apis.at(table->api);
  auto shared = shared_;
  auto& pool = shared->pools[table->database];
  if (!pool) {
    std::string error;
    auto conninfo = connector_(table->database, shared->writer_user, error);
    if (!conninfo) {
      WriteReply reply;
      reply.error = PgError{"08006", "cannot reach the database as writer_user: " + error, "",
                            "Check writer_user in [apibouncer] and auth_file."};
      done(std::move(reply));
      return [] {};
    }
    // A row a write must lock may be held by someone else's long transaction: the write
    // gives up after api_timeout with 55P03, before the API sees anything, instead of holding
    // a write link forever.
    long lock_ms = std::max(1L, static_cast<long>(shared->api_timeout * 1000));
    // UTF-8 between writes: the configuration's names are UTF-8 (each write sets the
    // client's own encoding).
    *conninfo += " client_encoding=UTF8 options='-c lock_timeout=" + std::to_string(lock_ms) + "'";
    pool = std::make_unique<WritePool>(loop_, *conninfo, shared->write_pool_size);
  }
  Shared::Api* api_state = nullptr;
  if (auto it = shared->apis.find(table->api); it != shared->apis.end()) api_state = &it->second;
  WriteEnvironment env;
  env.keep_alive =
      std::make_shared<std::pair<std::shared_ptr<Shared>, std::shared_ptr<const DatabaseView>>>(
          shared, call.decision.view);
  env.pool = pool.get();
  env.api_client = api_state ? api_state->client.get() : nullptr;
  env.table = table;
  env.api = &api;
  env.api_timeout = shared->api_timeout;
  size_t index = static_cast<size_t>(table - view.config.tables.data());
  env.stage = "apibouncer_stage_" + std::to_string(view.generation) + "_" + std::to_string(index);
  env.logger = logger_;
  env.retries = retries_.get();
  ++in_flight_;
  std::string table_name = table->schema + "." + table->table;
  auto job =
      std::make_shared<WriteJob>(std::move(env), std::move(call),
                                 [this, table_name, done = std::move(done)](WriteReply reply) {
                                   --in_flight_;
                                   WriteCounts& counts = write_counts_[table_name];
                                   if (!reply.error)
                                     ++counts.ok;
                                   else if (reply.error->sqlstate == "25000")
                                     ++counts.lost;
                                   else if (reply.partial)
                                     ++counts.partial;
                                   else
                                     ++counts.refused;
                                   done(std::move(reply));
                                 });
  job->start();
  return [weak = std::weak_ptr<WriteJob>(job)] {
    if (auto running = weak.lock()) running->cancel();
  };
}

}  // namespace apibouncer::interceptor
