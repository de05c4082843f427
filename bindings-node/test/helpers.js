'use strict'
// Shared by the tests: an HS256 signer, configs, and the repository's test IdP process.
const crypto = require('node:crypto')
const path = require('node:path')
const fs = require('node:fs')
const { spawn } = require('node:child_process')
const readline = require('node:readline')
const assert = require('node:assert/strict')

const ROOT = path.resolve(__dirname, '..', '..')
const SECRET = '0123456789abcdef0123456789abcdef'
const ISSUER = 'https://issuer.test'

const b64 = (x) => Buffer.from(x).toString('base64url')

function mint(claims, header = { alg: 'HS256', typ: 'JWT' }) {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`
  return `${input}.${crypto.createHmac('sha256', SECRET).update(input).digest('base64url')}`
}

function goodClaims(extra = {}) {
  const now = Math.floor(Date.now() / 1000)
  return { iss: ISSUER, aud: 'api', sub: 'alice', iat: now, exp: now + 300, scope: 'read write', ...extra }
}

function hsConfig(extra = {}) {
  return {
    issuers: [{ issuer: ISSUER, audiences: ['api'], algorithms: ['HS256'], keys: [{ secret: { value: SECRET, alg: 'HS256' } }] }],
    ...extra,
  }
}

/** A DPoP client key (P-256) signing proofs; its RFC 7638 thumbprint is computed here, apart from the engine. */
function dpopClient() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
  const jwk = { kty, crv, x, y }
  const jkt = crypto.createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url')
  let count = 0
  return {
    jwk,
    jkt,
    proof(htm, htu, token, nonce) {
      const claims = { jti: `p${++count}-${process.hrtime.bigint()}`, htm, htu, iat: Math.floor(Date.now() / 1000) }
      claims.ath = crypto.createHash('sha256').update(token).digest('base64url')
      if (nonce) claims.nonce = nonce
      const input = `${b64(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk }))}.${b64(JSON.stringify(claims))}`
      const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
      return `${input}.${sig.toString('base64url')}`
    },
  }
}

/** Starts tests/idp; resolves to { base, token(form), admin(method, path, body), config(cache), stop() }. */
async function startIdp(t) {
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target')
  const bin = process.env.VERITOKEN_TESTIDP_BIN || path.join(target, 'debug', 'veritoken-testidp')
  if (!fs.existsSync(bin)) {
    if (process.env.VERITOKEN_REQUIRE_IDP) throw new Error(`test IdP binary missing: ${bin}`)
    t.skip('test IdP not built: cargo build -p veritoken-testidp')
    return null
  }
  const child = spawn(bin, ['--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const base = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve)
    child.once('error', reject)
  })
  t.after(() => child.kill())
  const basic = 'Basic ' + Buffer.from('test-client:test-secret').toString('base64')
  return {
    base,
    async token(form) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', ...form })
      const r = await fetch(`${base}/token`, { method: 'POST', body, headers: { authorization: basic } })
      if (!r.ok) throw new Error(`token: ${r.status}`)
      return (await r.json()).access_token
    },
    /** A token the IdP bound to its test client's DPoP key, from a proof sent to the token endpoint. */
    async dpopToken() {
      const made = await this.admin('POST', '/dpop/proof', { htm: 'POST', htu: `${base}/token` })
      const body = new URLSearchParams({ grant_type: 'client_credentials' })
      const r = await fetch(`${base}/token`, { method: 'POST', body, headers: { authorization: basic, dpop: made.proof } })
      const answer = await r.json()
      assert.equal(answer.token_type, 'DPoP')
      return { token: answer.access_token, jkt: made.jkt }
    },
    /** A proof by the IdP's test client key. */
    async dpopProof(htm, htu, token) {
      return (await this.admin('POST', '/dpop/proof', { htm, htu, access_token: token })).proof
    },
    async admin(method, p, body = {}) {
      const r = await fetch(`${base}${p}`, { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
      if (!r.ok) throw new Error(`${method} ${p}: ${r.status}`)
      const text = await r.text()
      return text ? JSON.parse(text) : null
    },
    config(cache = {}) {
      return {
        issuers: [
          {
            issuer: base,
            audiences: ['api://default'],
            algorithms: ['RS256', 'ES256', 'EdDSA'],
            discovery: true,
            jwksCache: { timeoutMs: 1000, ...cache },
          },
        ],
      }
    },
  }
}

module.exports = { ROOT, SECRET, ISSUER, b64, mint, goodClaims, hsConfig, startIdp, dpopClient }
