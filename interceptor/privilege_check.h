// At start and on every reload: for each database with synced tables, asks PostgreSQL (as
// writer_user) which login roles besides writer_user could write a synced table directly —
// bypassing the API — and whether writer_user itself has what the write-through needs, and
// logs a warning for each finding. It only warns: the guard SQL (apibouncer --guard-sql) is
// the fix, and refusing to start would turn a misconfigured grant into an outage.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "interceptor/interceptor.h"
#include "interceptor/search_path.h"
#include "interceptor/write_link.h"

namespace apibouncer::interceptor {

// What resolving unqualified names needs from a database's catalog (search_path.h).
struct DatabaseCatalog {
  std::map<std::string, std::string> role_search_path;  // role -> its default, if it has one
  std::string search_path{kDefaultSearchPath};          // the database's (or server's) default
  std::set<QualifiedName> relations;                    // every relation named like a synced table
  std::string searchPathOf(const std::string& role) const {
    auto it = role_search_path.find(role);
    return it == role_search_path.end() ? search_path : it->second;
  }
};

class PrivilegeCheck {
 public:
  using CatalogRead = std::function<void(DatabaseCatalog)>;
  // `tables` are quoted qualified names ("public"."customers").
  // `names` are the synced tables' bare names; `catalog_read` gets what search_path
  // resolution needs once it is read (after the privilege query).
  PrivilegeCheck(uv_loop_t* loop, std::string conninfo, std::string database,
                 std::string writer_user, std::vector<std::string> tables,
                 std::vector<std::string> names, Interceptor::Logger logger,
                 CatalogRead catalog_read);
  void start();
  bool done() const { return done_; }

 private:
  void onResult(ResultPtr result, const std::string& error);
  void readCatalog();
  void onCatalog(ResultPtr result);
  void finish();

  uv_loop_t* loop_;
  std::unique_ptr<WriteLink> link_;
  std::string database_, writer_;
  std::vector<std::string> tables_, names_;
  Interceptor::Logger logger_;
  CatalogRead catalog_read_;
  bool done_ = false;
};

// The query behind the check: rows of (kind, role, table, privileges), kind one of
// "missing" (the table does not exist), "bypass" (role can write it), "superuser",
// "writer-lacks" (writer_user misses privileges), "writer-no-temp" (it may not create the
// temp tables writes are staged in). $1 = text[] of tables, $2 = writer_user.
extern const char* const kPrivilegeQuery;
// Rows of (kind, name, value, specific): "role" (a role's search_path default; specific = for
// this database only), "database", "default" (the server's), "relation" (schema, name).
// $1 = text[] of the synced tables' bare names.
extern const char* const kCatalogQuery;

}  // namespace apibouncer::interceptor
