// Decides what a SQL string means for the interceptor: pass it through (no synced table is
// written), divert a write to a synced table, or refuse it with a clear error. A cheap scan
// comes first (a write keyword anywhere at a word boundary *and* a synced table's name
// anywhere); only text passing both is parsed with libpg_query. Text that names a synced table
// but cannot be parsed safely (too long to parse within the stack, or a syntax error) is
// refused, never passed through: fail closed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "interceptor/search_path.h"
#include "interceptor/sync_config.h"

namespace apibouncer::interceptor {

enum class WriteKind { kInsert, kUpdate, kDelete };

// One statement of the text that writes a synced table.
struct SyncedWrite {
  WriteKind kind = WriteKind::kInsert;
  const TableConfig* table = nullptr;
  bool on_conflict_do_nothing = false;
  bool returning = false;
  size_t offset = 0, length = 0;  // the statement within the text
};

struct Refusal {
  std::string sqlstate, message, hint;
};

struct Classification {
  enum class Kind { kPassThrough, kSyncedWrite, kRefused };
  Kind kind = Kind::kPassThrough;
  std::vector<SyncedWrite> writes;  // kSyncedWrite, in statement order
  Refusal refusal;                  // kRefused
  size_t statements = 0;            // statements in the text, when it was parsed
  bool parsed = false;              // libpg_query ran
};

// Longest text that is parsed: libpg_query has no stack-depth guard and needs about 120
// bytes of stack per nesting level (more on its protobuf path); text longer than
// kSmallStatementBytes is parsed on a thread with a large stack (large_stack.h).
constexpr size_t kMaxParsedSql = 64 * 1024;

class Classifier {
 public:
  explicit Classifier(const SyncConfig& config) : config_(config) {}

  // `names`: how unqualified table names resolve for this client (default: public only).
  Classification classify(std::string_view sql, const NameResolution& names = {}) const;
  // The cheap gate: false means the text cannot write a synced table.
  bool mayWriteSyncedTable(std::string_view sql) const;

 private:
  const SyncConfig& config_;
};

// True if `sql` contains `word` (ASCII, any case) with no identifier character on either side.
bool containsWord(std::string_view sql, std::string_view word);

}  // namespace apibouncer::interceptor
