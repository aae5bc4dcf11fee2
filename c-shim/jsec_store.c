/*
 * jsec_store.c — a private key named by a URI instead of given as PEM:
 * "pkcs11:token=…;object=…" (a key in a token, through pkcs11-provider),
 * "file:/…", or any scheme an OpenSSL provider's OSSL_STORE loader serves.
 * OpenSSL signs through the provider; a token's key never leaves the token.
 *
 * Providers arrived in OpenSSL 3.0: on 1.1.1 every key URI fails with
 * "key URI unsupported", which TypeScript reports as UNSUPPORTED.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "jsec_internal.h"

int jsec_is_pem_key(const uint8_t *key, int len) {
  static const char begin[] = "-----BEGIN";
  for (int i = 0; i + (int)sizeof begin - 1 <= len; i++)
    if (memcmp(key + i, begin, sizeof begin - 1) == 0) return 1;
  return 0;
}

#if OPENSSL_VERSION_NUMBER < 0x30000000L

EVP_PKEY *jsec_store_key(const uint8_t *uri, int len, const char *passphrase) {
  (void)uri;
  (void)len;
  (void)passphrase;
  jsec_fail("key URI unsupported: provider keys need OpenSSL 3.0 or later");
  return NULL;
}

#else

#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>

/* A pkcs11: URI needs the "pkcs11" provider (Debian: pkcs11-provider). An OpenSSL
 * config (OPENSSL_CONF) may have loaded it; otherwise it is loaded here, with the
 * default provider kept, and stays loaded for the life of the process. */
static int load_scheme_provider(const char *uri) {
  if (strncmp(uri, "pkcs11:", 7) != 0 || OSSL_PROVIDER_available(NULL, "pkcs11")) return 1;
  return OSSL_PROVIDER_try_load(NULL, "pkcs11", 1) != NULL;
}

/* What the store's prompt gets: the passphrase (or PIN), and whether it was asked. */
struct store_pass {
  const char *passphrase;
  int asked;
};

/* Answers every prompt of the store, never from a terminal: without a
 * passphrase it answers "" (a -1 would let pkcs11-provider fall back to a
 * console prompt, which could block a server). */
static int answer(char *buf, int size, int rwflag, void *u) {
  struct store_pass *pass = u;
  const char *text = pass->passphrase ? pass->passphrase : "";
  int len = (int)strlen(text);
  (void)rwflag;
  pass->asked = 1;
  if (len > size) return -1;
  memcpy(buf, text, (size_t)len);
  return len;
}

/* The first private key the store at `uri` holds, or NULL. */
static EVP_PKEY *first_key(const char *uri, UI_METHOD *ui, struct store_pass *pass) {
  OSSL_STORE_CTX *store = OSSL_STORE_open(uri, ui, pass, NULL, NULL);
  EVP_PKEY *key = NULL;
  if (!store) return NULL;
  OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
  while (!key && !OSSL_STORE_eof(store)) {
    OSSL_STORE_INFO *info = OSSL_STORE_load(store);
    if (!info) break; /* an error: never spin on a store that keeps failing */
    if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) key = OSSL_STORE_INFO_get1_PKEY(info);
    OSSL_STORE_INFO_free(info);
  }
  OSSL_STORE_close(store);
  return key;
}

EVP_PKEY *jsec_store_key(const uint8_t *uri, int len, const char *passphrase) {
  char *text = OPENSSL_strndup((const char *)uri, (size_t)len);
  UI_METHOD *ui = UI_UTIL_wrap_read_pem_callback(answer, 0);
  struct store_pass pass = {passphrase, 0};
  EVP_PKEY *key = NULL;
  if (!text || !ui) {
    jsec_fail("out of memory");
  } else if (!load_scheme_provider(text)) {
    jsec_fail("key URI unsupported: cannot load OpenSSL's pkcs11 provider (install pkcs11-provider)");
  } else if (!(key = first_key(text, ui, &pass))) {
    /* A store that asked for a PIN or passphrase and gave no key: the answer was wrong or missing. */
    jsec_fail(pass.asked ? "no private key at the key URI: bad password (a wrong or missing PIN or passphrase)"
                         : "no private key at the key URI");
  }
  UI_destroy_method(ui);
  OPENSSL_free(text);
  return key;
}

#endif
