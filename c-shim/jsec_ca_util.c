/*
 * jsec_ca_util.c — what every jsec_ca_*.c file needs: the result buffer,
 * loading keys/certificates/CRLs from PEM or DER, description lines and
 * spec lines.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include "jsec_ca_util.h"
#include "jsec_internal.h"

/* ---- results --------------------------------------------------------- */

static _Thread_local unsigned char *result;
static _Thread_local int result_len;

int jsec_ca_result(uint8_t *buf, int cap) {
  if (buf && cap >= result_len && result_len > 0) memcpy(buf, result, (size_t)result_len);
  return result_len;
}

BIO *ca_out(void) { return BIO_new(BIO_s_mem()); }

int ca_finish(BIO *out) {
  char *data;
  long len;
  if (!out) return ca_fail(JSEC_ERROR, "out of memory");
  len = BIO_get_mem_data(out, &data);
  free(result);
  result = malloc(len > 0 ? (size_t)len : 1);
  if (!result) {
    result_len = 0;
    BIO_free(out);
    return ca_fail(JSEC_ERROR, "out of memory");
  }
  if (len > 0) memcpy(result, data, (size_t)len);
  result_len = (int)len;
  BIO_free(out);
  return result_len;
}

int ca_fail(int status, const char *what) {
  jsec_fail(what);
  return status;
}

/* ---- inputs ---------------------------------------------------------- */

int ca_is_pem(const uint8_t *data, int len) {
  static const char mark[] = "-----BEGIN ";
  int n = (int)sizeof mark - 1;
  for (int i = 0; i + n <= len; i++)
    if (memcmp(data + i, mark, (size_t)n) == 0) return 1;
  return 0;
}

struct pass_state {
  const char *pass;
  int asked;
};

static int pass_cb(char *buf, int size, int rwflag, void *arg) {
  struct pass_state *st = arg;
  int n;
  (void)rwflag;
  st->asked = 1;
  if (!st->pass) return -1;
  n = (int)strlen(st->pass);
  if (n > size) n = size;
  memcpy(buf, st->pass, (size_t)n);
  return n;
}

static EVP_PKEY *load_der_private(const uint8_t *data, int len, const char *pass, int *status) {
  const unsigned char *p = data;
  EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, len);
  X509_SIG *sig;
  PKCS8_PRIV_KEY_INFO *info;
  if (key) return key;
  ERR_clear_error();
  p = data;
  sig = d2i_X509_SIG(NULL, &p, len); /* an encrypted PKCS#8 */
  if (!sig) return NULL;
  *status = JSEC_CA_BAD_PASSPHRASE;
  info = pass ? PKCS8_decrypt(sig, pass, (int)strlen(pass)) : NULL;
  X509_SIG_free(sig);
  if (!info) return NULL;
  key = EVP_PKCS82PKEY(info);
  PKCS8_PRIV_KEY_INFO_free(info);
  if (!key) *status = JSEC_CA_BAD_INPUT;
  return key;
}

EVP_PKEY *ca_load_private(const uint8_t *data, int len, const char *pass, int *status) {
  EVP_PKEY *key = NULL;
  *status = JSEC_CA_BAD_INPUT;
  if (!data || len <= 0) return NULL;
  if (ca_is_pem(data, len)) {
    struct pass_state st = {pass, 0};
    BIO *in = BIO_new_mem_buf(data, len);
    if (in) key = PEM_read_bio_PrivateKey(in, NULL, pass_cb, &st);
    BIO_free(in);
    if (!key && st.asked) *status = JSEC_CA_BAD_PASSPHRASE;
  } else {
    key = load_der_private(data, len, pass, status);
  }
  return key;
}

EVP_PKEY *ca_load_public(const uint8_t *data, int len, const char *pass, int *status) {
  EVP_PKEY *key = ca_load_private(data, len, pass, status);
  if (key || *status == JSEC_CA_BAD_PASSPHRASE) return key;
  ERR_clear_error();
  if (ca_is_pem(data, len)) {
    BIO *in = BIO_new_mem_buf(data, len);
    if (in) key = PEM_read_bio_PUBKEY(in, NULL, NULL, NULL);
    BIO_free(in);
  } else {
    const unsigned char *p = data;
    key = d2i_PUBKEY(NULL, &p, len);
  }
  return key;
}

X509 *ca_load_cert(const uint8_t *data, int len) {
  X509 *cert = NULL;
  if (!data || len <= 0) return NULL;
  if (ca_is_pem(data, len)) {
    BIO *in = BIO_new_mem_buf(data, len);
    if (in) cert = PEM_read_bio_X509(in, NULL, NULL, NULL);
    BIO_free(in);
  } else {
    const unsigned char *p = data;
    cert = d2i_X509(NULL, &p, len);
  }
  return cert;
}

STACK_OF(X509) *ca_load_certs(const uint8_t *data, int len) {
  STACK_OF(X509) *certs = sk_X509_new_null();
  X509 *cert;
  if (!certs || !data || len <= 0) return certs;
  if (!ca_is_pem(data, len)) {
    cert = ca_load_cert(data, len);
    if (!cert || !sk_X509_push(certs, cert)) {
      X509_free(cert);
      sk_X509_pop_free(certs, X509_free);
      return NULL;
    }
    return certs;
  }
  BIO *in = BIO_new_mem_buf(data, len);
  while (in && (cert = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
    if (!sk_X509_push(certs, cert)) {
      X509_free(cert);
      break;
    }
  }
  BIO_free(in);
  ERR_clear_error(); /* the read that found no more blocks */
  if (sk_X509_num(certs) == 0) {
    sk_X509_free(certs);
    return NULL;
  }
  return certs;
}

X509_CRL *ca_load_crl(const uint8_t *data, int len) {
  X509_CRL *crl = NULL;
  if (!data || len <= 0) return NULL;
  if (ca_is_pem(data, len)) {
    BIO *in = BIO_new_mem_buf(data, len);
    if (in) crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL);
    BIO_free(in);
  } else {
    const unsigned char *p = data;
    crl = d2i_X509_CRL(NULL, &p, len);
  }
  return crl;
}

/* ---- description lines ----------------------------------------------- */

void ca_line_bytes(BIO *out, const char *name, const unsigned char *v, int len) {
  if (name) BIO_printf(out, "%s=", name);
  for (int i = 0; i < len; i++) {
    unsigned char c = v[i];
    if (c < 0x20 || c == 0x7f || c == '\\') BIO_printf(out, "\\x%02x", c);
    else BIO_write(out, &c, 1);
  }
  BIO_write(out, "\n", 1);
}

void ca_line(BIO *out, const char *name, const char *value) {
  ca_line_bytes(out, name, (const unsigned char *)value, value ? (int)strlen(value) : 0);
}

void ca_line_hex(BIO *out, const char *name, const unsigned char *v, int len) {
  BIO_printf(out, "%s=", name);
  for (int i = 0; i < len; i++) BIO_printf(out, "%02X", v[i]);
  BIO_write(out, "\n", 1);
}

void ca_line_int(BIO *out, const char *name, long long value) { BIO_printf(out, "%s=%lld\n", name, value); }

char *ca_serial_hex(const ASN1_INTEGER *serial) {
  BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
  char *hex = bn ? BN_bn2hex(bn) : NULL;
  BN_free(bn);
  return hex;
}

void ca_line_serial(BIO *out, const char *name, const ASN1_INTEGER *serial) {
  char *hex = ca_serial_hex(serial);
  ca_line(out, name, hex ? hex : "");
  OPENSSL_free(hex);
}

static void object_name(const ASN1_OBJECT *obj, char *buf, int cap) {
  int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef && OBJ_nid2sn(nid)) snprintf(buf, (size_t)cap, "%s", OBJ_nid2sn(nid));
  else OBJ_obj2txt(buf, cap, obj, 1);
}

void ca_line_name(BIO *out, const char *name, const X509_NAME *dn) {
  for (int i = 0; i < X509_NAME_entry_count(dn); i++) {
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(dn, i);
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    char field[80];
    object_name(X509_NAME_ENTRY_get_object(e), field, sizeof field);
    BIO_printf(out, "%s=%s=", name, field);
    if (n >= 0) {
      ca_line_bytes(out, NULL, utf8, n);
    } else {
      ERR_clear_error();
      BIO_write(out, "\n", 1);
    }
    OPENSSL_free(utf8);
  }
}

long long ca_time(const ASN1_TIME *t) {
  int days = 0, secs = 0;
  ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
  int ok = epoch && t && ASN1_TIME_diff(&days, &secs, epoch, t);
  ASN1_TIME_free(epoch);
  return ok ? (long long)days * 86400 + secs : 0;
}

static const char *key_type(EVP_PKEY *key) {
  switch (EVP_PKEY_base_id(key)) {
  case EVP_PKEY_RSA: return "RSA";
  case EVP_PKEY_RSA_PSS: return "RSA-PSS";
  case EVP_PKEY_EC: return "EC";
  case EVP_PKEY_ED25519: return "Ed25519";
  case EVP_PKEY_ED448: return "Ed448";
  case EVP_PKEY_DSA: return "DSA";
  default: return OBJ_nid2sn(EVP_PKEY_base_id(key));
  }
}

static int curve_nid(EVP_PKEY *key) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  char group[80];
  size_t n = 0;
  if (!EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &n)) return NID_undef;
  return OBJ_txt2nid(group);
#else
  const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(key);
  return ec ? EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : NID_undef;
#endif
}

void ca_line_key(BIO *out, EVP_PKEY *key) {
  ca_line(out, "keyType", key_type(key));
  /* 1.1.1 says 253 bits for Ed25519, 3.x 256: report 3.x's everywhere. */
  ca_line_int(out, "keyBits", EVP_PKEY_base_id(key) == EVP_PKEY_ED25519 ? 256 : EVP_PKEY_bits(key));
  if (EVP_PKEY_base_id(key) == EVP_PKEY_EC) {
    int nid = curve_nid(key);
    const char *nist = nid == NID_undef ? NULL : EC_curve_nid2nist(nid);
    ca_line(out, "curve", nist ? nist : nid == NID_undef ? "unknown" : OBJ_nid2sn(nid));
  }
  ERR_clear_error();
}

/* ---- extensions ------------------------------------------------------- */

static void line_general_name(BIO *out, const char *name, const GENERAL_NAME *gn) {
  char buf[64];
  int type;
  const void *value = GENERAL_NAME_get0_value(gn, &type);
  const ASN1_STRING *s = value;
  switch (type) {
  case GEN_DNS:
  case GEN_EMAIL:
  case GEN_URI:
    BIO_printf(out, "%s=%s:", name, type == GEN_DNS ? "DNS" : type == GEN_EMAIL ? "email" : "URI");
    ca_line_bytes(out, NULL, ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
    break;
  case GEN_IPADD:
    if (ASN1_STRING_length(s) == 4 || ASN1_STRING_length(s) == 16) {
      inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), buf, sizeof buf);
      BIO_printf(out, "%s=IP:%s\n", name, buf);
    }
    break;
  case GEN_DIRNAME:
    BIO_printf(out, "%s=dirName:", name);
    X509_NAME_print_ex(out, value, 0, XN_FLAG_RFC2253);
    BIO_write(out, "\n", 1);
    break;
  default: BIO_printf(out, "%s=other:%d\n", name, type);
  }
}

static void line_names(BIO *out, const char *name, const GENERAL_NAMES *names) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) line_general_name(out, name, sk_GENERAL_NAME_value(names, i));
}

static void line_uris(BIO *out, const char *name, const GENERAL_NAMES *names) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
    int type;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, i), &type);
    if (type == GEN_URI) ca_line_bytes(out, name, ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
  }
}

static void line_typed_exts(BIO *out, const STACK_OF(X509_EXTENSION) *exts) {
  BASIC_CONSTRAINTS *bc = X509V3_get_d2i(exts, NID_basic_constraints, NULL, NULL);
  ASN1_BIT_STRING *ku = X509V3_get_d2i(exts, NID_key_usage, NULL, NULL);
  EXTENDED_KEY_USAGE *eku = X509V3_get_d2i(exts, NID_ext_key_usage, NULL, NULL);
  GENERAL_NAMES *san = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
  ASN1_OCTET_STRING *ski = X509V3_get_d2i(exts, NID_subject_key_identifier, NULL, NULL);
  AUTHORITY_KEYID *aki = X509V3_get_d2i(exts, NID_authority_key_identifier, NULL, NULL);
  AUTHORITY_INFO_ACCESS *aia = X509V3_get_d2i(exts, NID_info_access, NULL, NULL);
  CRL_DIST_POINTS *dps = X509V3_get_d2i(exts, NID_crl_distribution_points, NULL, NULL);
  char buf[80];
  if (bc) {
    ca_line_int(out, "ca", bc->ca ? 1 : 0);
    if (bc->pathlen) ca_line_int(out, "pathLen", ASN1_INTEGER_get(bc->pathlen));
  }
  if (ku) {
    long bits = 0;
    for (int i = 0; i < 9; i++)
      if (ASN1_BIT_STRING_get_bit(ku, i)) bits |= 1L << i;
    ca_line_int(out, "keyUsage", bits);
  }
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
    object_name(sk_ASN1_OBJECT_value(eku, i), buf, sizeof buf);
    ca_line(out, "extKeyUsage", buf);
  }
  line_names(out, "san", san);
  if (ski) ca_line_hex(out, "subjectKeyId", ASN1_STRING_get0_data(ski), ASN1_STRING_length(ski));
  if (aki && aki->keyid) ca_line_hex(out, "authorityKeyId", ASN1_STRING_get0_data(aki->keyid),
                                     ASN1_STRING_length(aki->keyid));
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
    ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    int nid = OBJ_obj2nid(ad->method);
    GENERAL_NAMES *one = sk_GENERAL_NAME_new_null();
    if (!one) continue;
    sk_GENERAL_NAME_push(one, ad->location);
    if (nid == NID_ad_OCSP) line_uris(out, "ocsp", one);
    if (nid == NID_ad_ca_issuers) line_uris(out, "caIssuers", one);
    sk_GENERAL_NAME_free(one);
  }
  for (int i = 0; i < sk_DIST_POINT_num(dps); i++) {
    DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
    if (dp->distpoint && dp->distpoint->type == 0) line_uris(out, "crl", dp->distpoint->name.fullname);
  }
  BASIC_CONSTRAINTS_free(bc);
  ASN1_BIT_STRING_free(ku);
  EXTENDED_KEY_USAGE_free(eku);
  GENERAL_NAMES_free(san);
  ASN1_OCTET_STRING_free(ski);
  AUTHORITY_KEYID_free(aki);
  AUTHORITY_INFO_ACCESS_free(aia);
  CRL_DIST_POINTS_free(dps);
  ERR_clear_error();
}

void ca_line_exts(BIO *out, const STACK_OF(X509_EXTENSION) *exts) {
  line_typed_exts(out, exts);
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
    X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
    char oid[80], sn[80];
    BIO *text = ca_out();
    char *data = NULL;
    long n = 0;
    OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 1);
    object_name(X509_EXTENSION_get_object(ext), sn, sizeof sn);
    BIO_printf(out, "ext=%s %d %s\n", oid, X509_EXTENSION_get_critical(ext) ? 1 : 0, sn);
    if (text && X509V3_EXT_print(text, ext, 0, 0) == 1) {
      n = BIO_get_mem_data(text, &data);
      ca_line_bytes(out, "extValue", (unsigned char *)data, (int)n);
    } else {
      const ASN1_OCTET_STRING *raw = X509_EXTENSION_get_data(ext);
      ca_line_hex(out, "extValue", ASN1_STRING_get0_data(raw), ASN1_STRING_length(raw));
    }
    BIO_free(text);
  }
  ERR_clear_error();
}

/* ---- specs ------------------------------------------------------------ */

int ca_each_line(const char *spec, ca_spec_fn fn, void *arg) {
  char *copy, *line, *save = NULL;
  int rc = 0;
  if (!spec) return 0;
  copy = strdup(spec);
  if (!copy) return ca_fail(JSEC_ERROR, "out of memory");
  for (line = strtok_r(copy, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (!eq) {
      rc = ca_fail(JSEC_CA_BAD_SPEC, "a spec line has no '='");
      break;
    }
    *eq = 0;
    rc = fn(arg, line, eq + 1);
  }
  free(copy);
  return rc;
}

int ca_parse_time(const char *value, long long *out) {
  char *end;
  long long v = strtoll(value, &end, 10);
  if (end == value || *end) return 0;
  *out = v;
  return 1;
}

ASN1_INTEGER *ca_parse_serial(const char *hex) {
  BIGNUM *bn = NULL;
  ASN1_INTEGER *serial = NULL;
  if (BN_hex2bn(&bn, hex) == (int)strlen(hex) && strlen(hex) > 0) serial = BN_to_ASN1_INTEGER(bn, NULL);
  BN_free(bn);
  return serial;
}

int ca_digest(EVP_PKEY *key, const char *name, const EVP_MD **md) {
  int id = EVP_PKEY_base_id(key);
  if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) {
    *md = NULL;
    return 1;
  }
  *md = EVP_get_digestbyname(name ? name : "sha256");
  return *md != NULL;
}
