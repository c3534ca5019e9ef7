// Protocol-level prepared statements in transaction and statement pooling
// (max_prepared_statements, PgBouncer's semantics). A client's named statement is known to the
// servers under a name of the pooler's, shared by every client that prepared the same text
// and parameter types; each server link remembers which of those it has prepared (an LRU of
// at most max_prepared_statements), so a statement is prepared once per link, not per client.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace apibouncer {

struct PreparedStatement {
  std::string server_name;    // the name it has on every server link
  std::string definition;     // Parse body after the name: query, NUL, parameter type OIDs
  bool may_drop_all = false;  // its query mentions DEALLOCATE or DISCARD (see below)
};
using StatementRef = std::shared_ptr<const PreparedStatement>;

// Whether `sql` may be a DEALLOCATE ALL or DISCARD ALL, which drop every prepared statement of
// the session: true whenever it mentions either word, in any case, comments and literals
// included. The pooler only needs to know when such a drop may be on its way, so it errs on
// the side of yes; the cost of a wrong yes is a statement prepared again.
bool mayDropAllStatements(std::string_view sql);

// The statement name of `sql` if it is exactly one SQL-level DEALLOCATE [PREPARE] name
// (psycopg 3.1 retires a protocol-level statement that way), folded as PostgreSQL folds an
// identifier; nullopt for anything else, DEALLOCATE ALL included.
std::optional<std::string> deallocatedName(std::string_view sql);

// One entry per distinct definition, alive while a client or a link holds it.
class StatementRegistry {
 public:
  StatementRegistry();
  StatementRef intern(std::string_view definition);
  size_t size() const { return by_definition_->size(); }

 private:
  using Map = std::unordered_map<std::string_view, std::weak_ptr<const PreparedStatement>>;
  std::shared_ptr<Map> by_definition_;  // keys view into the statements' own definitions
  uint64_t next_id_ = 1;
};

// The statements prepared on one server link, most recently used first.
class ServerStatementCache {
 public:
  // True if `statement` is prepared here; it becomes the most recently used.
  bool touch(const PreparedStatement* statement);
  // Records `statement` as prepared here and returns those to close so that at most
  // `capacity` stay (least recently used first).
  std::vector<StatementRef> add(StatementRef statement, size_t capacity);
  void remove(const PreparedStatement* statement);
  void clear();
  // Forgets every statement but `kept` (a drop-all ran; these were prepared after it).
  void retainOnly(std::span<const PreparedStatement* const> kept);
  size_t size() const { return index_.size(); }

 private:
  std::list<StatementRef> lru_;
  std::unordered_map<const PreparedStatement*, std::list<StatementRef>::iterator> index_;
};

// A client's statements by the names it gave them.
class ClientStatements {
 public:
  const StatementRef* find(std::string_view name) const;
  void add(std::string_view name, StatementRef statement);
  void remove(std::string_view name);
  void clear() { by_name_.clear(); }
  // Forgets every name but `kept`.
  void retainOnly(std::span<const std::string_view> kept);
  bool empty() const { return by_name_.empty(); }
  size_t size() const { return by_name_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, StatementRef, Hash, std::equal_to<>> by_name_;
};

}  // namespace apibouncer
