/* jsec_ca_util.h — helpers shared by the jsec_ca_*.c files (not exported to JS). */
#ifndef JSEC_CA_UTIL_H
#define JSEC_CA_UTIL_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jsec.h"
#include "jsec_ca.h"

/* Keeps the contents of `out` (a memory BIO, freed here) as the result; returns its length. */
int ca_finish(BIO *out);
/* A fresh memory BIO for building a result. */
BIO *ca_out(void);
/* Records `what` plus the OpenSSL error queue as the last error; returns `status`. */
int ca_fail(int status, const char *what);

int ca_is_pem(const uint8_t *data, int len); /* whether data holds a "-----BEGIN " line */
/* Inputs (PEM or DER). `status` receives JSEC_CA_BAD_PASSPHRASE or JSEC_CA_BAD_INPUT on failure. */
EVP_PKEY *ca_load_private(const uint8_t *data, int len, const char *pass, int *status);
EVP_PKEY *ca_load_public(const uint8_t *data, int len, const char *pass, int *status); /* private or public */
X509 *ca_load_cert(const uint8_t *data, int len);
STACK_OF(X509) *ca_load_certs(const uint8_t *data, int len); /* PEM: all blocks; DER: one */
X509_CRL *ca_load_crl(const uint8_t *data, int len);

/* Description lines. */
void ca_line(BIO *out, const char *name, const char *value);             /* escapes value */
void ca_line_bytes(BIO *out, const char *name, const unsigned char *v, int len); /* name NULL: value only */
void ca_line_hex(BIO *out, const char *name, const unsigned char *v, int len);
void ca_line_int(BIO *out, const char *name, long long value);
void ca_line_serial(BIO *out, const char *name, const ASN1_INTEGER *serial);
void ca_line_name(BIO *out, const char *name, const X509_NAME *dn); /* one line per entry */
void ca_line_key(BIO *out, EVP_PKEY *key);                          /* keyType, keyBits, curve */
void ca_line_exts(BIO *out, const STACK_OF(X509_EXTENSION) *exts);  /* typed and generic */
long long ca_time(const ASN1_TIME *t);                              /* Unix seconds */
char *ca_serial_hex(const ASN1_INTEGER *serial);                    /* OPENSSL_free it */

/* Specs. Calls fn for each "name=value" line; stops at and returns the first non-zero result. */
typedef int (*ca_spec_fn)(void *arg, const char *name, char *value);
int ca_each_line(const char *spec, ca_spec_fn fn, void *arg);
int ca_parse_time(const char *value, long long *out);
ASN1_INTEGER *ca_parse_serial(const char *hex);
/* The digest to sign with: `name` (NULL: sha256), or NULL for keys that hash themselves (Ed25519).
   Returns 0 for an unknown name. */
int ca_digest(EVP_PKEY *key, const char *name, const EVP_MD **md);

#endif
