// auth_file (userlist.txt) parsing and secret classification (see auth_file.h).
#include "pooler/auth/auth_file.h"

#include <fstream>
#include <sstream>

#include "pooler/auth/scram.h"

namespace apibouncer::auth {

Secret classifySecret(std::string_view text) {
  Secret secret;
  secret.text = std::string(text);
  bool hex = text.size() == 35 && text.starts_with("md5") &&
             text.substr(3).find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (hex) {
    secret.kind = Secret::Kind::kMd5;
  } else if (text.starts_with("SCRAM-SHA-256$") && parseScramSecret(text)) {
    secret.kind = Secret::Kind::kScram;
  }
  return secret;
}

const Secret* AuthFile::find(std::string_view user) const {
  auto it = users.find(user);
  return it == users.end() ? nullptr : &it->second;
}

namespace {

// Reads one double-quoted field starting at `pos` ("" inside means a literal quote).
bool readQuoted(std::string_view line, size_t& pos, std::string& out, std::string& reason) {
  ++pos;  // opening quote
  out.clear();
  while (pos < line.size()) {
    char c = line[pos++];
    if (c != '"') {
      out += c;
      continue;
    }
    if (pos < line.size() && line[pos] == '"') {
      out += '"';
      ++pos;
      continue;
    }
    return true;
  }
  reason = "unterminated quoted field";
  return false;
}

bool parseLine(std::string_view line, std::vector<std::string>& fields, std::string& reason) {
  size_t pos = 0;
  fields.clear();
  while (true) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t' || line[pos] == '\r')) ++pos;
    if (pos >= line.size()) break;
    if (line[pos] != '"') {
      if (fields.size() >= 2) break;  // PgBouncer ignores what follows the second field
      reason = "expected a double-quoted field";
      return false;
    }
    std::string field;
    if (!readQuoted(line, pos, field, reason)) return false;
    fields.push_back(std::move(field));
  }
  if (fields.size() < 2) {
    reason = "expected \"user\" \"password\"";
    return false;
  }
  return true;
}

}  // namespace

bool parseAuthFile(std::string_view contents, AuthFile& out, AuthFileError& error) {
  out.users.clear();
  int line_no = 0;
  size_t start = 0;
  while (start <= contents.size()) {
    size_t nl = contents.find('\n', start);
    std::string_view line =
        contents.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    ++line_no;
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != ';' && line[first] != '#') {
      std::vector<std::string> fields;
      std::string reason;
      if (!parseLine(line, fields, reason)) {
        error = {line_no, reason};
        return false;
      }
      out.users[fields[0]] = classifySecret(fields[1]);
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return true;
}

bool loadAuthFile(const std::string& path, AuthFile& out, AuthFileError& error) {
  std::ifstream in(path);
  if (!in) {
    error = {0, "cannot open auth_file " + path};
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parseAuthFile(ss.str(), out, error);
}

}  // namespace apibouncer::auth
