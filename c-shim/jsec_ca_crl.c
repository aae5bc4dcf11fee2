/*
 * jsec_ca_crl.c — building and describing certificate revocation lists (RFC 5280 section 5).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "jsec_ca_util.h"

struct crl_build {
  X509_CRL *crl;
  int have_this, have_next;
  char md[32];
};

static int bad(const char *what) { return ca_fail(JSEC_CA_BAD_SPEC, what); }

/* "SERIAL UNIX REASON" */
static int add_revoked(X509_CRL *crl, char *value) {
  char *save = NULL;
  char *serial_hex = strtok_r(value, " ", &save);
  char *when = strtok_r(NULL, " ", &save);
  char *reason_text = strtok_r(NULL, " ", &save);
  long long t;
  long reason;
  ASN1_INTEGER *serial;
  ASN1_TIME *at;
  X509_REVOKED *rev;
  int ok;
  if (!serial_hex || !when || !reason_text || !ca_parse_time(when, &t)) return bad("a revoked line is not SERIAL TIME REASON");
  reason = strtol(reason_text, NULL, 10);
  if (reason < -1 || reason > 10 || reason == 7) return bad("a revocation reason is not an RFC 5280 code");
  serial = ca_parse_serial(serial_hex);
  at = ASN1_TIME_set(NULL, (time_t)t);
  rev = X509_REVOKED_new();
  ok = serial && at && rev && X509_REVOKED_set_serialNumber(rev, serial) && X509_REVOKED_set_revocationDate(rev, at);
  if (ok && reason >= 0) {
    ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
    ok = e && ASN1_ENUMERATED_set(e, reason) && X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e, 0, 0);
    ASN1_ENUMERATED_free(e);
  }
  ASN1_INTEGER_free(serial);
  ASN1_TIME_free(at);
  if (!ok || !X509_CRL_add0_revoked(crl, rev)) {
    X509_REVOKED_free(rev);
    return bad("a revoked entry is not valid");
  }
  return 0;
}

static int crl_line(void *arg, const char *name, char *value) {
  struct crl_build *b = arg;
  long long t;
  if (strcmp(name, "revoked") == 0) return add_revoked(b->crl, value);
  if (strcmp(name, "number") == 0) {
    ASN1_INTEGER *n = ca_parse_serial(value);
    int ok = n && X509_CRL_add1_ext_i2d(b->crl, NID_crl_number, n, 0, 0);
    ASN1_INTEGER_free(n);
    return ok ? 0 : bad("a CRL number is not hexadecimal");
  }
  if (strcmp(name, "thisUpdate") == 0 || strcmp(name, "nextUpdate") == 0) {
    ASN1_TIME *at;
    int ok, this_update = strcmp(name, "thisUpdate") == 0;
    if (!ca_parse_time(value, &t) || !(at = ASN1_TIME_set(NULL, (time_t)t))) return bad("a time is not valid");
    ok = this_update ? X509_CRL_set1_lastUpdate(b->crl, at) : X509_CRL_set1_nextUpdate(b->crl, at);
    ASN1_TIME_free(at);
    if (this_update) b->have_this = 1;
    else b->have_next = 1;
    return ok ? 0 : bad("a time is not valid");
  }
  if (strcmp(name, "md") == 0) {
    if (strlen(value) >= sizeof b->md) return bad("unknown digest");
    strcpy(b->md, value);
    return 0;
  }
  return bad("unknown spec line");
}

int jsec_ca_crl_build(const char *spec, const uint8_t *issuer_cert, int issuer_len, const uint8_t *issuer_key,
                      int key_len, const char *pass) {
  struct crl_build b;
  X509 *issuer = ca_load_cert(issuer_cert, issuer_len);
  EVP_PKEY *key = NULL;
  X509V3_CTX ctx;
  X509_EXTENSION *akid = NULL;
  const EVP_MD *md;
  BIO *out;
  int status, rc;
  memset(&b, 0, sizeof b);
  if (!issuer) return ca_fail(JSEC_CA_BAD_INPUT, "the issuer is not a certificate");
  if (!(key = ca_load_private(issuer_key, key_len, pass, &status))) {
    X509_free(issuer);
    return ca_fail(status, status == JSEC_CA_BAD_PASSPHRASE ? "cannot decrypt the key" : "not a key");
  }
  if (X509_check_private_key(issuer, key) != 1) {
    rc = ca_fail(JSEC_CA_KEY_MISMATCH, "the issuer key does not belong to the issuer certificate");
    goto done;
  }
  if (!(b.crl = X509_CRL_new())) {
    rc = ca_fail(JSEC_ERROR, "out of memory");
    goto done;
  }
  X509_CRL_set_version(b.crl, 1); /* v2 */
  X509_CRL_set_issuer_name(b.crl, X509_get_subject_name(issuer));
  if ((rc = ca_each_line(spec, crl_line, &b)) != 0) goto done;
  if (!b.have_this || !b.have_next) {
    rc = bad("a CRL needs thisUpdate and nextUpdate");
    goto done;
  }
  X509V3_set_ctx(&ctx, issuer, NULL, NULL, b.crl, 0);
  X509V3_set_ctx_nodb(&ctx);
  akid = X509V3_EXT_nconf(NULL, &ctx, "authorityKeyIdentifier", "keyid");
  if (akid) X509_CRL_add_ext(b.crl, akid, -1);
  ERR_clear_error(); /* an issuer without a key identifier: no AKID */
  X509_CRL_sort(b.crl);
  if (!ca_digest(key, b.md[0] ? b.md : NULL, &md)) {
    rc = bad("unknown digest");
    goto done;
  }
  out = ca_out();
  if (!out || X509_CRL_sign(b.crl, key, md) <= 0 || !PEM_write_bio_X509_CRL(out, b.crl)) {
    BIO_free(out);
    rc = ca_fail(JSEC_ERROR, "cannot sign the CRL");
    goto done;
  }
  rc = ca_finish(out);
done:
  X509_EXTENSION_free(akid);
  X509_CRL_free(b.crl);
  EVP_PKEY_free(key);
  X509_free(issuer);
  return rc;
}

int jsec_ca_crl_parse(const uint8_t *data, int len, const uint8_t *issuer_cert, int issuer_len) {
  X509_CRL *crl = ca_load_crl(data, len);
  X509 *issuer = NULL;
  STACK_OF(X509_REVOKED) *revoked;
  ASN1_INTEGER *number;
  BIO *out;
  if (!crl) return ca_fail(JSEC_CA_BAD_INPUT, "not a CRL");
  if (issuer_len > 0 && !(issuer = ca_load_cert(issuer_cert, issuer_len))) {
    X509_CRL_free(crl);
    return ca_fail(JSEC_CA_BAD_INPUT, "the issuer is not a certificate");
  }
  out = ca_out();
  if (out) {
    ca_line_name(out, "issuer", X509_CRL_get_issuer(crl));
    number = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    if (number) ca_line_serial(out, "number", number);
    ASN1_INTEGER_free(number);
    ca_line_int(out, "thisUpdate", ca_time(X509_CRL_get0_lastUpdate(crl)));
    if (X509_CRL_get0_nextUpdate(crl)) ca_line_int(out, "nextUpdate", ca_time(X509_CRL_get0_nextUpdate(crl)));
    revoked = X509_CRL_get_REVOKED(crl);
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
      X509_REVOKED *rev = sk_X509_REVOKED_value(revoked, i);
      ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
      char *serial = ca_serial_hex(X509_REVOKED_get0_serialNumber(rev));
      BIO_printf(out, "revoked=%s %lld %ld\n", serial ? serial : "0", ca_time(X509_REVOKED_get0_revocationDate(rev)),
                 reason ? ASN1_ENUMERATED_get(reason) : -1L);
      OPENSSL_free(serial);
      ASN1_ENUMERATED_free(reason);
    }
    if (issuer) ca_line_int(out, "signatureValid", X509_CRL_verify(crl, X509_get0_pubkey(issuer)) == 1);
  }
  X509_CRL_free(crl);
  X509_free(issuer);
  ERR_clear_error();
  return ca_finish(out);
}
