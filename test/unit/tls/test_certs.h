// Throwaway test PKI (CA, server, client, unrelated CA) written as PEM files to a temp dir.
#pragma once

#include <memory>
#include <string>

namespace apibouncer::test {

// Paths of the PEM files, all inside TestCerts::directory().
struct CertFiles {
  std::string ca_cert;                  // "apibouncer test CA", self-signed
  std::string server_cert, server_key;  // CN localhost; SAN DNS:localhost, IP:127.0.0.1; by CA
  std::string client_cert, client_key;  // CN alice, RSA key, clientAuth; by CA
  std::string other_ca_cert;            // "other CA", self-signed, unrelated to the CA above
  std::string other_cert, other_key;    // same names as the server cert, but by other CA
};

class TestCerts {
 public:
  // Generates every key and certificate with the OpenSSL API into a fresh mkdtemp directory.
  // nullptr + *error if anything fails (nothing is left behind then).
  static std::unique_ptr<TestCerts> create(std::string* error);
  ~TestCerts();  // removes the directory
  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

  const std::string& directory() const { return directory_; }
  const CertFiles& files() const { return files_; }

 private:
  explicit TestCerts(std::string directory) : directory_(std::move(directory)) {}
  bool generate(std::string* error);

  std::string directory_;
  CertFiles files_;
};

}  // namespace apibouncer::test
