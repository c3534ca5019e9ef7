// The pooler's whole view of the interceptor: is this database intercepted, what does this
// statement mean (pass through, synced write, refusal), and run a synced write, answering
// with what the client must see. Wire encoding stays in the pooler; HTTP stays in adapters.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/api_client.h"
#include "interceptor/api_errors.h"
#include "interceptor/classifier.h"
#include "interceptor/query_params.h"
#include "interceptor/sync_config.h"

namespace apibouncer::interceptor {

// One column of a RowDescription, as PostgreSQL described the RETURNING list.
struct ReplyField {
  std::string name;
  uint32_t table_oid = 0;
  int16_t column = 0;
  uint32_t type_oid = 0;
  int16_t type_size = 0;
  int32_t type_modifier = -1;
  int16_t format = 0;
};

// What the client gets for a synced write (or its refusal).
struct WriteReply {
  std::optional<PgError> error;
  std::vector<std::string> notices;  // sent before the result (e.g. a row already gone upstream)
  bool partial = false;     // with error: some rows were applied (and committed) all the same
  bool has_fields = false;  // RETURNING: send a RowDescription (even for zero rows)
  std::vector<ReplyField> fields;
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::string command_tag;  // "INSERT 0 2", "UPDATE 1", "DELETE 0"
};

struct DatabaseView;  // one database's synced tables and classifier
class ApplyRetries;
struct DatabaseCatalog;

// A statement classified for one database; keeps that configuration alive for the write
// even if SIGHUP replaces it meanwhile.
struct Decision {
  Classification classification;
  std::shared_ptr<const DatabaseView> view;
};

struct WriteCall {
  std::string sql;  // the one statement that writes
  Decision decision;
  QueryParams params;     // extended protocol: the client's bound values
  int result_format = 0;  // RETURNING rows: 0 text, 1 binary
  // The client's session parameters (name, value) the pooler tracks: DateStyle, TimeZone,
  // track_extra_parameters... The write runs with those that shape values (write_through.cc).
  std::vector<std::pair<std::string, std::string>> session_parameters;
};

class Interceptor {
 public:
  // The libpq conninfo for `user` on `database` (a [databases] name), or nullopt + error.
  using Connector = std::function<std::optional<std::string>(
      const std::string& database, const std::string& user, std::string& error)>;
  using Logger = std::function<void(bool warning, const std::string& line)>;

  Interceptor(uv_loop_t* loop, Connector connector, Logger logger);
  ~Interceptor();
  Interceptor(const Interceptor&) = delete;
  Interceptor& operator=(const Interceptor&) = delete;

  // At start and on SIGHUP: the next statement is classified against the new tables.
  void configure(const SyncConfig& config);
  bool intercepts(std::string_view database) const;
  // `user` is the session user (for "$user"); `session_search_path` what the session SET
  // search_path to (schemas as written), or null for the role's and database's default.
  Decision classify(std::string_view database, std::string_view sql, std::string_view user,
                    const std::vector<std::string>* session_search_path = nullptr) const;
  // Stops a running write if it has not called the API yet (it then fails with 57014);
  // later it does nothing. Safe to call after the write finished.
  using CancelWrite = std::function<void()>;
  // Runs the write-through; `done` runs on the loop exactly once (unless the interceptor is
  // destroyed first).
  CancelWrite write(WriteCall call, std::function<void(WriteReply)> done);
  size_t writesInFlight() const { return in_flight_; }
  // One row per [api.NAME]: SHOW APIS.
  struct ApiStatsRow {
    std::string name, platform;
    bool oauth = false;
    adapters::ApiStats stats;
  };
  std::vector<ApiStatsRow> apiStats() const;
  // One row per synced table: SHOW SYNCED_TABLES. Counts are kept across reloads by name.
  struct SyncedTableRow {
    std::string table;  // schema.table
    std::string database, api, object;
    RowLimits limits;
    uint64_t writes_ok = 0;
    uint64_t writes_refused = 0;  // refused before the API applied anything (any error)
    uint64_t writes_partial = 0;  // some rows applied, the statement failed for the others
    uint64_t writes_lost = 0;     // 25000: the API has it, the table not yet
  };
  std::vector<SyncedTableRow> syncedTables() const;
  // Called each time the last write in flight finishes (graceful shutdown waits for it).
  void setIdleCallback(std::function<void()> idle) { idle_ = std::move(idle); }
  // Immediate stop: closes the write links and API clients; writes in flight are abandoned
  // without their answers (the process is exiting).
  void close();

 private:
  struct Shared;
  void checkPrivileges();
  uv_loop_t* loop_;
  Connector connector_;
  Logger logger_;
  std::map<std::string, std::shared_ptr<const DatabaseView>, std::less<>> views_;
  // Read from each database at start and reload, for unqualified names (search_path.h).
  std::map<std::string, std::shared_ptr<const DatabaseCatalog>, std::less<>> catalogs_;
  std::shared_ptr<Shared> shared_;  // API clients and write pools, kept by running writes
  std::unique_ptr<ApplyRetries> retries_;
  std::function<void()> idle_;
  uint64_t generation_ = 0;
  size_t in_flight_ = 0;
  struct WriteCounts {
    uint64_t ok = 0, refused = 0, partial = 0, lost = 0;
  };
  std::map<std::string, WriteCounts> write_counts_;  // by schema.table
};

}  // namespace apibouncer::interceptor
