// Generates the test PKI with OpenSSL's key, X509 builder and PEM APIs.
#include "test/unit/tls/test_certs.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>

namespace apibouncer::test {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct CertSpec {
  const char* common_name;
  bool is_ca = false;
  const char* alt_names = nullptr;       // subjectAltName value
  const char* extended_usage = nullptr;  // extendedKeyUsage value
};

// Who signs: nullptr cert = self-signed with the subject's own key.
struct Signer {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
};

bool addExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* extension = X509V3_EXT_nconf_nid(nullptr, ctx, nid, value);
  if (extension == nullptr) return false;
  bool ok = X509_add_ext(cert, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return ok;
}

bool setNames(X509* cert, const CertSpec& spec, const Signer& signer) {
  X509_NAME* subject = X509_get_subject_name(cert);
  auto text = [](const char* s) { return reinterpret_cast<const unsigned char*>(s); };
  if (X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, text("apibouncer tests"), -1, -1, 0) !=
          1 ||
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, text(spec.common_name), -1, -1, 0) !=
          1)
    return false;
  return X509_set_issuer_name(cert, signer.cert ? X509_get_subject_name(signer.cert) : subject) ==
         1;
}

bool addExtensions(X509* cert, const CertSpec& spec, const Signer& signer) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, signer.cert ? signer.cert : cert, cert, nullptr, nullptr, 0);
  bool ok =
      addExtension(cert, &ctx, NID_basic_constraints,
                   spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
      addExtension(cert, &ctx, NID_key_usage,
                   spec.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
      addExtension(cert, &ctx, NID_subject_key_identifier, "hash");
  if (ok && signer.cert != nullptr)
    ok = addExtension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
  if (ok && spec.alt_names != nullptr)
    ok = addExtension(cert, &ctx, NID_subject_alt_name, spec.alt_names);
  if (ok && spec.extended_usage != nullptr)
    ok = addExtension(cert, &ctx, NID_ext_key_usage, spec.extended_usage);
  return ok;
}

CertPtr makeCert(const CertSpec& spec, EVP_PKEY* key, const Signer& signer) {
  static long serial = 1000;
  CertPtr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1 || !setNames(cert.get(), spec, signer) ||
      !addExtensions(cert.get(), spec, signer))
    return nullptr;
  if (X509_sign(cert.get(), signer.key ? signer.key : key, EVP_sha256()) <= 0) return nullptr;
  return cert;
}

bool writeCert(const std::string& path, X509* cert) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  return bio && PEM_write_bio_X509(bio.get(), cert) == 1;
}

bool writeKey(const std::string& path, EVP_PKEY* key) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  return bio &&
         PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
}

KeyPtr ecKey() {
  return KeyPtr(EVP_EC_gen("P-256"));
}

}  // namespace

std::unique_ptr<TestCerts> TestCerts::create(std::string* error) {
  char pattern[] = "/tmp/apibouncer-tls-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    *error = "mkdtemp failed";
    return nullptr;
  }
  std::unique_ptr<TestCerts> certs(new TestCerts(pattern));
  if (!certs->generate(error)) return nullptr;
  return certs;
}

TestCerts::~TestCerts() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

bool TestCerts::generate(std::string* error) {
  auto path = [this](const char* name) { return directory_ + "/" + name; };
  KeyPtr ca_key = ecKey(), server_key = ecKey(), other_ca_key = ecKey(), other_key = ecKey();
  KeyPtr client_key(EVP_RSA_gen(2048));
  if (!ca_key || !server_key || !other_ca_key || !other_key || !client_key) {
    *error = "key generation failed";
    return false;
  }
  CertPtr ca = makeCert({"apibouncer test CA", true}, ca_key.get(), {});
  CertPtr other_ca = makeCert({"other CA", true}, other_ca_key.get(), {});
  if (!ca || !other_ca) {
    *error = "CA certificate generation failed";
    return false;
  }
  const CertSpec server{"localhost", false, "DNS:localhost,IP:127.0.0.1", "serverAuth"};
  CertPtr server_cert = makeCert(server, server_key.get(), {ca.get(), ca_key.get()});
  CertPtr other_cert = makeCert(server, other_key.get(), {other_ca.get(), other_ca_key.get()});
  CertPtr client_cert =
      makeCert({"alice", false, nullptr, "clientAuth"}, client_key.get(), {ca.get(), ca_key.get()});
  files_ = {path("ca.pem"),     path("server.pem"),   path("server.key"), path("client.pem"),
            path("client.key"), path("other-ca.pem"), path("other.pem"),  path("other.key")};
  bool ok = server_cert && other_cert && client_cert && writeCert(files_.ca_cert, ca.get()) &&
            writeCert(files_.server_cert, server_cert.get()) &&
            writeKey(files_.server_key, server_key.get()) &&
            writeCert(files_.client_cert, client_cert.get()) &&
            writeKey(files_.client_key, client_key.get()) &&
            writeCert(files_.other_ca_cert, other_ca.get()) &&
            writeCert(files_.other_cert, other_cert.get()) &&
            writeKey(files_.other_key, other_key.get());
  ERR_clear_error();
  if (!ok) *error = "certificate generation or writing failed in " + directory_;
  return ok;
}

}  // namespace apibouncer::test
