/**
 * The shim's symbols, declared once. {@link ./deno.ts} and {@link ./bun.ts}
 * turn this table into each runtime's `dlopen` definitions.
 *
 * Types: `i32` a C int, `buffer` a `Uint8Array` (or null) passed as a pointer,
 * `handle` an opaque C pointer the shim returned, `void` nothing.
 *
 * @module
 */

/** A parameter or result type in the symbol table. */
export type FfiType = "i32" | "buffer" | "handle" | "void";

/** One C function: its parameter types and result type. */
export interface FfiSymbol {
  readonly parameters: readonly FfiType[];
  readonly result: FfiType;
}

/** Every function exported by `c-shim/`, as declared in its headers. */
export const symbols = {
  jsec_version: { parameters: ["buffer", "i32"], result: "i32" },
  jsec_live: { parameters: [], result: "i32" },
  jsec_error: { parameters: ["buffer", "i32"], result: "i32" },

  jsec_ctx_new: { parameters: ["i32"], result: "handle" },
  jsec_ctx_free: { parameters: ["handle"], result: "void" },
  jsec_ctx_cert: {
    parameters: ["handle", "buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  jsec_ctx_trust: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_ctx_verify: { parameters: ["handle", "i32"], result: "i32" },
  jsec_ctx_versions: { parameters: ["handle", "i32", "i32"], result: "i32" },
  jsec_ctx_ciphers: { parameters: ["handle", "buffer", "buffer"], result: "i32" },
  jsec_ctx_groups: { parameters: ["handle", "buffer"], result: "i32" },
  jsec_ctx_dhparam: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_ctx_alpn: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_ctx_sni: { parameters: ["handle", "buffer", "handle"], result: "i32" },

  jsec_new: { parameters: ["handle"], result: "handle" },
  jsec_free: { parameters: ["handle"], result: "void" },
  jsec_host: { parameters: ["handle", "buffer", "buffer"], result: "i32" },
  jsec_feed: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_pending: { parameters: ["handle"], result: "i32" },
  jsec_take: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_idle: { parameters: ["handle"], result: "void" },
  jsec_handshake: { parameters: ["handle"], result: "i32" },
  jsec_read: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_read_from: { parameters: ["handle", "buffer", "i32", "buffer", "i32", "buffer"], result: "i32" },
  jsec_write: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_write_into: { parameters: ["handle", "buffer", "i32", "buffer", "i32", "buffer"], result: "i32" },
  jsec_shutdown: { parameters: ["handle"], result: "i32" },
  jsec_key_update: { parameters: ["handle", "i32"], result: "i32" },

  jsec_info: { parameters: ["handle", "i32", "buffer", "i32"], result: "i32" },
  jsec_peer_cert: { parameters: ["handle", "i32", "buffer", "i32"], result: "i32" },
  jsec_verify_result: { parameters: ["handle"], result: "i32" },
  jsec_handshake_count: { parameters: ["handle"], result: "i32" },

  // CA (c-shim/jsec_ca.c)
  jsec_ca_result: { parameters: ["buffer", "i32"], result: "i32" },
  jsec_ca_key_generate: { parameters: ["i32", "i32"], result: "i32" },
  jsec_ca_key_export: { parameters: ["buffer", "i32", "buffer", "i32", "buffer"], result: "i32" },
  jsec_ca_key_info: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  jsec_ca_p12_export: {
    parameters: ["buffer", "i32", "buffer", "buffer", "i32", "buffer", "buffer"],
    result: "i32",
  },
  jsec_ca_p12_import: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  jsec_ca_cert_build: {
    parameters: ["buffer", "buffer", "i32", "buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  jsec_ca_csr_build: { parameters: ["buffer", "buffer", "i32", "buffer"], result: "i32" },
  jsec_ca_cert_parse: { parameters: ["buffer", "i32"], result: "i32" },
  jsec_ca_csr_parse: { parameters: ["buffer", "i32"], result: "i32" },
  jsec_ca_verify: {
    parameters: ["buffer", "i32", "buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  jsec_ca_crl_build: { parameters: ["buffer", "buffer", "i32", "buffer", "i32", "buffer"], result: "i32" },
  jsec_ca_crl_parse: { parameters: ["buffer", "i32", "buffer", "i32"], result: "i32" },
  jsec_ca_ocsp_request: { parameters: ["buffer", "i32", "buffer", "i32", "i32"], result: "i32" },
  jsec_ca_ocsp_request_parse: { parameters: ["buffer", "i32", "buffer", "i32"], result: "i32" },
  jsec_ca_ocsp_respond: {
    parameters: ["buffer", "buffer", "i32", "buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  jsec_ca_ocsp_error: { parameters: ["i32"], result: "i32" },
  jsec_ca_ocsp_response_parse: { parameters: ["buffer", "i32", "buffer", "i32"], result: "i32" },
  jsec_ca_lock: { parameters: ["buffer", "buffer"], result: "i32" },
  jsec_ca_unlock: { parameters: ["i32"], result: "i32" },

  // Revocation in TLS (c-shim/jsec_revocation.c)
  jsec_ctx_staple: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_ctx_ocsp: { parameters: ["handle", "i32"], result: "i32" },
  jsec_ctx_crl: { parameters: ["handle", "buffer", "i32", "i32"], result: "i32" },
  jsec_ocsp_response: { parameters: ["handle", "buffer", "i32"], result: "i32" },

  // Session resumption (c-shim/jsec_resume.c)
  jsec_ctx_resumption: { parameters: ["handle", "i32"], result: "i32" },
  jsec_session_check: { parameters: ["buffer", "i32"], result: "i32" },
  jsec_session_offer: { parameters: ["handle", "buffer", "i32", "buffer"], result: "i32" },
  jsec_session_count: { parameters: ["handle"], result: "i32" },
  jsec_session_take: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_held_take: { parameters: ["handle"], result: "handle" },
  jsec_held_offer: { parameters: ["handle", "handle", "buffer"], result: "i32" },
  jsec_held_der: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_held_free: { parameters: ["handle"], result: "void" },
  jsec_resumed: { parameters: ["handle"], result: "i32" },
  jsec_keylog_start: { parameters: ["handle", "handle"], result: "i32" },
  jsec_keylog_take: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_ctx_psk: { parameters: ["handle", "buffer", "buffer", "i32"], result: "i32" },
  jsec_psk_ask_start: { parameters: ["handle", "handle"], result: "i32" },
  jsec_psk_identity: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_psk_answer: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_psk_used: { parameters: ["handle", "buffer", "i32"], result: "i32" },

  // A server's asynchronous choice of context by the ClientHello (c-shim/jsec_sni.c)
  jsec_sni_ask_start: { parameters: ["handle"], result: "i32" },
  jsec_sni_hello: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_sni_answer: { parameters: ["handle", "handle", "i32"], result: "i32" },

  // Exported keying material, TLS and DTLS (c-shim/jsec_dtls.c)
  jsec_export: { parameters: ["handle", "buffer", "i32", "buffer", "buffer", "i32"], result: "i32" },

  // DTLS (c-shim/jsec_dtls.c)
  jsec_dtls_mtu: { parameters: ["handle", "i32", "i32"], result: "i32" },
  jsec_dtls_data_mtu: { parameters: ["handle"], result: "i32" },
  jsec_dtls_timeout: { parameters: ["handle"], result: "i32" },
  jsec_dtls_timer: { parameters: ["handle"], result: "i32" },
  jsec_dtls_listen: { parameters: ["handle", "buffer", "i32", "buffer", "i32"], result: "i32" },
  jsec_dtls_cookie_rotate: { parameters: [], result: "i32" },
  jsec_dtls_new_hello: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_dtls_versions: { parameters: [], result: "i32" },
  jsec_ctx_srtp: { parameters: ["handle", "buffer"], result: "i32" },
  jsec_srtp_profile: { parameters: ["handle", "buffer", "i32"], result: "i32" },

  // Session ticket keys (c-shim/jsec_tickets.c)
  jsec_ctx_ticket_keys: { parameters: ["handle", "buffer", "i32", "i32"], result: "i32" },
  jsec_ctx_ticket_keys_get: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_ctx_ticket_share: { parameters: ["handle", "handle"], result: "i32" },

  // Encrypted Client Hello (c-shim/jsec_ech.c)
  jsec_ech_supported: { parameters: [], result: "i32" },
  jsec_ctx_ech: { parameters: ["handle", "buffer", "i32", "i32"], result: "i32" },
  jsec_ech_status: { parameters: ["handle"], result: "i32" },
  jsec_ech_name: { parameters: ["handle", "i32", "buffer", "i32"], result: "i32" },
  jsec_ech_retry_configs: { parameters: ["handle", "buffer", "i32"], result: "i32" },
  jsec_ech_generate: { parameters: ["buffer"], result: "i32" },
} as const satisfies Record<string, FfiSymbol>;

/** The symbol table's type. */
export type Symbols = typeof symbols;

/** An opaque pointer owned by the shim (a context or a session). */
export type Handle = { readonly __handle: unique symbol };

type JsOf<T extends FfiType> = T extends "i32" ? number
  : T extends "buffer" ? Uint8Array | null
  : T extends "handle" ? Handle | null
  : void;

type JsParams<P extends readonly FfiType[]> = { [K in keyof P]: P[K] extends FfiType ? JsOf<P[K]> : never };

/** The loaded shim: one typed function per symbol. */
export type Shim = {
  readonly [K in keyof Symbols]: (
    ...args: JsParams<Symbols[K]["parameters"]>
  ) => JsOf<Symbols[K]["result"]>;
};
