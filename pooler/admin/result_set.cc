// Encoding admin console results (see result_set.h).
#include "pooler/admin/result_set.h"

#include "pooler/wire/writer.h"

namespace apibouncer::admin {
namespace {

// PostgreSQL type OIDs and sizes for PgBouncer's column letters.
wire::FieldSpec fieldFor(char type, std::string_view name) {
  wire::FieldSpec field;
  field.name = name;
  switch (type) {
    case 'i':
      field.type_oid = 23;  // int4
      field.type_size = 4;
      break;
    case 'q':
      field.type_oid = 20;  // int8
      field.type_size = 8;
      break;
    case 'b':
      field.type_oid = 17;  // bytea
      field.type_size = -1;
      break;
    default:
      field.type_oid = 25;  // text
      field.type_size = -1;
      break;
  }
  return field;
}

}  // namespace

ResultSet::ResultSet(std::string_view types, std::vector<std::string_view> names) : types_(types) {
  names_.reserve(names.size());
  for (std::string_view name : names) names_.emplace_back(name);
  types_.resize(names_.size(), 's');
}

void ResultSet::addRow(std::vector<Cell> cells) {
  cells.resize(names_.size());
  rows_.push_back(std::move(cells));
}

std::string ResultSet::encode(std::string_view tag) const {
  std::vector<wire::FieldSpec> fields;
  fields.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) fields.push_back(fieldFor(types_[i], names_[i]));
  std::string out = wire::typedRowDescription(fields);
  for (const auto& row : rows_) out += wire::nullableDataRow(row);
  out += wire::commandComplete(tag);
  return out;
}

Cell text(std::string_view value) {
  return std::string(value);
}

Cell number(int64_t value) {
  return std::to_string(value);
}

Cell number(uint64_t value) {
  return std::to_string(value);
}

Cell boolNumber(bool value) {
  return std::string(value ? "1" : "0");
}

}  // namespace apibouncer::admin
