// Test helper for Cloudflare Access: RSA keys, RS256-signed JWTs and a local JWKS (certs) server.

import http from "node:http";
import crypto from "node:crypto";

const b64url = (buf) => Buffer.from(buf).toString("base64url");
const b64json = (obj) => b64url(JSON.stringify(obj));

/**
 * A fresh RSA-2048 key pair with a key id.
 * @param {string} [kid]
 * @returns {{kid: string, privateKey: crypto.KeyObject, publicKey: crypto.KeyObject, jwk: object}}
 *   jwk: the public key as a JWKS entry {kid, kty, alg, use, n, e}
 */
export function makeKeyPair(kid = `kid-${crypto.randomBytes(6).toString("hex")}`) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: "jwk" });
  return { kid, privateKey, publicKey, jwk: { kid, kty: "RSA", alg: "RS256", use: "sig", n, e } };
}

/**
 * A compact JWS. RS256 is signed with `key.privateKey`; `alg: "none"` gets an empty signature and
 * `alg: "HS256"` an HMAC keyed with `hmacSecret` (the classic key-confusion attack uses the PEM).
 * @param {object} claims the payload
 * @param {object} opts
 * @param {{kid: string, privateKey?: crypto.KeyObject}} [opts.key]
 * @param {string} [opts.alg="RS256"]
 * @param {string} [opts.kid] overrides key.kid in the header
 * @param {string|Buffer} [opts.hmacSecret] for HS256
 */
export function signJwt(claims, { key, alg = "RS256", kid = key?.kid, hmacSecret } = {}) {
  const header = { alg, typ: "JWT", ...(kid !== undefined ? { kid } : {}) };
  const input = `${b64json(header)}.${b64json(claims)}`;
  let sig;
  if (alg === "RS256") sig = crypto.sign("RSA-SHA256", Buffer.from(input), key.privateKey);
  else if (alg === "HS256") sig = crypto.createHmac("sha256", hmacSecret).update(input).digest();
  else sig = Buffer.alloc(0);
  return `${input}.${b64url(sig)}`;
}

/**
 * Access-style claims for `issuer` (the team URL) and `aud`, valid for an hour unless overridden.
 * @param {{issuer: string, aud: string, email?: string}} base
 * @param {object} [overrides] claims to replace (undefined deletes)
 */
export function accessClaims({ issuer, aud, email = "viewer@example.com" }, overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: [aud],
    email,
    exp: now + 3600,
    iat: now - 5,
    nbf: now - 5,
    iss: issuer,
    type: "app",
    identity_nonce: crypto.randomBytes(8).toString("hex"),
    sub: crypto.randomUUID(),
    country: "XX",
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  }
  return claims;
}

/**
 * Serve `{"keys": [...]}` at /cdn-cgi/access/certs on 127.0.0.1, counting requests.
 * Set `status` (default 200) to answer with that status instead, and `holdMs` to answer each
 * request that much later (an endpoint that is down and slow).
 * @param {object[]} jwks public JWKs (mutable through server.keys)
 * @returns {Promise<{url: string, keys: object[], requests: number, status: number, holdMs: number, close: () => Promise<void>}>}
 *   url is `http://127.0.0.1:PORT` (the team URL and token issuer)
 */
export async function startJwksServer(jwks) {
  const state = { keys: jwks, requests: 0, status: 200, holdMs: 0, url: "", close: null };
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.method === "GET" && new URL(req.url, "http://127.0.0.1").pathname === "/cdn-cgi/access/certs") {
      state.requests += 1;
      const answer = () => {
        if (state.status !== 200) {
          res.writeHead(state.status, { "content-type": "text/plain" });
          res.end("unavailable");
          return;
        }
        const body = JSON.stringify({ keys: state.keys });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      };
      if (state.holdMs > 0) setTimeout(answer, state.holdMs);
      else answer();
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  state.url = `http://127.0.0.1:${server.address().port}`;
  state.close = () => new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
  return state;
}
