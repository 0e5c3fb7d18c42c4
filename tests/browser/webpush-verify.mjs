// webpush-verify.mjs: the independent check of the node's Web Push
// messages for tests/system/test_49_push.py: reads {"posts": [{"auth",
// "body" (base64url), "endpoint"}], "private" (the browser's P-256 private
// key, base64url), "public" (its point), "secret" (auth, base64url)} on
// stdin; for each post verifies the VAPID token with jose (ES256 under the
// key its k names, aud the endpoint's origin) and decrypts the body with
// http_ece (aes128gcm); prints [{"k", "claims", "plain"}] (or {"error"}).
import { createECDH } from "node:crypto";
import { importJWK, jwtVerify } from "jose";
import ece from "http_ece";

const input = JSON.parse(await new Promise((done) => {
  let s = "";
  process.stdin.on("data", (d) => (s += d));
  process.stdin.on("end", () => done(s));
}));

const browser = createECDH("prime256v1");
browser.setPrivateKey(Buffer.from(input.private, "base64url"));

const out = [];
for (const post of input.posts) {
  try {
    const m = /^vapid t=([^,]+), k=([A-Za-z0-9_-]+)$/.exec(post.auth);
    if (!m) throw new Error(`Authorization: ${post.auth}`);
    const point = Buffer.from(m[2], "base64url");
    const jwk = {
      kty: "EC", crv: "P-256",
      x: point.subarray(1, 33).toString("base64url"),
      y: point.subarray(33, 65).toString("base64url"),
    };
    const { payload } = await jwtVerify(m[1], await importJWK(jwk, "ES256"), {
      algorithms: ["ES256"],
      audience: new URL(post.endpoint).origin,
    });
    const plain = ece.decrypt(Buffer.from(post.body, "base64url"), {
      version: "aes128gcm",
      privateKey: browser,
      authSecret: input.secret,
    });
    out.push({ k: m[2], claims: payload, plain: plain.toString("utf8") });
  } catch (e) {
    out.push({ error: String(e && e.message || e) });
  }
}
process.stdout.write(JSON.stringify(out));
