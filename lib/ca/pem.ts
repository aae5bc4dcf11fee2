/**
 * PEM armour: splitting, wrapping and unwrapping blocks.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** One PEM block: its label ("CERTIFICATE") and DER bytes. */
export interface PemBlock {
  label: string;
  der: Uint8Array;
  /** The block's text, armour included. */
  text: string;
}

const blockPattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * Every PEM block in `text`, in order.
 *
 * @example
 * ```ts
 * const certs = pemBlocks(chainPem).filter((b) => b.label === "CERTIFICATE");
 * ```
 */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(blockPattern)) {
    const body = m[2].split("\n").filter((l) => !l.includes(":")).join("");
    blocks.push({
      label: m[1],
      der: new Uint8Array(Buffer.from(body.replace(/\s+/g, ""), "base64")),
      text: m[0] + "\n",
    });
  }
  return blocks;
}

export { toPem } from "../engine/info.ts";
