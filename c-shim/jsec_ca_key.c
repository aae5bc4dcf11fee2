/*
 * jsec_ca_key.c — private keys (generate, convert, describe) and PKCS#12 bundles.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "jsec_ca_util.h"

int jsec_ca_key_generate(int type, int param) {
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *key = NULL;
  BIO *out = NULL;
  int rc;
  if (type == JSEC_KEY_RSA && (param < 2048 || param > 8192))
    return ca_fail(JSEC_CA_BAD_SPEC, "RSA keys have 2048 to 8192 bits");
  if (type == JSEC_KEY_EC && param != 256 && param != 384 && param != 521)
    return ca_fail(JSEC_CA_BAD_SPEC, "EC keys use P-256, P-384 or P-521");
  if (type != JSEC_KEY_RSA && type != JSEC_KEY_EC && type != JSEC_KEY_ED25519)
    return ca_fail(JSEC_CA_BAD_SPEC, "unknown key type");
  ctx = EVP_PKEY_CTX_new_id(type == JSEC_KEY_RSA ? EVP_PKEY_RSA : type == JSEC_KEY_EC ? EVP_PKEY_EC : EVP_PKEY_ED25519,
                            NULL);
  if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0) goto fail;
  if (type == JSEC_KEY_RSA && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, param) <= 0) goto fail;
  if (type == JSEC_KEY_EC) {
    int nid = param == 256 ? NID_X9_62_prime256v1 : param == 384 ? NID_secp384r1 : NID_secp521r1;
    if (EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, nid) <= 0) goto fail;
    if (EVP_PKEY_CTX_set_ec_param_enc(ctx, OPENSSL_EC_NAMED_CURVE) <= 0) goto fail;
  }
  if (EVP_PKEY_keygen(ctx, &key) <= 0) goto fail;
  out = ca_out();
  if (!out || !PEM_write_bio_PKCS8PrivateKey(out, key, NULL, NULL, 0, NULL, NULL)) goto fail;
  EVP_PKEY_free(key);
  EVP_PKEY_CTX_free(ctx);
  return ca_finish(out);
fail:
  rc = ca_fail(JSEC_ERROR, "key generation failed");
  BIO_free(out);
  EVP_PKEY_free(key);
  EVP_PKEY_CTX_free(ctx);
  return rc;
}

static int write_key(BIO *out, EVP_PKEY *key, int is_private, int format, const char *out_pass) {
  const EVP_CIPHER *cipher = out_pass ? EVP_aes_256_cbc() : NULL;
  int plen = out_pass ? (int)strlen(out_pass) : 0;
  char *pass = (char *)out_pass; /* OpenSSL 1.1.1 takes a non-const pointer and does not write to it */
  if (format == JSEC_KEY_PUBLIC_PEM) return PEM_write_bio_PUBKEY(out, key);
  if (format == JSEC_KEY_PUBLIC_DER) return i2d_PUBKEY_bio(out, key);
  if (!is_private) return 0; /* a public key has no private form */
  switch (format) {
  case JSEC_KEY_PKCS8_PEM: return PEM_write_bio_PKCS8PrivateKey(out, key, cipher, pass, plen, NULL, NULL);
  case JSEC_KEY_PKCS8_DER: return i2d_PKCS8PrivateKey_bio(out, key, cipher, pass, plen, NULL, NULL);
  case JSEC_KEY_TRADITIONAL_PEM:
    if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA && EVP_PKEY_base_id(key) != EVP_PKEY_EC) return 0;
    return PEM_write_bio_PrivateKey_traditional(out, key, cipher, (unsigned char *)pass, plen, NULL, NULL);
  default: return 0;
  }
}

/* A private key, else a public one; NULL (with the failure recorded in *rc) when neither. */
static EVP_PKEY *load_any_key(const uint8_t *data, int len, const char *pass, int *is_private, int *rc) {
  int status;
  EVP_PKEY *key = ca_load_private(data, len, pass, &status);
  *is_private = key != NULL;
  if (!key && status == JSEC_CA_BAD_PASSPHRASE) {
    *rc = ca_fail(status, "cannot decrypt the key");
    return NULL;
  }
  if (!key) key = ca_load_public(data, len, NULL, &status);
  if (!key) *rc = ca_fail(JSEC_CA_BAD_INPUT, "not a key");
  return key;
}

int jsec_ca_key_export(const uint8_t *data, int len, const char *pass, int format, const char *out_pass) {
  int is_private, rc = JSEC_ERROR;
  EVP_PKEY *key = load_any_key(data, len, pass, &is_private, &rc);
  BIO *out;
  if (!key) return rc;
  out = ca_out();
  if (!out || write_key(out, key, is_private, format, out_pass) <= 0) {
    BIO_free(out);
    EVP_PKEY_free(key);
    return ca_fail(JSEC_CA_BAD_SPEC, "cannot write the key in that format");
  }
  EVP_PKEY_free(key);
  return ca_finish(out);
}

int jsec_ca_key_info(const uint8_t *data, int len, const char *pass) {
  int is_private, rc = JSEC_ERROR;
  EVP_PKEY *key = load_any_key(data, len, pass, &is_private, &rc);
  BIO *out;
  if (!key) return rc;
  out = ca_out();
  if (out) {
    ca_line_key(out, key);
    ca_line_int(out, "private", is_private);
  }
  EVP_PKEY_free(key);
  return ca_finish(out);
}

/* ---- PKCS#12 ---------------------------------------------------------- */

int jsec_ca_p12_export(const uint8_t *key_data, int key_len, const char *key_pass, const uint8_t *certs_data,
                       int certs_len, const char *p12_pass, const char *name) {
  int status, rc;
  EVP_PKEY *key = ca_load_private(key_data, key_len, key_pass, &status);
  STACK_OF(X509) *certs = NULL;
  X509 *leaf = NULL;
  PKCS12 *p12 = NULL;
  BIO *out = NULL;
  if (!key) return ca_fail(status, status == JSEC_CA_BAD_PASSPHRASE ? "cannot decrypt the key" : "not a key");
  certs = ca_load_certs(certs_data, certs_len);
  if (!certs) {
    EVP_PKEY_free(key);
    return ca_fail(JSEC_CA_BAD_INPUT, "not a certificate");
  }
  leaf = sk_X509_shift(certs);
  if (X509_check_private_key(leaf, key) != 1) {
    rc = ca_fail(JSEC_CA_KEY_MISMATCH, "the key does not belong to the certificate");
    goto done;
  }
  p12 = PKCS12_create(p12_pass, name, key, leaf, sk_X509_num(certs) ? certs : NULL, NID_aes_256_cbc,
                      NID_aes_256_cbc, PKCS12_DEFAULT_ITER, PKCS12_DEFAULT_ITER, 0);
#if OPENSSL_VERSION_NUMBER < 0x30000000L
  /* 1.1.1 MACs with SHA-1 by default; use SHA-256 as 3.x does. */
  if (p12 && !PKCS12_set_mac(p12, p12_pass, -1, NULL, 0, PKCS12_DEFAULT_ITER, EVP_sha256())) {
    PKCS12_free(p12);
    p12 = NULL;
  }
#endif
  out = ca_out();
  if (!p12 || !out || i2d_PKCS12_bio(out, p12) <= 0) {
    BIO_free(out);
    rc = ca_fail(JSEC_ERROR, "cannot create the PKCS#12 bundle");
    goto done;
  }
  rc = ca_finish(out);
done:
  PKCS12_free(p12);
  X509_free(leaf);
  sk_X509_pop_free(certs, X509_free);
  EVP_PKEY_free(key);
  return rc;
}

int jsec_ca_p12_import(const uint8_t *der, int len, const char *pass) {
  const unsigned char *p = der;
  PKCS12 *p12 = der && len > 0 ? d2i_PKCS12(NULL, &p, len) : NULL;
  EVP_PKEY *key = NULL;
  X509 *cert = NULL;
  STACK_OF(X509) *chain = NULL;
  BIO *out;
  int rc;
  if (!p12) return ca_fail(JSEC_CA_BAD_INPUT, "not a PKCS#12 bundle");
  if (!PKCS12_verify_mac(p12, pass ? pass : "", -1) && !(pass == NULL && PKCS12_verify_mac(p12, NULL, 0))) {
    PKCS12_free(p12);
    return ca_fail(JSEC_CA_BAD_PASSPHRASE, "wrong passphrase for the PKCS#12 bundle");
  }
  if (!PKCS12_parse(p12, pass ? pass : "", &key, &cert, &chain)) {
    PKCS12_free(p12);
    return ca_fail(JSEC_CA_BAD_INPUT, "cannot read the PKCS#12 bundle");
  }
  out = ca_out();
  if (out && key) PEM_write_bio_PKCS8PrivateKey(out, key, NULL, NULL, 0, NULL, NULL);
  if (out && cert) PEM_write_bio_X509(out, cert);
  for (int i = 0; out && i < sk_X509_num(chain); i++) PEM_write_bio_X509(out, sk_X509_value(chain, i));
  rc = ca_finish(out);
  EVP_PKEY_free(key);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);
  PKCS12_free(p12);
  return rc;
}
