// One admin console answer as PostgreSQL sends a result: RowDescription with PgBouncer's column
// types, DataRows in text format, CommandComplete. Pure: no sockets, no pooler state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace apibouncer::admin {

using Cell = std::optional<std::string>;  // nullopt is SQL NULL

class ResultSet {
 public:
  // `types` has one letter per column, as PgBouncer's pktbuf_write_RowDescription:
  // 's' text, 'i' int4, 'q' int8, 'b' bytea, 'T' a time shown as text. `names` are the column
  // names.
  ResultSet(std::string_view types, std::vector<std::string_view> names);

  // Appends a row; it must have one cell per column (a short row is padded with NULLs).
  void addRow(std::vector<Cell> cells);

  size_t columnCount() const { return names_.size(); }
  size_t rowCount() const { return rows_.size(); }
  const std::vector<std::string>& columnNames() const { return names_; }
  // One letter per column, as given to the constructor ('s' text; 'i', 'q' numbers ...).
  const std::string& columnTypes() const { return types_; }
  const std::vector<std::vector<Cell>>& rows() const { return rows_; }

  // RowDescription + DataRows + CommandComplete(`tag`) (no ReadyForQuery).
  std::string encode(std::string_view tag = "SHOW") const;

 private:
  std::string types_;
  std::vector<std::string> names_;
  std::vector<std::vector<Cell>> rows_;
};

Cell text(std::string_view value);
Cell number(int64_t value);
Cell number(uint64_t value);
inline Cell number(int value) {
  return number(static_cast<int64_t>(value));
}
Cell boolNumber(bool value);  // 1 / 0, as PgBouncer shows flags

}  // namespace apibouncer::admin
