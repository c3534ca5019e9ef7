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

PrivilegeCheck::PrivilegeCheck(uv_loop_t* loop, std::string conninfo, std::string database,
                               std::string writer_user, std::vector<std::string> tables,
                               Interceptor::Logger logger)
    : loop_(loop),
      link_(std::make_unique<WriteLink>(loop, std::move(conninfo))),
      database_(std::move(database)),
      writer_(std::move(writer_user)),
      tables_(std::move(tables)),
      logger_(std::move(logger)) {}

void PrivilegeCheck::start() {
  link_->connect([this](bool ok, const std::string& error) {
    if (!ok) {
      onResult(nullptr, error);
      return;
    }
    std::string array = "{";
    for (size_t i = 0; i < tables_.size(); ++i) {
      if (i > 0) array += ',';
      array += '"';
      for (char c : tables_[i]) {
        if (c == '"' || c == '\\') array += '\\';
        array += c;
      }
      array += '"';
    }
    array += '}';
    QueryParams params;
    params.add(array);
    params.add(writer_);
    link_->run(kPrivilegeQuery, &params, 0, [this](ResultPtr result, const std::string& error) {
      onResult(std::move(result), error);
    });
  });
}

void PrivilegeCheck::onResult(ResultPtr result, const std::string& error) {
  done_ = true;
  deleteSoon(loop_, link_.release());  // we are inside its callback
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
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
}

}  // namespace apibouncer::interceptor
