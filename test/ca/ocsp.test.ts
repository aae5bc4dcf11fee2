import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { test } from "../harness.ts";
import {
  CertificateAuthority,
  createOcspRequest,
  createOcspResponse,
  createRootCa,
  issueCertificate,
  ocspErrorResponse,
  parseOcspRequest,
  parseOcspResponse,
  serveOcsp,
} from "../../ca.ts";
import { opensslAsync, rejectsWith, scratch } from "./helpers.ts";
import { join } from "node:path";

function ask(ca: string, cert: string, url: string, extra: string[] = []) {
  return opensslAsync([
    "ocsp",
    "-issuer",
    ca,
    "-CAfile",
    ca,
    "-cert",
    cert,
    "-url",
    url,
    "-resp_text",
    ...extra,
  ]);
}

test("ca ocsp: openssl ocsp -url against our responder reports good, revoked and unknown, with a nonce", async () => {
  using s = scratch();
  const ca = await CertificateAuthority.init(join(s.dir, "ca"));
  const responder = await serveOcsp(ca);
  try {
    const good = await ca.issue({ names: ["good.example"], ocspUrl: responder.url });
    const bad = await ca.issue({ names: ["bad.example"] });
    await ca.revoke(bad.serial, "keyCompromise");
    const caPath = s.put("ca.pem", ca.cert);
    const g = await ask(caPath, s.put("good.pem", good.cert), responder.url);
    assert.equal(g.status, 0, g.out);
    assert.match(g.out, /good\.pem: good/);
    assert.match(g.out, /Response verify OK/);
    assert.match(g.out, /OCSP Nonce/);
    assert.doesNotMatch(g.out, /WARNING: no nonce/);
    const r = await ask(caPath, s.put("bad.pem", bad.cert), responder.url);
    assert.match(r.out, /bad\.pem: revoked/);
    assert.match(r.out, /Reason: keyCompromise/);
    // A certificate of another CA, with the same issuer name: unknown.
    const stranger = createRootCa();
    const foreign = issueCertificate({ issuer: stranger, names: ["x.example"] });
    const u = await opensslAsync([
      "ocsp",
      "-issuer",
      s.put("s.pem", stranger.cert),
      "-cert",
      s.put("f.pem", foreign.cert),
      "-url",
      responder.url,
      "-noverify",
    ]);
    assert.match(u.out, /f\.pem: unknown/);
    // GET (RFC 6960 appendix A) and a garbage POST.
    const req = createOcspRequest(good.cert, ca.cert, { nonce: false });
    const viaGet = await fetch(responder.url + encodeURIComponent(Buffer.from(req).toString("base64")));
    assert.equal(viaGet.headers.get("content-type"), "application/ocsp-response");
    const parsed = parseOcspResponse(new Uint8Array(await viaGet.arrayBuffer()), ca.cert);
    assert.equal(parsed.verified, true);
    assert.equal(parsed.responses[0].status, "good");
    const junk = await fetch(responder.url, {
      method: "POST",
      body: "junk",
      headers: { "content-type": "application/ocsp-request" },
    });
    assert.equal(
      parseOcspResponse(new Uint8Array(await junk.arrayBuffer())).responseStatus,
      "malformedRequest",
    );
    await (await fetch(responder.url, { method: "PUT", body: "x" })).arrayBuffer();
  } finally {
    await responder.close();
  }
});

test("ca ocsp: messages round-trip; nonces are echoed; signatures are checked", async () => {
  const root = createRootCa();
  const other = createRootCa({ subject: "Other" });
  const leaf = issueCertificate({ issuer: root, names: ["a.example"] });
  const req = createOcspRequest(leaf.cert, root.cert);
  const parsedReq = parseOcspRequest(req, root.cert);
  assert.equal(parsedReq.certs.length, 1);
  assert.equal(parsedReq.certs[0].issuerMatches, true);
  assert.equal(parseOcspRequest(req, other.cert).certs[0].issuerMatches, false);
  assert.ok(parsedReq.nonce);
  const revokedAt = new Date(Date.now() - 3_600_000);
  const resp = createOcspResponse({
    request: req,
    signer: root,
    answers: [{ status: "revoked", revokedAt, reason: "superseded" }],
  });
  const info = parseOcspResponse(resp, root.cert);
  assert.equal(info.responseStatus, "successful");
  assert.equal(info.nonce, parsedReq.nonce);
  assert.equal(info.verified, true);
  assert.equal(info.responses[0].status, "revoked");
  assert.equal(info.responses[0].reason, "superseded");
  assert.equal(
    Math.floor(info.responses[0].revokedAt!.getTime() / 1000),
    Math.floor(revokedAt.getTime() / 1000),
  );
  const forged = parseOcspResponse(resp, other.cert);
  assert.equal(forged.verified, false);
  assert.ok(forged.verifyError);
  assert.equal(parseOcspResponse(ocspErrorResponse("tryLater")).responseStatus, "tryLater");
  await rejectsWith("INVALID_PEM", () => parseOcspRequest(new Uint8Array([1, 2, 3])));
  await rejectsWith("INVALID_PEM", () => parseOcspResponse(new Uint8Array([1, 2, 3])));
  await rejectsWith("INVALID_OPTION", () => createOcspResponse({ request: req, signer: root, answers: [] }));
  await rejectsWith(
    "KEY_MISMATCH",
    () =>
      createOcspResponse({
        request: req,
        signer: { cert: root.cert, key: leaf.key },
        answers: [{ status: "good" }],
      }),
  );
});
