/* jsec_compat.h — differences between the OpenSSL lines the shim builds against (1.1.1 to 4.0). */
#ifndef JSEC_COMPAT_H
#define JSEC_COMPAT_H

#include <openssl/opensslv.h>

/*
 * `const` where OpenSSL 4.0 added it to a getter's result (X509_EXTENSION from
 * OCSP_*_get_ext, X509_get_*…) and older lines' consumers of that result still
 * take a mutable pointer: declare the variable `JSEC_CONST_4 T *` and it fits both.
 */
#if OPENSSL_VERSION_NUMBER >= 0x40000000L
#define JSEC_CONST_4 const
#else
#define JSEC_CONST_4
#endif

#endif
