/*
 * jsec_ca_ocsp.c — OCSP requests and responses (RFC 6960): build, answer, describe.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "jsec_ca_util.h"
#include "jsec_compat.h"

static int bad(const char *what) { return ca_fail(JSEC_CA_BAD_SPEC, what); }

int jsec_ca_ocsp_request(const uint8_t *cert_data, int cert_len, const uint8_t *issuer_data, int issuer_len, int nonce) {
  X509 *cert = ca_load_cert(cert_data, cert_len);
  X509 *issuer = ca_load_cert(issuer_data, issuer_len);
  OCSP_CERTID *id = NULL;
  OCSP_REQUEST *req = NULL;
  BIO *out = NULL;
  int rc;
  if (!cert || !issuer) {
    rc = ca_fail(JSEC_CA_BAD_INPUT, "not a certificate");
    goto done;
  }
  id = OCSP_cert_to_id(NULL, cert, issuer);
  req = OCSP_REQUEST_new();
  if (!id || !req || !OCSP_request_add0_id(req, id)) {
    rc = ca_fail(JSEC_ERROR, "cannot build the OCSP request");
    goto done;
  }
  id = NULL; /* owned by req */
  out = ca_out();
  if ((nonce && !OCSP_request_add1_nonce(req, NULL, -1)) || !out || i2d_OCSP_REQUEST_bio(out, req) <= 0) {
    rc = ca_fail(JSEC_ERROR, "cannot encode the OCSP request");
    goto done;
  }
  rc = ca_finish(out);
  out = NULL;
done:
  BIO_free(out);
  OCSP_CERTID_free(id);
  OCSP_REQUEST_free(req);
  X509_free(cert);
  X509_free(issuer);
  return rc;
}

static void line_nonce(BIO *out, JSEC_CONST_4 X509_EXTENSION *ext) {
  const ASN1_OCTET_STRING *v;
  if (!ext) return;
  v = X509_EXTENSION_get_data(ext);
  ca_line_hex(out, "nonce", ASN1_STRING_get0_data(v), ASN1_STRING_length(v));
}

/* Whether `id` names a certificate issued by `issuer` (its name and key hashes match). */
static int issued_by(OCSP_CERTID *id, X509 *issuer) {
  ASN1_OBJECT *alg = NULL;
  ASN1_INTEGER *serial = NULL;
  const EVP_MD *md;
  OCSP_CERTID *ours;
  int match;
  if (!issuer || !OCSP_id_get0_info(NULL, &alg, NULL, &serial, id)) return 0;
  md = EVP_get_digestbyobj(alg);
  ours = md ? OCSP_cert_id_new(md, X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer), serial) : NULL;
  match = ours && OCSP_id_issuer_cmp(ours, id) == 0;
  OCSP_CERTID_free(ours);
  return match;
}

int jsec_ca_ocsp_request_parse(const uint8_t *der, int len, const uint8_t *issuer_data, int issuer_len) {
  const unsigned char *p = der;
  OCSP_REQUEST *req = der && len > 0 ? d2i_OCSP_REQUEST(NULL, &p, len) : NULL;
  X509 *issuer = issuer_len > 0 ? ca_load_cert(issuer_data, issuer_len) : NULL;
  BIO *out;
  if (!req) {
    X509_free(issuer);
    return ca_fail(JSEC_CA_BAD_INPUT, "not an OCSP request");
  }
  out = ca_out();
  if (out) {
    line_nonce(out, OCSP_REQUEST_get_ext(req, OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1)));
    for (int i = 0; i < OCSP_request_onereq_count(req); i++) {
      OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
      ASN1_INTEGER *serial = NULL;
      char *hex;
      OCSP_id_get0_info(NULL, NULL, NULL, &serial, id);
      hex = ca_serial_hex(serial);
      BIO_printf(out, "id=%s %d\n", hex ? hex : "0", issued_by(id, issuer));
      OPENSSL_free(hex);
    }
  }
  OCSP_REQUEST_free(req);
  X509_free(issuer);
  ERR_clear_error();
  return ca_finish(out);
}

struct respond {
  OCSP_REQUEST *req;
  OCSP_BASICRESP *bs;
  ASN1_TIME *this_update, *next_update;
  int next_status; /* index of the CertID the next status line answers */
  char md[32];
};

static int add_status(struct respond *r, char *value) {
  char *save = NULL;
  char *kind = strtok_r(value, " ", &save);
  char *when = strtok_r(NULL, " ", &save);
  char *reason_text = strtok_r(NULL, " ", &save);
  OCSP_CERTID *id;
  ASN1_TIME *revoked_at = NULL;
  int status, reason = OCSP_REVOKED_STATUS_NOSTATUS;
  long long t;
  if (r->next_status >= OCSP_request_onereq_count(r->req)) return bad("more statuses than requested certificates");
  if (!r->this_update) return bad("thisUpdate must come before the statuses");
  id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(r->req, r->next_status++));
  if (kind && strcmp(kind, "good") == 0) status = V_OCSP_CERTSTATUS_GOOD;
  else if (kind && strcmp(kind, "unknown") == 0) status = V_OCSP_CERTSTATUS_UNKNOWN;
  else if (kind && strcmp(kind, "revoked") == 0 && when && reason_text && ca_parse_time(when, &t)) {
    status = V_OCSP_CERTSTATUS_REVOKED;
    reason = (int)strtol(reason_text, NULL, 10);
    revoked_at = ASN1_TIME_set(NULL, (time_t)t);
  } else return bad("a status is not good, unknown or revoked TIME REASON");
  if (!OCSP_basic_add1_status(r->bs, id, status, reason, revoked_at, r->this_update, r->next_update)) {
    ASN1_TIME_free(revoked_at);
    return ca_fail(JSEC_ERROR, "cannot add a status");
  }
  ASN1_TIME_free(revoked_at);
  return 0;
}

static int respond_line(void *arg, const char *name, char *value) {
  struct respond *r = arg;
  long long t;
  if (strcmp(name, "status") == 0) return add_status(r, value);
  if (strcmp(name, "thisUpdate") == 0 || strcmp(name, "nextUpdate") == 0) {
    ASN1_TIME **slot = strcmp(name, "thisUpdate") == 0 ? &r->this_update : &r->next_update;
    if (!ca_parse_time(value, &t)) return bad("a time is not a number of seconds");
    ASN1_TIME_free(*slot);
    *slot = ASN1_TIME_set(NULL, (time_t)t);
    return *slot ? 0 : bad("a time is out of range");
  }
  if (strcmp(name, "md") == 0) {
    if (strlen(value) >= sizeof r->md) return bad("unknown digest");
    strcpy(r->md, value);
    return 0;
  }
  return bad("unknown spec line");
}

int jsec_ca_ocsp_respond(const char *spec, const uint8_t *req_der, int req_len, const uint8_t *signer_cert,
                         int cert_len, const uint8_t *signer_key, int key_len, const char *pass) {
  const unsigned char *p = req_der;
  struct respond r;
  X509 *signer = ca_load_cert(signer_cert, cert_len);
  EVP_PKEY *key = NULL;
  OCSP_RESPONSE *resp = NULL;
  const EVP_MD *md;
  BIO *out = NULL;
  int status, rc;
  memset(&r, 0, sizeof r);
  r.req = req_der && req_len > 0 ? d2i_OCSP_REQUEST(NULL, &p, req_len) : NULL;
  r.bs = OCSP_BASICRESP_new();
  if (!r.req) {
    rc = ca_fail(JSEC_CA_BAD_INPUT, "not an OCSP request");
    goto done;
  }
  if (!signer) {
    rc = ca_fail(JSEC_CA_BAD_INPUT, "the signer is not a certificate");
    goto done;
  }
  if (!(key = ca_load_private(signer_key, key_len, pass, &status))) {
    rc = ca_fail(status, status == JSEC_CA_BAD_PASSPHRASE ? "cannot decrypt the key" : "not a key");
    goto done;
  }
  if (X509_check_private_key(signer, key) != 1) {
    rc = ca_fail(JSEC_CA_KEY_MISMATCH, "the signer key does not belong to the signer certificate");
    goto done;
  }
  if (!r.bs) {
    rc = ca_fail(JSEC_ERROR, "out of memory");
    goto done;
  }
  if ((rc = ca_each_line(spec, respond_line, &r)) != 0) goto done;
  if (r.next_status != OCSP_request_onereq_count(r.req)) {
    rc = bad("one status per requested certificate is needed");
    goto done;
  }
  if (!OCSP_copy_nonce(r.bs, r.req) || !ca_digest(key, r.md[0] ? r.md : NULL, &md)) {
    rc = ca_fail(JSEC_ERROR, "cannot echo the nonce or pick a digest");
    goto done;
  }
  out = ca_out();
  if (!out || !OCSP_basic_sign(r.bs, signer, key, md, NULL, 0) ||
      !(resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, r.bs)) || i2d_OCSP_RESPONSE_bio(out, resp) <= 0) {
    rc = ca_fail(JSEC_ERROR, "cannot sign the OCSP response");
    goto done;
  }
  rc = ca_finish(out);
  out = NULL;
done:
  BIO_free(out);
  OCSP_RESPONSE_free(resp);
  OCSP_BASICRESP_free(r.bs);
  OCSP_REQUEST_free(r.req);
  ASN1_TIME_free(r.this_update);
  ASN1_TIME_free(r.next_update);
  EVP_PKEY_free(key);
  X509_free(signer);
  return rc;
}

int jsec_ca_ocsp_error(int status) {
  OCSP_RESPONSE *resp;
  BIO *out;
  if (status < 1 || status > 6 || status == 4) return bad("not an OCSP error status");
  resp = OCSP_response_create(status, NULL);
  out = ca_out();
  if (!resp || !out || i2d_OCSP_RESPONSE_bio(out, resp) <= 0) {
    BIO_free(out);
    OCSP_RESPONSE_free(resp);
    return ca_fail(JSEC_ERROR, "cannot encode the OCSP response");
  }
  OCSP_RESPONSE_free(resp);
  return ca_finish(out);
}

static const char *status_name(int status) {
  return status == V_OCSP_CERTSTATUS_GOOD ? "good" : status == V_OCSP_CERTSTATUS_REVOKED ? "revoked" : "unknown";
}

/* Whether the response is signed by `issuer` or by a responder it delegated to (RFC 6960 4.2.2.2). */
static void line_verified(BIO *out, OCSP_BASICRESP *bs, X509 *issuer) {
  X509_STORE *store = X509_STORE_new();
  STACK_OF(X509) *certs = sk_X509_new_null();
  int ok = store && certs && X509_STORE_add_cert(store, issuer) && sk_X509_push(certs, issuer) &&
           OCSP_basic_verify(bs, certs, store, 0) > 0;
  ca_line_int(out, "verified", ok);
  if (!ok) {
    unsigned long e = ERR_peek_last_error();
    ca_line(out, "verifyError", e ? ERR_reason_error_string(e) : "verification failed");
  }
  sk_X509_free(certs);
  X509_STORE_free(store);
  ERR_clear_error();
}

static void line_single(BIO *out, OCSP_SINGLERESP *single) {
  int reason = -1;
  ASN1_GENERALIZEDTIME *revoked = NULL, *this_update = NULL, *next_update = NULL;
  int status = OCSP_single_get0_status(single, &reason, &revoked, &this_update, &next_update);
  ASN1_INTEGER *serial = NULL;
  char *hex;
  OCSP_id_get0_info(NULL, NULL, NULL, &serial, (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(single));
  hex = ca_serial_hex(serial);
  BIO_printf(out, "single=%s %s %lld %lld %lld %d\n", hex ? hex : "0", status_name(status), ca_time(this_update),
             next_update ? ca_time(next_update) : -1LL, revoked ? ca_time(revoked) : -1LL, revoked ? reason : -1);
  OPENSSL_free(hex);
}

int jsec_ca_ocsp_response_parse(const uint8_t *der, int len, const uint8_t *issuer_data, int issuer_len) {
  const unsigned char *p = der;
  OCSP_RESPONSE *resp = der && len > 0 ? d2i_OCSP_RESPONSE(NULL, &p, len) : NULL;
  X509 *issuer = issuer_len > 0 ? ca_load_cert(issuer_data, issuer_len) : NULL;
  OCSP_BASICRESP *bs = NULL;
  BIO *out;
  if (!resp || (issuer_len > 0 && !issuer)) {
    OCSP_RESPONSE_free(resp);
    X509_free(issuer);
    return ca_fail(JSEC_CA_BAD_INPUT, resp ? "the issuer is not a certificate" : "not an OCSP response");
  }
  out = ca_out();
  if (out) {
    ca_line_int(out, "responseStatus", OCSP_response_status(resp));
    bs = OCSP_response_get1_basic(resp);
  }
  if (out && bs) {
    ca_line_int(out, "producedAt", ca_time(OCSP_resp_get0_produced_at(bs)));
    line_nonce(out, OCSP_BASICRESP_get_ext(bs, OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1)));
    for (int i = 0; i < OCSP_resp_count(bs); i++) line_single(out, OCSP_resp_get0(bs, i));
    if (issuer) line_verified(out, bs, issuer);
  }
  OCSP_BASICRESP_free(bs);
  OCSP_RESPONSE_free(resp);
  X509_free(issuer);
  ERR_clear_error();
  return ca_finish(out);
}
