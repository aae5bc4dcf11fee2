import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { test } from "../harness.ts";
import { CertificateAuthority, createCsr, generateKey, parseCertificate, parseCrl } from "../../ca.ts";
import { withLock } from "../../lib/ca/lock.ts";
import { uniqueSerial } from "../../lib/ca/store.ts";
import { openssl, rejectsWith, scratch, verifyWithCrl } from "./helpers.ts";

test("ca store: init, issue, sign, revoke, crl; the key is 0600; serials are unique", async () => {
  using s = scratch();
  const dir = join(s.dir, "ca");
  const ca = await CertificateAuthority.init(dir, { subject: "Store Test CA" });
  assert.equal(statSync(join(dir, "ca-key.pem")).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(dir, "ca.pem"), "utf8"), ca.cert);
  await rejectsWith("CA_EXISTS", () => CertificateAuthority.init(dir));
  const issued = await Promise.all([1, 2, 3, 4, 5].map((i) => ca.issue({ names: [`h${i}.example`] })));
  const serials = new Set(issued.map((x) => x.serial));
  assert.equal(serials.size, 5);
  const signed = await ca.sign(createCsr({ key: generateKey(), names: ["csr.example"] }), {
    copySans: true,
  });
  assert.deepEqual(parseCertificate(signed.cert).sans, [{ type: "DNS", value: "csr.example" }]);
  assert.equal(ca.list().length, 6);
  assert.ok(existsSync(join(dir, "certs", `${signed.serial}.pem`)));
  const again = await CertificateAuthority.open(dir);
  await again.revoke(issued[0].cert, "superseded");
  await again.revoke(issued[1].serial);
  await rejectsWith("NOT_FOUND", () => again.revoke("0ABCDEF0"));
  await rejectsWith("INVALID_OPTION", () => again.revoke(issued[2].serial, "bored" as "superseded"));
  assert.equal(ca.status(issued[0].serial).status, "revoked");
  assert.equal(ca.status(issued[2].serial).status, "good");
  assert.equal(ca.status("0ABC").status, "unknown");
  const crl1 = parseCrl(await ca.crl(), ca.cert);
  const crl2 = parseCrl(await ca.crl(), ca.cert);
  assert.equal(crl1.signatureValid, true);
  assert.deepEqual(crl1.revoked.map((r) => r.serial).sort(), [issued[0].serial, issued[1].serial].sort());
  assert.equal(parseInt(crl2.number!, 16), parseInt(crl1.number!, 16) + 1);
  const crlPath = s.put("ca.crl", await ca.crl());
  const caPath = s.put("ca.pem", ca.cert);
  assert.match(
    openssl(verifyWithCrl(caPath, crlPath, s.put("0.pem", issued[0].cert))).out,
    /certificate revoked/,
  );
  assert.equal(openssl(verifyWithCrl(caPath, crlPath, s.put("2.pem", issued[2].cert))).status, 0);
});

test("ca store: a passphrase-protected key; corrupt and foreign directories give clear errors", async () => {
  using s = scratch();
  const dir = join(s.dir, "locked");
  await CertificateAuthority.init(dir, { passphrase: "s3cret" });
  assert.match(readFileSync(join(dir, "ca-key.pem"), "utf8"), /ENCRYPTED PRIVATE KEY/);
  await rejectsWith("BAD_PASSPHRASE", () => CertificateAuthority.open(dir));
  await rejectsWith("BAD_PASSPHRASE", () => CertificateAuthority.open(dir, { passphrase: "nope" }));
  const ca = await CertificateAuthority.open(dir, { passphrase: "s3cret" });
  const { serial } = await ca.issue({ names: ["p.example"] });
  assert.equal(ca.get(serial).status, "valid");
  await rejectsWith("NOT_FOUND", () => CertificateAuthority.open(join(s.dir, "missing")));
  await rejectsWith("CA_CORRUPT", () => CertificateAuthority.open(s.dir)); // a folder that is no CA
  const index = join(dir, "index.json");
  const saved = readFileSync(index, "utf8");
  writeFileSync(index, saved.slice(0, 40));
  await rejectsWith("CA_CORRUPT", () => CertificateAuthority.open(dir, { passphrase: "s3cret" }));
  writeFileSync(index, JSON.stringify({ format: "something-else" }));
  await rejectsWith("CA_CORRUPT", () => CertificateAuthority.open(dir, { passphrase: "s3cret" }));
  writeFileSync(index, saved);
  writeFileSync(join(dir, "ca.pem"), "garbage");
  await rejectsWith("CA_CORRUPT", () => CertificateAuthority.open(dir, { passphrase: "s3cret" }));
  const other = join(s.dir, "other");
  const otherCa = await CertificateAuthority.init(other);
  writeFileSync(join(dir, "ca.pem"), otherCa.cert);
  await rejectsWith("CA_CORRUPT", () => CertificateAuthority.open(dir, { passphrase: "s3cret" }));
});

test("ca store: the lock waits for a live holder, times out with CA_LOCKED, and ignores leftover lock files", async () => {
  using s = scratch();
  const dir = join(s.dir, "ca");
  const ca = await CertificateAuthority.init(dir);
  // A lock file left by a process that crashed holds nothing: not with a dead pid,
  // nor with a pid that a live process reuses (here: ours).
  for (const pid of [999999999, process.pid]) {
    writeFileSync(join(dir, ".lock"), `${pid} ${hostname()}\n`);
    const { serial } = await ca.issue({ names: [`after-crash-${pid}.example`] });
    assert.equal(ca.get(serial).status, "valid");
  }
  // A lock held by a live holder: others wait, then give up with a message naming it.
  let release!: () => void;
  const held = withLock(dir, () => new Promise<void>((r) => (release = r)));
  await new Promise((r) => setTimeout(r, 50));
  const locked = await rejectsWith("CA_LOCKED", () => withLock(dir, () => {}, { timeout: 200 }));
  assert.match(locked.message, new RegExp(`in use by another CA command \\(process ${process.pid} on `));
  const waiting = ca.issue({ names: ["waited.example"] });
  setTimeout(() => release(), 200);
  await held;
  assert.equal((await waiting).cert.includes("BEGIN CERTIFICATE"), true);
  assert.equal(ca.list().length, 3);
});

/** Runs test/ca/lock_child.ts in a new process of this runtime. */
function lockChild(args: string[]): ChildProcess {
  const child = fileURLToPath(new URL("./lock_child.ts", import.meta.url));
  const argv = "Bun" in globalThis ? [child, ...args] : ["run", "-A", child, ...args];
  return spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stderr?.on("data", (d: Uint8Array) => (stderr += new TextDecoder().decode(d)));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

test(
  "ca store: a holder killed with the lock frees it at once; two processes racing for it never both hold it",
  async () => {
    using s = scratch();
    const dir = join(s.dir, "ca");
    mkdirSync(dir);
    writeFileSync(join(dir, "counter"), "0");
    const holder = lockChild(["hold", dir]);
    const holderExit = exited(holder);
    await new Promise<void>((resolve, reject) => {
      holder.stdout?.on("data", (d: Uint8Array) => new TextDecoder().decode(d).includes("held") && resolve());
      holderExit.then((r) => reject(new Error(`the holder exited: ${r.stderr}`)));
    });
    await rejectsWith("CA_LOCKED", () => withLock(dir, () => {}, { timeout: 100 }));
    holder.kill("SIGKILL"); // dies holding the lock
    await holderExit;
    const rounds = 40;
    const racers = [lockChild(["count", dir, String(rounds)]), lockChild(["count", dir, String(rounds)])];
    const results = await Promise.all(racers.map(exited));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(dir, "counter"), "utf8"), String(2 * rounds), "no update lost");
  },
  { timeout: 60_000 },
);

test("ca store: init checks for an existing CA under the lock, so two inits never both write a key", async () => {
  using s = scratch();
  const dir = join(s.dir, "ca");
  mkdirSync(dir);
  let release!: () => void;
  const held = withLock(dir, () => new Promise<void>((r) => (release = r)));
  const racing = CertificateAuthority.init(dir); // waits for the lock
  racing.catch(() => {});
  writeFileSync(join(dir, "ca.pem"), "another init's certificate"); // what the holder wrote
  release();
  await held;
  await rejectsWith("CA_EXISTS", () => racing);
  assert.equal(readFileSync(join(dir, "ca.pem"), "utf8"), "another init's certificate");
  assert.equal(existsSync(join(dir, "ca-key.pem")), false);
});

test("ca store: serials carry >= 64 random bits (not a prefix and a counter) and are never reused", async () => {
  using s = scratch();
  const ca = await CertificateAuthority.init(join(s.dir, "ca"));
  const serials: string[] = [];
  for (let i = 0; i < 6; i++) serials.push((await ca.issue({ names: [`s${i}.example`] })).serial);
  const bits = (hex: string) => BigInt(`0x${hex}`);
  for (const serial of serials) assert.equal(serial.length, 32, serial); // 16 bytes, no leading zero byte
  for (let i = 0; i < serials.length; i++) {
    for (let j = i + 1; j < serials.length; j++) {
      // Two independent 126-bit draws differ in ~63 bits; a counter under a fixed prefix in 1 to 3.
      const distance = (bits(serials[i]) ^ bits(serials[j])).toString(2).replace(/0/g, "").length;
      assert.ok(distance >= 24, `${serials[i]} and ${serials[j]} differ in only ${distance} bits`);
    }
  }
  // openssl reads the same serial from the certificate.
  const cert = ca.get(serials[0]).pem;
  assert.match(openssl(["x509", "-noout", "-serial"], cert).out, new RegExp(`serial=${serials[0]}`, "i"));
  // A drawn serial that is already taken is drawn again.
  const draws = [serials[0], serials[1], "7E57"];
  assert.equal(uniqueSerial(new Set(serials), () => draws.shift()!), "7E57");
  await rejectsWith("INTERNAL", () => uniqueSerial(new Set(serials), () => serials[0]));
});
