// Statement registry, per-link LRU and per-client names (see prepared_statements.h).
#include "pooler/prepared_statements.h"

#include <algorithm>
#include <cctype>

namespace apibouncer {

namespace {

// Whether `text` begins with `upper` (written in upper case), in any case.
bool startsWithUpper(std::string_view text, std::string_view upper) {
  if (text.size() < upper.size()) return false;
  for (size_t i = 0; i < upper.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(text[i])) != upper[i]) return false;
  return true;
}

// Reads SQL left to right: whitespace, keywords, one identifier.
struct SqlReader {
  std::string_view rest;
  void skipSpace() {
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front())))
      rest.remove_prefix(1);
  }
  // Takes `upper` (a keyword in upper case) followed by whitespace or the end.
  bool keyword(std::string_view upper) {
    skipSpace();
    if (!startsWithUpper(rest, upper)) return false;
    if (rest.size() > upper.size() && !std::isspace(static_cast<unsigned char>(rest[upper.size()])))
      return false;
    rest.remove_prefix(upper.size());
    return true;
  }
  // An identifier: "quoted" as written ("" for a quote), or plain and folded to lower case.
  std::optional<std::string> identifier() {
    skipSpace();
    std::string name;
    if (!rest.empty() && rest.front() == '"') {
      for (size_t i = 1; i < rest.size(); ++i) {
        if (rest[i] != '"') {
          name += rest[i];
        } else if (i + 1 < rest.size() && rest[i + 1] == '"') {
          name += '"';
          ++i;
        } else {
          rest.remove_prefix(i + 1);
          return name.empty() ? std::nullopt : std::optional(name);
        }
      }
      return std::nullopt;  // unterminated
    }
    auto plain = [](char c, bool first) {
      return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
             (!first && (std::isdigit(static_cast<unsigned char>(c)) || c == '$'));
    };
    while (!rest.empty() && plain(rest.front(), name.empty())) {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(rest.front())));
      rest.remove_prefix(1);
    }
    return name.empty() ? std::nullopt : std::optional(name);
  }
  // Only whitespace and at most one semicolon left.
  bool atEnd() {
    skipSpace();
    if (!rest.empty() && rest.front() == ';') rest.remove_prefix(1);
    skipSpace();
    return rest.empty();
  }
};

}  // namespace

bool mayDropAllStatements(std::string_view sql) {
  for (size_t i = 0; i < sql.size(); ++i) {
    if ((sql[i] | 0x20) != 'd') continue;
    std::string_view rest = sql.substr(i + 1);
    if (startsWithUpper(rest, "EALLOCATE") || startsWithUpper(rest, "ISCARD")) return true;
  }
  return false;
}

std::optional<std::string> deallocatedName(std::string_view sql) {
  SqlReader reader{sql};
  if (!reader.keyword("DEALLOCATE")) return std::nullopt;
  SqlReader after_prepare = reader;
  if (after_prepare.keyword("PREPARE")) reader = after_prepare;
  bool quoted = (reader.skipSpace(), !reader.rest.empty() && reader.rest.front() == '"');
  std::optional<std::string> name = reader.identifier();
  if (!name || !reader.atEnd()) return std::nullopt;
  if (!quoted && *name == "all") return std::nullopt;  // DEALLOCATE ALL
  return name;
}

StatementRegistry::StatementRegistry() : by_definition_(std::make_shared<Map>()) {}

StatementRef StatementRegistry::intern(std::string_view definition) {
  auto it = by_definition_->find(definition);
  if (it != by_definition_->end()) {
    if (StatementRef existing = it->second.lock()) return existing;
  }
  auto* statement =
      new PreparedStatement{"apibouncer_" + std::to_string(next_id_++), std::string(definition)};
  // The query is the definition up to its NUL (the parameter types follow).
  statement->may_drop_all = mayDropAllStatements(definition.substr(0, definition.find('\0')));
  // The last holder removes the entry; the registry may already be gone at shutdown.
  std::weak_ptr<Map> map = by_definition_;
  StatementRef ref(statement, [map](const PreparedStatement* s) {
    if (auto m = map.lock()) {
      auto found = m->find(s->definition);
      if (found != m->end() && found->first.data() == s->definition.data()) m->erase(found);
    }
    delete s;
  });
  if (it != by_definition_->end()) by_definition_->erase(it);  // expired, not yet removed
  by_definition_->emplace(ref->definition, ref);
  return ref;
}

bool ServerStatementCache::touch(const PreparedStatement* statement) {
  auto it = index_.find(statement);
  if (it == index_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second);
  return true;
}

std::vector<StatementRef> ServerStatementCache::add(StatementRef statement, size_t capacity) {
  std::vector<StatementRef> evicted;
  if (touch(statement.get())) return evicted;
  lru_.push_front(std::move(statement));
  index_.emplace(lru_.front().get(), lru_.begin());
  while (lru_.size() > capacity && lru_.size() > 1) {
    index_.erase(lru_.back().get());
    evicted.push_back(std::move(lru_.back()));
    lru_.pop_back();
  }
  return evicted;
}

void ServerStatementCache::remove(const PreparedStatement* statement) {
  auto it = index_.find(statement);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

void ServerStatementCache::clear() {
  index_.clear();
  lru_.clear();
}

void ServerStatementCache::retainOnly(std::span<const PreparedStatement* const> kept) {
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (std::find(kept.begin(), kept.end(), it->get()) != kept.end()) {
      ++it;
      continue;
    }
    index_.erase(it->get());
    it = lru_.erase(it);
  }
}

const StatementRef* ClientStatements::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

void ClientStatements::add(std::string_view name, StatementRef statement) {
  by_name_.insert_or_assign(std::string(name), std::move(statement));
}

void ClientStatements::remove(std::string_view name) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) by_name_.erase(it);
}

void ClientStatements::retainOnly(std::span<const std::string_view> kept) {
  std::erase_if(by_name_, [kept](const auto& entry) {
    return std::find(kept.begin(), kept.end(), entry.first) == kept.end();
  });
}

}  // namespace apibouncer
