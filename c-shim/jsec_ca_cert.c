/*
 * jsec_ca_cert.c — building and describing certificates and CSRs.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "jsec_ca_util.h"

/* What a spec builds: a certificate or a request. Lines are applied in two
   phases: names, serial and times first; then extensions, which may need the
   public key and the issuer (subject/authority key identifiers). */
struct build {
  X509 *cert;
  X509_REQ *req;
  X509_NAME *subject;
  GENERAL_NAMES *sans;
  STACK_OF(X509_EXTENSION) *exts; /* a request's extensions */
  X509V3_CTX ctx;
  int phase;
  int have_serial, have_not_before, have_not_after;
  char md[32];
};

static int bad(const char *what) { return ca_fail(JSEC_CA_BAD_SPEC, what); }

static int set_time(struct build *b, const char *name, const char *value) {
  long long t;
  ASN1_TIME *at;
  int ok;
  if (!b->cert) return bad("a CSR has no validity");
  if (!ca_parse_time(value, &t)) return bad("a time is not a number of seconds");
  at = ASN1_TIME_set(NULL, (time_t)t);
  if (!at) return bad("a time is out of range");
  ok = strcmp(name, "notBefore") == 0 ? X509_set1_notBefore(b->cert, at) : X509_set1_notAfter(b->cert, at);
  ASN1_TIME_free(at);
  if (strcmp(name, "notBefore") == 0) b->have_not_before = 1;
  else b->have_not_after = 1;
  return ok ? 0 : ca_fail(JSEC_ERROR, "cannot set a time");
}

static int add_subject(struct build *b, char *value) {
  char *eq = strchr(value, '=');
  if (!eq) return bad("a subject line is not FIELD=value");
  *eq = 0;
  if (!X509_NAME_add_entry_by_txt(b->subject, value, MBSTRING_UTF8, (unsigned char *)eq + 1, -1, -1, 0))
    return bad("a subject field is unknown or its value is not allowed");
  return 0;
}

static int add_san(struct build *b, char *value) {
  char *colon = strchr(value, ':');
  int type;
  GENERAL_NAME *gn;
  if (!colon) return bad("a SAN is not TYPE:value");
  *colon = 0;
  if (strcmp(value, "DNS") == 0) type = GEN_DNS;
  else if (strcmp(value, "IP") == 0) type = GEN_IPADD;
  else if (strcmp(value, "email") == 0) type = GEN_EMAIL;
  else if (strcmp(value, "URI") == 0) type = GEN_URI;
  else return bad("a SAN type is not DNS, IP, email or URI");
  gn = a2i_GENERAL_NAME(NULL, NULL, NULL, type, colon + 1, 0);
  if (!gn) return bad(type == GEN_IPADD ? "a SAN IP address is not valid" : "a SAN value is not valid");
  if (!sk_GENERAL_NAME_push(b->sans, gn)) {
    GENERAL_NAME_free(gn);
    return ca_fail(JSEC_ERROR, "out of memory");
  }
  return 0;
}

static int add_ext(struct build *b, char *value) {
  char *eq = strchr(value, '=');
  X509_EXTENSION *ext;
  if (!eq) return bad("an ext line is not NAME=value");
  *eq = 0;
  ext = X509V3_EXT_nconf(NULL, &b->ctx, value, eq + 1);
  if (!ext) return bad("an extension is not valid");
  if (b->cert ? !X509_add_ext(b->cert, ext, -1) : !sk_X509_EXTENSION_push(b->exts, ext)) {
    X509_EXTENSION_free(ext);
    return ca_fail(JSEC_ERROR, "cannot add an extension");
  }
  if (b->cert) X509_EXTENSION_free(ext);
  return 0;
}

static int build_line(void *arg, const char *name, char *value) {
  struct build *b = arg;
  if (strcmp(name, "ext") == 0) return b->phase == 1 ? add_ext(b, value) : 0;
  if (b->phase == 1) return 0;
  if (strcmp(name, "subject") == 0) return add_subject(b, value);
  if (strcmp(name, "san") == 0) return add_san(b, value);
  if (strcmp(name, "notBefore") == 0 || strcmp(name, "notAfter") == 0) return set_time(b, name, value);
  if (strcmp(name, "md") == 0) {
    if (strlen(value) >= sizeof b->md) return bad("unknown digest");
    strcpy(b->md, value);
    return 0;
  }
  if (strcmp(name, "serial") == 0) {
    ASN1_INTEGER *serial = ca_parse_serial(value);
    int ok = serial && b->cert && X509_set_serialNumber(b->cert, serial);
    ASN1_INTEGER_free(serial);
    b->have_serial = 1;
    return ok ? 0 : bad("a serial is not hexadecimal (or was given for a CSR)");
  }
  return bad("unknown spec line");
}

/* Adds the SANs as one extension, critical when the subject is empty (RFC 5280 4.2.1.6). */
static int add_sans(struct build *b) {
  int critical = X509_NAME_entry_count(b->subject) == 0;
  X509_EXTENSION *ext;
  if (sk_GENERAL_NAME_num(b->sans) == 0) return 0;
  ext = X509V3_EXT_i2d(NID_subject_alt_name, critical, b->sans);
  if (!ext) return ca_fail(JSEC_ERROR, "cannot encode the SANs");
  if (b->cert ? !X509_add_ext(b->cert, ext, -1) : !sk_X509_EXTENSION_push(b->exts, ext)) {
    X509_EXTENSION_free(ext);
    return ca_fail(JSEC_ERROR, "cannot add the SANs");
  }
  if (b->cert) X509_EXTENSION_free(ext);
  return 0;
}

static void build_free(struct build *b) {
  X509_free(b->cert);
  X509_REQ_free(b->req);
  X509_NAME_free(b->subject);
  GENERAL_NAMES_free(b->sans);
  sk_X509_EXTENSION_pop_free(b->exts, X509_EXTENSION_free);
}

static int key_status(int status) {
  return ca_fail(status, status == JSEC_CA_BAD_PASSPHRASE ? "cannot decrypt the key" : "not a key");
}

int jsec_ca_cert_build(const char *spec, const uint8_t *subject_key, int subject_len, const uint8_t *issuer_cert,
                       int issuer_len, const uint8_t *issuer_key, int issuer_key_len, const char *pass) {
  struct build b;
  EVP_PKEY *pub = NULL, *signer = NULL;
  X509 *issuer = NULL;
  const EVP_MD *md;
  BIO *out;
  int status, rc;
  memset(&b, 0, sizeof b);
  b.cert = X509_new();
  b.subject = X509_NAME_new();
  b.sans = sk_GENERAL_NAME_new_null();
  if (!b.cert || !b.subject || !b.sans) {
    build_free(&b);
    return ca_fail(JSEC_ERROR, "out of memory");
  }
  if (!(pub = ca_load_public(subject_key, subject_len, pass, &status))) {
    rc = key_status(status);
    goto done;
  }
  if (!(signer = ca_load_private(issuer_key, issuer_key_len, pass, &status))) {
    rc = key_status(status);
    goto done;
  }
  if (issuer_len > 0 && !(issuer = ca_load_cert(issuer_cert, issuer_len))) {
    rc = ca_fail(JSEC_CA_BAD_INPUT, "the issuer is not a certificate");
    goto done;
  }
  if (issuer && X509_check_private_key(issuer, signer) != 1) {
    rc = ca_fail(JSEC_CA_KEY_MISMATCH, "the issuer key does not belong to the issuer certificate");
    goto done;
  }
  if ((rc = ca_each_line(spec, build_line, &b)) != 0) goto done;
  if (!b.have_serial || !b.have_not_before || !b.have_not_after) {
    rc = bad("a certificate needs serial, notBefore and notAfter");
    goto done;
  }
  X509_set_version(b.cert, 2);
  X509_set_subject_name(b.cert, b.subject);
  X509_set_issuer_name(b.cert, issuer ? X509_get_subject_name(issuer) : b.subject);
  X509_set_pubkey(b.cert, pub);
  if (!issuer && X509_check_private_key(b.cert, signer) != 1) {
    rc = ca_fail(JSEC_CA_KEY_MISMATCH, "a self-signed certificate must be signed with its own key");
    goto done;
  }
  X509V3_set_ctx(&b.ctx, issuer ? issuer : b.cert, b.cert, NULL, NULL, 0);
  X509V3_set_ctx_nodb(&b.ctx);
  b.phase = 1;
  if ((rc = ca_each_line(spec, build_line, &b)) != 0 || (rc = add_sans(&b)) != 0) goto done;
  if (!ca_digest(signer, b.md[0] ? b.md : NULL, &md)) {
    rc = bad("unknown digest");
    goto done;
  }
  out = ca_out();
  if (!out || X509_sign(b.cert, signer, md) <= 0 || !PEM_write_bio_X509(out, b.cert)) {
    BIO_free(out);
    rc = ca_fail(JSEC_ERROR, "cannot sign the certificate");
    goto done;
  }
  rc = ca_finish(out);
done:
  build_free(&b);
  EVP_PKEY_free(pub);
  EVP_PKEY_free(signer);
  X509_free(issuer);
  return rc;
}

int jsec_ca_csr_build(const char *spec, const uint8_t *key_data, int key_len, const char *pass) {
  struct build b;
  EVP_PKEY *key;
  const EVP_MD *md;
  BIO *out;
  int status, rc;
  memset(&b, 0, sizeof b);
  if (!(key = ca_load_private(key_data, key_len, pass, &status))) return key_status(status);
  b.req = X509_REQ_new();
  b.subject = X509_NAME_new();
  b.sans = sk_GENERAL_NAME_new_null();
  b.exts = sk_X509_EXTENSION_new_null();
  if (!b.req || !b.subject || !b.sans || !b.exts) {
    rc = ca_fail(JSEC_ERROR, "out of memory");
    goto done;
  }
  if ((rc = ca_each_line(spec, build_line, &b)) != 0) goto done;
  X509_REQ_set_version(b.req, 0);
  X509_REQ_set_subject_name(b.req, b.subject);
  X509_REQ_set_pubkey(b.req, key);
  X509V3_set_ctx(&b.ctx, NULL, NULL, b.req, NULL, 0);
  X509V3_set_ctx_nodb(&b.ctx);
  b.phase = 1;
  if ((rc = ca_each_line(spec, build_line, &b)) != 0 || (rc = add_sans(&b)) != 0) goto done;
  if (sk_X509_EXTENSION_num(b.exts) > 0 && !X509_REQ_add_extensions(b.req, b.exts)) {
    rc = ca_fail(JSEC_ERROR, "cannot add the extensions");
    goto done;
  }
  if (!ca_digest(key, b.md[0] ? b.md : NULL, &md)) {
    rc = bad("unknown digest");
    goto done;
  }
  out = ca_out();
  if (!out || X509_REQ_sign(b.req, key, md) <= 0 || !PEM_write_bio_X509_REQ(out, b.req)) {
    BIO_free(out);
    rc = ca_fail(JSEC_ERROR, "cannot sign the CSR");
    goto done;
  }
  rc = ca_finish(out);
done:
  build_free(&b);
  EVP_PKEY_free(key);
  return rc;
}

/* ---- describing ------------------------------------------------------- */

static void line_dn_text(BIO *out, const char *name, const X509_NAME *dn) {
  BIO *text = ca_out();
  char *data;
  long n;
  if (!text) return;
  X509_NAME_print_ex(text, dn, 0, XN_FLAG_RFC2253);
  n = BIO_get_mem_data(text, &data);
  ca_line_bytes(out, name, (unsigned char *)data, (int)n);
  BIO_free(text);
}

static void line_public_key(BIO *out, EVP_PKEY *key) {
  unsigned char *der = NULL;
  int n;
  if (!key) return;
  ca_line_key(out, key);
  n = i2d_PUBKEY(key, &der);
  if (n > 0) ca_line_hex(out, "publicKey", der, n);
  OPENSSL_free(der);
}

int jsec_ca_cert_parse(const uint8_t *data, int len) {
  X509 *cert = ca_load_cert(data, len);
  BIO *out;
  if (!cert) return ca_fail(JSEC_CA_BAD_INPUT, "not a certificate");
  out = ca_out();
  if (out) {
    ca_line_int(out, "version", X509_get_version(cert) + 1);
    ca_line_serial(out, "serial", X509_get0_serialNumber(cert));
    ca_line_name(out, "subject", X509_get_subject_name(cert));
    line_dn_text(out, "subjectText", X509_get_subject_name(cert));
    ca_line_name(out, "issuer", X509_get_issuer_name(cert));
    line_dn_text(out, "issuerText", X509_get_issuer_name(cert));
    ca_line_int(out, "notBefore", ca_time(X509_get0_notBefore(cert)));
    ca_line_int(out, "notAfter", ca_time(X509_get0_notAfter(cert)));
    ca_line(out, "signatureAlgorithm", OBJ_nid2ln(X509_get_signature_nid(cert)));
    ca_line_int(out, "selfIssued", (X509_get_extension_flags(cert) & EXFLAG_SI) ? 1 : 0);
    line_public_key(out, X509_get0_pubkey(cert));
    ca_line_exts(out, X509_get0_extensions(cert));
  }
  X509_free(cert);
  ERR_clear_error();
  return ca_finish(out);
}

int jsec_ca_csr_parse(const uint8_t *data, int len) {
  X509_REQ *req = NULL;
  STACK_OF(X509_EXTENSION) *exts;
  EVP_PKEY *key;
  BIO *in, *out;
  if (data && len > 0) {
    in = BIO_new_mem_buf(data, len);
    if (in && ca_is_pem(data, len)) req = PEM_read_bio_X509_REQ(in, NULL, NULL, NULL);
    else if (in) req = d2i_X509_REQ_bio(in, NULL);
    BIO_free(in);
  }
  if (!req) return ca_fail(JSEC_CA_BAD_INPUT, "not a CSR");
  key = X509_REQ_get_pubkey(req);
  exts = X509_REQ_get_extensions(req);
  out = ca_out();
  if (out) {
    ca_line_name(out, "subject", X509_REQ_get_subject_name(req));
    line_dn_text(out, "subjectText", X509_REQ_get_subject_name(req));
    ca_line(out, "signatureAlgorithm", OBJ_nid2ln(X509_REQ_get_signature_nid(req)));
    ca_line_int(out, "signatureValid", key && X509_REQ_verify(req, key) == 1);
    line_public_key(out, key);
    ca_line_exts(out, exts);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  EVP_PKEY_free(key);
  X509_REQ_free(req);
  ERR_clear_error();
  return ca_finish(out);
}

/* ---- verifying -------------------------------------------------------- */

struct verify {
  X509_STORE *store;
  X509_STORE_CTX *ctx;
  X509_VERIFY_PARAM *param;
};

static int verify_line(void *arg, const char *name, char *value) {
  struct verify *v = arg;
  long long t;
  if (strcmp(name, "purpose") == 0) {
    int idx = X509_PURPOSE_get_by_sname(value);
    if (idx < 0) return bad("unknown purpose");
    return X509_STORE_CTX_set_purpose(v->ctx, X509_PURPOSE_get_id(X509_PURPOSE_get0(idx))) ? 0 : bad("bad purpose");
  }
  if (strcmp(name, "host") == 0) return X509_VERIFY_PARAM_set1_host(v->param, value, 0) ? 0 : bad("bad host name");
  if (strcmp(name, "ip") == 0) return X509_VERIFY_PARAM_set1_ip_asc(v->param, value) ? 0 : bad("bad IP address");
  if (strcmp(name, "email") == 0) return X509_VERIFY_PARAM_set1_email(v->param, value, 0) ? 0 : bad("bad email");
  if (strcmp(name, "time") == 0) {
    if (!ca_parse_time(value, &t)) return bad("a time is not a number of seconds");
    X509_VERIFY_PARAM_set_time(v->param, (time_t)t);
    return 0;
  }
  if (strcmp(name, "crl") == 0) {
    X509_VERIFY_PARAM_set_flags(v->param, X509_V_FLAG_CRL_CHECK |
                                              (strcmp(value, "all") == 0 ? X509_V_FLAG_CRL_CHECK_ALL : 0));
    return 0;
  }
  if (strcmp(name, "partial") == 0) {
    X509_VERIFY_PARAM_set_flags(v->param, X509_V_FLAG_PARTIAL_CHAIN);
    return 0;
  }
  if (strcmp(name, "systemRoots") == 0) return X509_STORE_set_default_paths(v->store) ? 0 : bad("no system roots");
  return bad("unknown spec line");
}

static int add_crls(X509_STORE *store, const uint8_t *data, int len) {
  BIO *in;
  X509_CRL *crl;
  int n = 0;
  if (!data || len <= 0) return 0;
  if (!ca_is_pem(data, len)) {
    crl = ca_load_crl(data, len);
    n = crl && X509_STORE_add_crl(store, crl) ? 1 : -1;
    X509_CRL_free(crl);
    return n;
  }
  in = BIO_new_mem_buf(data, len);
  while (in && (crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL)) != NULL) {
    X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    n++;
  }
  BIO_free(in);
  ERR_clear_error();
  return n > 0 ? n : -1;
}

int jsec_ca_verify(const uint8_t *certs_data, int certs_len, const uint8_t *roots_data, int roots_len,
                   const uint8_t *crls, int crls_len, const char *spec) {
  struct verify v = {NULL, NULL, NULL};
  STACK_OF(X509) *certs = ca_load_certs(certs_data, certs_len);
  STACK_OF(X509) *roots = roots_len > 0 ? ca_load_certs(roots_data, roots_len) : NULL;
  X509 *leaf = NULL;
  BIO *out;
  int rc, code;
  if (!certs) return ca_fail(JSEC_CA_BAD_INPUT, "no certificate to verify");
  if (roots_len > 0 && !roots) {
    sk_X509_pop_free(certs, X509_free);
    return ca_fail(JSEC_CA_BAD_INPUT, "the roots are not certificates");
  }
  leaf = sk_X509_shift(certs);
  v.store = X509_STORE_new();
  v.ctx = X509_STORE_CTX_new();
  if (!v.store || !v.ctx) {
    rc = ca_fail(JSEC_ERROR, "out of memory");
    goto done;
  }
  for (int i = 0; i < sk_X509_num(roots); i++) X509_STORE_add_cert(v.store, sk_X509_value(roots, i));
  if (add_crls(v.store, crls, crls_len) < 0) {
    rc = ca_fail(JSEC_CA_BAD_INPUT, "a CRL is not valid");
    goto done;
  }
  if (!X509_STORE_CTX_init(v.ctx, v.store, leaf, certs)) {
    rc = ca_fail(JSEC_ERROR, "cannot start verification");
    goto done;
  }
  v.param = X509_STORE_CTX_get0_param(v.ctx);
  /* Names come from the SANs only, as in our TLS host check: never the subject's CN. */
  X509_VERIFY_PARAM_set_hostflags(v.param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  if ((rc = ca_each_line(spec, verify_line, &v)) != 0) goto done;
  X509_verify_cert(v.ctx);
  ERR_clear_error();
  code = X509_STORE_CTX_get_error(v.ctx);
  out = ca_out();
  if (out) {
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(v.ctx);
    ca_line_int(out, "code", code);
    ca_line_int(out, "depth", code ? X509_STORE_CTX_get_error_depth(v.ctx) : -1);
    ca_line(out, "error", X509_verify_cert_error_string(code));
    for (int i = 0; i < sk_X509_num(chain); i++) ca_line_serial(out, "chain", X509_get0_serialNumber(sk_X509_value(chain, i)));
  }
  rc = ca_finish(out);
  if (rc >= 0) rc = code;
done:
  X509_STORE_CTX_free(v.ctx);
  X509_STORE_free(v.store);
  X509_free(leaf);
  sk_X509_pop_free(certs, X509_free);
  sk_X509_pop_free(roots, X509_free);
  return rc;
}
