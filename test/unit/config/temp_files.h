// Temporary ini files for config tests, removed at scope exit.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/apibouncer-config-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path_ + "'";
    if (std::system(cmd.c_str()) != 0) return;
  }
  // Writes `name` inside the directory and returns its full path.
  std::string write(const std::string& name, const std::string& text) const {
    std::string full = path_ + "/" + name;
    std::ofstream(full) << text;
    return full;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};
