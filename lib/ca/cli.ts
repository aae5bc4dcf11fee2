/**
 * The CA scripts: `deno task ca <command>` / `bun run ca <command>`.
 *
 *   ca init                      create the CA (writes <dir>/ca.pem: trust this)
 *   ca issue NAME...             a certificate for host names / IPs / emails / URIs
 *   ca sign CSR                  sign a certificate signing request
 *   ca revoke CERT|SERIAL        revoke, with --reason
 *   ca crl                       print (or --out) the current CRL
 *   ca ocsp                      serve OCSP on 127.0.0.1 (--port)
 *   ca list / ca show SERIAL     what the CA issued
 *
 * The CA directory is --dir, else $JSEC_CA_DIR, else a per-user data folder
 * ({@link defaultCaDir}). Relative paths are taken from the folder the user
 * ran the command in (under this package's own `deno task ca` / `bun run ca`,
 * which run in the package root, from $INIT_CWD). The CA key's passphrase
 * comes from --passphrase-file or $JSEC_CA_PASSPHRASE; nothing ever prompts.
 * Every mistake ends in one line on stderr that says what to do.
 *
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";
import { homedir, hostname, userInfo } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TlsError } from "../errors.ts";
import { writeFileAtomic } from "./atomic.ts";
import { generateEchKey } from "./ech.ts";
import type { KeySpec } from "./keys.ts";
import { parseCertificate } from "./parse.ts";
import { toPkcs12 } from "./pkcs12.ts";
import { serveOcsp } from "./responder.ts";
import { type RevocationReason, revocationReasons } from "./revocation.ts";
import { CertificateAuthority } from "./store.ts";

const common = {
  dir: { type: "string" },
  "passphrase-file": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

interface Command {
  summary: string;
  usage: string;
  options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;
  run: (
    args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] },
  ) => Promise<void>;
}

const keyTypes: Record<string, KeySpec> = {
  ec: { type: "ec" },
  "ec-p256": { type: "ec", curve: "P-256" },
  "ec-p384": { type: "ec", curve: "P-384" },
  "ec-p521": { type: "ec", curve: "P-521" },
  rsa: { type: "rsa", bits: 2048 },
  "rsa-2048": { type: "rsa", bits: 2048 },
  "rsa-3072": { type: "rsa", bits: 3072 },
  "rsa-4096": { type: "rsa", bits: 4096 },
  ed25519: { type: "ed25519" },
};

const commands: Record<string, Command> = {
  init: {
    summary: "create a CA",
    usage:
      `ca init [--dir DIR] [--name "My Dev CA"] [--key-type ec|ec-p384|rsa|rsa-4096|ed25519] [--days 3650]
        [--passphrase-file FILE]   (encrypt the CA key)
Writes DIR/ca.pem (the certificate clients should trust), DIR/ca-key.pem (0600) and DIR/index.json.`,
    options: { name: { type: "string" }, "key-type": { type: "string" }, days: { type: "string" } },
    run: async ({ values }) => {
      const dir = caDir(values);
      const ca = await CertificateAuthority.init(dir, {
        subject: str(values.name) ?? defaultCaName(),
        keyType: keyType(values["key-type"]),
        days: num(values.days, "--days"),
        passphrase: passphrase(values),
      });
      say(`created the CA "${ca.info.subject.text}" in ${ca.dir}`);
      const pem = join(ca.dir, "ca.pem");
      say(`trust this certificate: ${pem}`);
      say(`  Deno: DENO_CERT=${pem}   Bun and Node: NODE_EXTRA_CA_CERTS=${pem}`);
    },
  },
  issue: {
    summary: "issue a certificate for names (host names, IPs, emails, URIs)",
    usage: `ca issue NAME... [--out DIR] [--client | --both] [--days 397] [--key-type ec|rsa|ed25519]
        [--ocsp-url URL] [--crl-url URL] [--p12 [--p12-passphrase changeit]]
Writes DIR/<first-name>.pem (the certificate) and DIR/<first-name>-key.pem (0600, replaced atomically);
DIR defaults to the current folder.`,
    options: {
      out: { type: "string" },
      client: { type: "boolean" },
      both: { type: "boolean" },
      days: { type: "string" },
      "key-type": { type: "string" },
      "ocsp-url": { type: "string" },
      "crl-url": { type: "string" },
      p12: { type: "boolean" },
      "p12-passphrase": { type: "string" },
    },
    run: async ({ values, positionals }) => {
      if (positionals.length === 0) {
        usage("issue", "give at least one name, e.g. `ca issue localhost 127.0.0.1`");
      }
      const ca = await open(values);
      const issued = await ca.issue({
        names: positionals,
        usage: values.both ? "both" : values.client ? "client" : "server",
        days: num(values.days, "--days"),
        keyType: keyType(values["key-type"]),
        ocspUrl: str(values["ocsp-url"]),
        crlUrl: str(values["crl-url"]),
      });
      const base = join(at(str(values.out) ?? "."), fileName(positionals[0]));
      save(`${base}.pem`, issued.cert);
      save(`${base}-key.pem`, issued.key, 0o600);
      say(`issued serial ${issued.serial} for ${positionals.join(", ")}`);
      say(`certificate: ${base}.pem`);
      say(`key:         ${base}-key.pem`);
      if (values.p12) {
        const passphrase = str(values["p12-passphrase"]) ?? "changeit";
        const p12 = toPkcs12({
          key: issued.key,
          cert: issued.cert + ca.cert,
          passphrase,
          name: positionals[0],
        });
        save(`${base}.p12`, p12, 0o600);
        say(`PKCS#12:     ${base}.p12 (passphrase "${passphrase}")`);
      }
    },
  },
  sign: {
    summary: "sign a certificate signing request, for names you approve",
    usage:
      `ca sign CSR_FILE (--copy-sans | --san NAME...) [--subject DN] [--client | --both] [--days 397] [--out FILE]
The certificate names only what you approve: the CSR's SANs with --copy-sans, and each --san.
The CSR's subject is never copied: the subject is --subject, else the first name. Prints the certificate, or writes --out.`,
    options: {
      "copy-sans": { type: "boolean" },
      san: { type: "string", multiple: true },
      subject: { type: "string" },
      client: { type: "boolean" },
      both: { type: "boolean" },
      days: { type: "string" },
      out: { type: "string" },
    },
    run: async ({ values, positionals }) => {
      if (positionals.length !== 1) usage("sign", "give one CSR file");
      const csr = readInput(positionals[0]);
      const ca = await open(values);
      const { cert, serial } = await ca.sign(csr, {
        copySans: values["copy-sans"] === true,
        names: (values.san as string[] | undefined) ?? [],
        subject: str(values.subject),
        usage: values.both ? "both" : values.client ? "client" : "server",
        days: num(values.days, "--days"),
      });
      const out = str(values.out);
      if (out) {
        save(at(out), cert);
        say(`signed serial ${serial}: ${at(out)}`);
      } else process.stdout.write(cert);
    },
  },
  revoke: {
    summary: "revoke a certificate (by file or serial)",
    usage: `ca revoke CERT_FILE|SERIAL [--reason ${Object.keys(revocationReasons).join("|")}]`,
    options: { reason: { type: "string" } },
    run: async ({ values, positionals }) => {
      if (positionals.length !== 1) usage("revoke", "give one certificate file or serial");
      const target = positionals[0];
      const input = /^[0-9a-f:]+$/i.test(target) ? target : readInput(target);
      const ca = await open(values);
      const entry = await ca.revoke(input, (str(values.reason) ?? "unspecified") as RevocationReason);
      say(`revoked serial ${entry.serial} (${entry.reason ?? "unspecified"}) at ${entry.revokedAt}`);
    },
  },
  crl: {
    summary: "print (or write) a fresh CRL",
    usage: "ca crl [--out FILE] [--days 7]",
    options: { out: { type: "string" }, days: { type: "string" } },
    run: async ({ values }) => {
      const ca = await open(values);
      const crl = await ca.crl({ days: num(values.days, "--days") });
      const out = str(values.out);
      if (out) {
        save(at(out), crl);
        say(`CRL written to ${at(out)}`);
      } else process.stdout.write(crl);
    },
  },
  ocsp: {
    summary: "serve OCSP (RFC 6960, GET and POST) until interrupted",
    usage: "ca ocsp [--port 8888] [--host 127.0.0.1]   (--port 0: any free port)",
    options: { port: { type: "string" }, host: { type: "string" } },
    run: async ({ values }) => {
      const ca = await open(values);
      const responder = await serveOcsp(ca, {
        port: num(values.port, "--port", 0) ?? 8888,
        hostname: str(values.host),
      });
      say(`OCSP responder for "${ca.info.subject.text}" at ${responder.url}`);
      await new Promise<void>((done) => {
        const stop = () => void responder.close().then(done);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    },
  },
  ech: {
    summary: "make an Encrypted Client Hello key (libssl >= 4.0) and print its ECHConfigList",
    usage: `ca ech --public-name NAME [--out FILE]
Writes FILE (default NAME-ech.pem, 0600): a server's \`echKeys\`. Prints the base64 ECHConfigList that
clients take as \`echConfigList\` (a DNS HTTPS record's ech=). Needs no CA.`,
    options: { "public-name": { type: "string" }, out: { type: "string" } },
    run: ({ values }) => {
      const publicName = str(values["public-name"]);
      if (!publicName) {
        usage("ech", "give the outer server name, e.g. `ca ech --public-name public.example.com`");
      }
      const { pem, echConfigList } = generateEchKey({ publicName });
      const file = at(str(values.out) ?? `${publicName}-ech.pem`);
      save(file, pem, 0o600);
      say(`ECH key:       ${file}`);
      say(`ECHConfigList: ${echConfigList}`);
      return Promise.resolve();
    },
  },
  list: {
    summary: "list issued certificates",
    usage: "ca list",
    options: {},
    run: async ({ values }) => {
      const ca = await open(values);
      for (const c of ca.list()) {
        say(
          `${c.serial}  ${c.status.padEnd(7)}  ${c.notAfter.slice(0, 10)}  ${c.names.join(" ") || c.subject}`,
        );
      }
    },
  },
  show: {
    summary: "show one certificate (by serial or file)",
    usage: "ca show SERIAL|CERT_FILE [--pem]",
    options: { pem: { type: "boolean" } },
    run: async ({ values, positionals }) => {
      if (positionals.length !== 1) usage("show", "give one serial or certificate file");
      const target = positionals[0];
      let pem: string;
      let status = "";
      if (/^[0-9a-f:]+$/i.test(target)) {
        const entry = (await open(values)).get(target);
        pem = entry.pem;
        status = entry.status === "revoked" ? `revoked ${entry.revokedAt} (${entry.reason})` : "valid";
      } else pem = readInput(target);
      if (values.pem) return void process.stdout.write(pem);
      const c = parseCertificate(pem);
      const lines = [
        ["serial", c.serial],
        ...(status ? [["status", status]] : []),
        ["subject", c.subject.text],
        ["issuer", c.issuer.text],
        ["valid", `${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()}`],
        ["names", c.sans.map((s) => `${s.type}:${s.value}`).join(", ")],
        ["key", `${c.publicKey.type} ${c.publicKey.curve ?? c.publicKey.bits}`],
        ["CA", c.isCa ? `yes${c.pathLength !== undefined ? `, path length ${c.pathLength}` : ""}` : "no"],
        ["key usage", c.keyUsage.join(", ")],
        ["ext. key usage", c.extKeyUsage.join(", ")],
        ["sha256", c.fingerprints.sha256],
      ];
      for (const [k, v] of lines) say(`${k.padEnd(15)} ${v}`);
    },
  },
};

/**
 * Where the CA lives when no --dir is given: $JSEC_CA_DIR, else a per-user
 * data folder — `$XDG_DATA_HOME/jsec-ca` (default `~/.local/share/jsec-ca`)
 * on Linux, `~/Library/Application Support/jsec-ca` on macOS,
 * `%LOCALAPPDATA%/jsec-ca` on Windows.
 *
 * @example
 * ```ts
 * import { defaultCaDir } from "./lib/ca/cli.ts";
 * console.log(defaultCaDir()); // "/home/alice/.local/share/jsec-ca"
 * ```
 */
export function defaultCaDir(): string {
  if (process.env.JSEC_CA_DIR) return at(process.env.JSEC_CA_DIR);
  const home = homedir();
  if (process.platform === "darwin") return join(home, "Library", "Application Support", "jsec-ca");
  if (process.platform === "win32") {
    return join(process.env.LOCALAPPDATA ?? join(home, "AppData", "Local"), "jsec-ca");
  }
  return join(process.env.XDG_DATA_HOME || join(home, ".local", "share"), "jsec-ca");
}

/** This package's root folder, when it runs from files (not from an https: or jsr: URL). */
const packageRoot = import.meta.url.startsWith("file:")
  ? fileURLToPath(new URL("../../", import.meta.url))
  : undefined;

/**
 * The folder the user ran the command in. `deno task`, `npm run` and
 * `bun run` run a task in the package root: Deno and npm say where the user
 * was in $INIT_CWD, Bun (1.4) in $npm_config_local_prefix. That is used only
 * when we run in our own package root, so that a user's own script, which
 * runs in its package root or `cd`s somewhere, keeps its working directory.
 */
function userCwd(): string {
  const cwd = process.cwd();
  const init = process.env.INIT_CWD || process.env.npm_config_local_prefix;
  return init && packageRoot && resolve(cwd) === resolve(packageRoot) ? resolve(init) : cwd;
}

/** A path the user gave, made absolute from the user's working directory. */
function at(path: string): string {
  return resolve(userCwd(), path);
}

/** "jsec development CA (alice@laptop)": distinct per user and machine, as mkcert does. */
function defaultCaName(): string {
  try {
    return `jsec development CA (${userInfo().username}@${hostname()})`;
  } catch {
    return "jsec development CA";
  }
}

/** A mistake the user can fix: one line on stderr, exit status 2 (usage) or 1. */
class CliError extends Error {
  constructor(message: string, readonly status = 1) {
    super(message);
  }
}

function usage(command: string, message: string): never {
  throw new CliError(`${message} (usage: ${commands[command].usage.split("\n")[0]})`, 2);
}

function caDir(values: Record<string, unknown>): string {
  const dir = str(values.dir);
  return dir === undefined ? defaultCaDir() : at(dir);
}

function passphrase(values: Record<string, unknown>): string | undefined {
  const file = str(values["passphrase-file"]);
  if (file) {
    return readInput(file, "the passphrase file", "give an existing file to --passphrase-file").replace(
      /\r?\n$/,
      "",
    );
  }
  return process.env.JSEC_CA_PASSPHRASE || undefined;
}

async function open(values: Record<string, unknown>): Promise<CertificateAuthority> {
  const dir = caDir(values);
  try {
    return await CertificateAuthority.open(dir, { passphrase: passphrase(values) });
  } catch (e) {
    if (e instanceof TlsError && e.code === "BAD_PASSPHRASE") {
      throw new CliError(
        `the CA key ${join(dir, "ca-key.pem")} is encrypted and the passphrase is ${
          values["passphrase-file"] || process.env.JSEC_CA_PASSPHRASE ? "wrong" : "missing"
        }: give it with --passphrase-file FILE or $JSEC_CA_PASSPHRASE`,
      );
    }
    throw e;
  }
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function num(v: unknown, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${name} must be a whole number >= ${min}`, 2);
  return n;
}

function keyType(v: unknown): KeySpec | undefined {
  if (v === undefined) return undefined;
  const spec = keyTypes[String(v)];
  if (!spec) throw new CliError(`--key-type must be one of ${Object.keys(keyTypes).join(", ")}`, 2);
  return spec;
}

/** mkcert's file naming: "*.example.com" → "_wildcard.example.com", "::1" → "__1". */
function fileName(name: string): string {
  return name.replace(/^\*/, "_wildcard").replace(/[^A-Za-z0-9._@-]/g, "_");
}

const fsReasons: Record<string, string> = {
  ENOENT: "no such file or folder",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "it is a folder",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
};

/** "no such file or folder (ENOENT)" for a file system error. */
function fsReason(e: unknown): string {
  const code = (e as { code?: string }).code;
  return code ? `${fsReasons[code] ?? code}${fsReasons[code] ? ` (${code})` : ""}` : String(e);
}

/** The most a file the CLI reads (a CSR, certificate or passphrase) may hold. */
const maxInputBytes = 1 << 20;

/**
 * Reads a file the user named, at most 1 MiB of it (so `/dev/zero` by
 * mistake is an error, not a hang); a failure says what the file was for and what to do.
 */
function readInput(path: string, what = "", fix = "check the path"): string {
  const full = at(path);
  const name = `${what ? `${what} ` : ""}${full}`;
  let fd: number;
  try {
    fd = openSync(full, "r");
  } catch (e) {
    throw new CliError(`cannot read ${name}: ${fsReason(e)}; ${fix}`);
  }
  try {
    const buf = new Uint8Array(maxInputBytes + 1);
    let size = 0, n: number;
    while (size < buf.length && (n = readSync(fd, buf, size, buf.length - size, null)) > 0) size += n;
    if (size > maxInputBytes) throw new CliError(`${name} holds more than 1 MiB: ${fix}`);
    return new TextDecoder().decode(buf.subarray(0, size));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${name}: ${fsReason(e)}; ${fix}`);
  } finally {
    closeSync(fd);
  }
}

/** Writes a file atomically (never through a planted symlink, `mode` from the start). */
function save(path: string, data: string | Uint8Array, mode = 0o644): void {
  try {
    writeFileAtomic(path, data, mode);
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${fsReason(e)}; choose another folder with --out`);
  }
}

function say(line: string): void {
  console.log(line);
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    "usage: ca <command> [options]   (--dir DIR, else $JSEC_CA_DIR, else " + defaultCaDir() + ")",
    "",
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    "",
    "ca <command> --help (or ca help <command>) shows a command's options.",
    "The CA key's passphrase: --passphrase-file FILE or $JSEC_CA_PASSPHRASE.",
  ].join("\n");
}

function commandHelp(name: string): string {
  return `usage: ${commands[name].usage}\n\ncommon options: --dir DIR, --passphrase-file FILE, --help`;
}

/**
 * Runs the CLI with `argv` (without the program name; a leading `"ca"` is
 * skipped); resolves to the exit code: 0, 1 for a failure, 2 for a usage mistake.
 *
 * @example
 * ```ts
 * import { main } from "./lib/ca/cli.ts";
 * process.exitCode = await main(["issue", "localhost", "127.0.0.1"]);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  // `jsec ca issue …` and `ca issue …` alike: a package `bin` may pass the word "ca" first.
  const [name, ...rest] = argv[0] === "ca" ? argv.slice(1) : argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    const about = rest[0];
    if (name === "help" && about && Object.hasOwn(commands, about)) console.log(commandHelp(about));
    else console.log(help());
    return name ? 0 : 2;
  }
  if (!Object.hasOwn(commands, name)) {
    console.error(`ca: unknown command "${name}"; run \`ca --help\` for the list`);
    return 2;
  }
  const command = commands[name];
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...common, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(commandHelp(name));
      return 0;
    }
    await command.run({
      values: values as Record<string, string | boolean | string[] | undefined>,
      positionals,
    });
    return 0;
  } catch (e) {
    const parse = (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    const message = e instanceof TlsError || e instanceof CliError
      ? e.message
      : parse
      ? `${(e as Error).message.split("\n")[0]} (see \`ca ${name} --help\`)`
      : `unexpected error: ${(e as Error)?.message ?? e} (set JSEC_DEBUG=1 to see where)`;
    console.error(`ca ${name}: ${message.replace(/\s*\n\s*/g, " ")}`);
    if (process.env.JSEC_DEBUG && !(e instanceof CliError)) console.error(e);
    return e instanceof CliError ? e.status : parse ? 2 : 1;
  }
}

if (import.meta.main) {
  process.exit(await main(process.argv.slice(2)));
}
