// PrivilegeCheck (see privilege_check.h).
#include "interceptor/privilege_check.h"

namespace apibouncer::interceptor {

const char* const kPrivilegeQuery = R"sql(
WITH synced AS (
  SELECT name, to_regclass(name) AS rel FROM unnest($1::text[]) AS name
), writes AS (
  SELECT unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS priv
)
SELECT 'missing', '', name, '' FROM synced WHERE rel IS NULL
UNION ALL
SELECT CASE WHEN r.rolsuper THEN 'superuser' ELSE 'bypass' END, r.rolname, s.rel::text,
       string_agg(w.priv, ', ' ORDER BY w.priv)
  FROM synced s CROSS JOIN pg_roles r CROSS JOIN writes w
 WHERE s.rel IS NOT NULL AND r.rolcanlogin AND r.rolname <> $2
   AND has_table_privilege(r.oid, s.rel, w.priv)
 GROUP BY r.rolsuper, r.rolname, s.rel
UNION ALL
SELECT 'writer-lacks', $2, s.rel::text, string_agg(need, ', ' ORDER BY need)
  FROM synced s CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS need
 WHERE s.rel IS NOT NULL AND NOT has_table_privilege($2, s.rel, need)
 GROUP BY s.rel
UNION ALL
SELECT 'writer-no-temp', $2, current_database(), 'TEMPORARY'
 WHERE NOT has_database_privilege($2, current_database(), 'TEMPORARY')
ORDER BY 1, 2, 3
)sql";

const char* const kCatalogQuery = R"sql(
SELECT 'role', r.rolname::text, substr(c, 13), s.setdatabase <> 0
  FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) AS c
 WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
   AND c LIKE 'search_path=%'
UNION ALL
SELECT 'database', '', substr(c, 13), true
  FROM pg_db_role_setting s, unnest(s.setconfig) AS c
 WHERE s.setrole = 0 AND c LIKE 'search_path=%'
   AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
UNION ALL
SELECT 'default', '', boot_val, false FROM pg_settings WHERE name = 'search_path'
UNION ALL
SELECT 'relation', n.nspname::text, c.relname::text, false
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
)sql";

namespace {

std::string textArray(const std::vector<std::string>& items) {
  std::string array = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) array += ',';
    array += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') array += '\\';
      array += c;
    }
    array += '"';
  }
  return array + '}';
}

}  // namespace

PrivilegeCheck::PrivilegeCheck(uv_loop_t* loop, std::string conninfo, std::string database,
                               std::string writer_user, std::vector<std::string> tables,
                               std::vector<std::string> names, Interceptor::Logger logger,
                               CatalogRead catalog_read)
    : loop_(loop),
      link_(std::make_unique<WriteLink>(loop, std::move(conninfo))),
      database_(std::move(database)),
      writer_(std::move(writer_user)),
      tables_(std::move(tables)),
      names_(std::move(names)),
      logger_(std::move(logger)),
      catalog_read_(std::move(catalog_read)) {}

void PrivilegeCheck::start() {
  link_->connect([this](bool ok, const std::string& error) {
    if (!ok) {
      onResult(nullptr, error);
      return;
    }
    std::string array = textArray(tables_);
    QueryParams params;
    params.add(array);
    params.add(writer_);
    link_->run(kPrivilegeQuery, &params, 0, [this](ResultPtr result, const std::string& error) {
      onResult(std::move(result), error);
    });
  });
}

void PrivilegeCheck::finish() {
  done_ = true;
  deleteSoon(loop_, link_.release());  // we are inside its callback
}

void PrivilegeCheck::readCatalog() {
  QueryParams params;
  params.add(textArray(names_));
  link_->run(kCatalogQuery, &params, 0,
             [this](ResultPtr result, const std::string&) { onCatalog(std::move(result)); });
}

void PrivilegeCheck::onCatalog(ResultPtr result) {
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    std::string why = result ? PQresultErrorMessage(result.get()) : "connection lost";
    logger_(true, "cannot read search_path defaults of database " + database_ +
                      " (unqualified synced table names resolve in public only): " + why);
    finish();
    return;
  }
  DatabaseCatalog catalog;
  std::string database_path, default_path = std::string(kDefaultSearchPath);
  std::map<std::string, std::string> specific;
  for (int i = 0; i < PQntuples(result.get()); ++i) {
    std::string kind = PQgetvalue(result.get(), i, 0), name = PQgetvalue(result.get(), i, 1),
                value = PQgetvalue(result.get(), i, 2);
    bool for_database = PQgetvalue(result.get(), i, 3)[0] == 't';
    if (kind == "role")
      (for_database ? specific : catalog.role_search_path)[name] = value;
    else if (kind == "database")
      database_path = value;
    else if (kind == "default")
      default_path = value;
    else if (kind == "relation")
      catalog.relations.emplace(name, value);
  }
  // PostgreSQL's order: role in this database, role, database, server.
  for (auto& [role, value] : specific) catalog.role_search_path[role] = value;
  catalog.search_path = database_path.empty() ? default_path : database_path;
  finish();
  catalog_read_(std::move(catalog));
}

void PrivilegeCheck::onResult(ResultPtr result, const std::string& error) {
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    finish();
    std::string why = result ? PQresultErrorMessage(result.get()) : error;
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    logger_(true, "cannot check who may write the synced tables of database " + database_ +
                      " (as writer_user " + writer_ + "): " + why);
    return;
  }
  int rows = PQntuples(result.get()), findings = 0;
  for (int i = 0; i < rows; ++i) {
    std::string kind = PQgetvalue(result.get(), i, 0), role = PQgetvalue(result.get(), i, 1),
                table = PQgetvalue(result.get(), i, 2), privileges = PQgetvalue(result.get(), i, 3);
    findings += kind != "superuser";
    if (kind == "missing")
      logger_(true, "synced table " + table + " does not exist in database " + database_ +
                        ": writes to it fail until it is created");
    else if (kind == "bypass")
      logger_(true, "role " + role + " can " + privileges + " on synced table " + table +
                        " directly, bypassing the API (apibouncer --guard-sql prints the fix)");
    else if (kind == "superuser")  // always true of superusers: noted, not warned about
      logger_(false, "role " + role + " is a superuser and can write synced table " + table +
                         " directly, bypassing the API; keep clients off it");
    else if (kind == "writer-no-temp")
      logger_(true, "writer_user " + role + " may not create temporary tables in database " +
                        database_ +
                        ": synced writes stage their rows in one and will fail (GRANT "
                        "TEMPORARY ON DATABASE ... TO " +
                        role + ")");
    else if (kind == "writer-lacks")
      logger_(true, "writer_user " + role + " lacks " + privileges + " on synced table " + table +
                        ": synced writes to it will fail (apibouncer --guard-sql prints the fix)");
  }
  if (findings == 0)
    logger_(false, "privileges checked: only " + writer_ + " (and superusers) can write the " +
                       std::to_string(tables_.size()) + " synced table(s) of database " +
                       database_);
  readCatalog();
}

}  // namespace apibouncer::interceptor
