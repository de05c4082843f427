'use strict'
// DPoP (RFC 9449) from Node: proofs by an independent signer and by the test IdP, replay,
// nonces through the verifier's errorResponse, argument errors, the async path.
const test = require('node:test')
const assert = require('node:assert/strict')
const { Verifier, VeritokenError, errorResponse } = require('..')
const { mint, goodClaims, hsConfig, dpopClient, startIdp } = require('./helpers')

const URL_ = 'https://api.example.com/orders'

async function rejects(promise, claim) {
  await assert.rejects(promise, (e) => e instanceof VeritokenError && e.code === 'dpop_invalid' && (claim === undefined || e.claim === claim))
}

test('a proof verifies once', async () => {
  const client = dpopClient()
  const v = new Verifier(hsConfig({ dpop: { mode: 'required' } }))
  const token = mint(goodClaims({ cnf: { jkt: client.jkt } }))
  const options = { dpopProof: client.proof('GET', URL_, token), method: 'GET', url: URL_ }
  const verified = await v.verify(token, options)
  assert.equal(verified.dpopJkt, client.jkt)
  await rejects(v.verify(token, options), 'jti')
  assert.throws(() => v.verifySync(mint(goodClaims())), (e) => e.code === 'dpop_invalid' && e.status === 401)
  assert.throws(() => v.verifySync(token, { dpopProof: 'a.b.c', method: 'GET' }), TypeError)
  assert.equal(v.metrics().rejected.dpop_invalid, 2)
})

test('a DPoP request needs its method and url', async () => {
  const client = dpopClient()
  const v = new Verifier(hsConfig({ dpop: { mode: 'allowed' } }))
  const token = mint(goodClaims({ cnf: { jkt: client.jkt } }))
  const headers = { authorization: `DPoP ${token}`, dpop: client.proof('GET', URL_, token) }
  await assert.rejects(v.verifyRequest(headers, null), (e) => e.code === 'internal')
  const ok = await v.verifyRequest(headers, null, { method: 'GET', url: URL_ })
  assert.equal(ok.subject, 'alice')
})

test('use_dpop_nonce hands out the nonce that then works', async () => {
  const client = dpopClient()
  const v = new Verifier(hsConfig({ dpop: { mode: 'allowed', nonce: true } }))
  const token = mint(goodClaims({ cnf: { jkt: client.jkt } }))
  let err
  try {
    v.verifySync(token, { dpopProof: client.proof('GET', URL_, token), method: 'GET', url: URL_ })
  } catch (e) {
    err = e
  }
  assert.equal(err.claim, 'nonce')
  const r = v.errorResponse(err, 'api')
  assert.equal(r.status, 401)
  assert.match(r.headers['www-authenticate'], /^DPoP realm="api", error="use_dpop_nonce"/)
  const nonce = r.headers['dpop-nonce']
  assert.ok(nonce)
  assert.equal(errorResponse(err).headers['dpop-nonce'], undefined, 'the module-level answer knows no verifier')
  const ok = v.verifySync(token, { dpopProof: client.proof('GET', URL_, token, nonce), method: 'GET', url: URL_ })
  assert.equal(ok.subject, 'alice')
})

test('an IdP-bound token over a cold JWKS cache', async (t) => {
  const idp = await startIdp(t)
  if (!idp) return
  const v = new Verifier({ ...idp.config(), dpop: { mode: 'required' } })
  const { token, jkt } = await idp.dpopToken()
  const headers = { authorization: `DPoP ${token}`, dpop: await idp.dpopProof('GET', URL_, token) }
  const verified = await v.verifyRequest(headers, null, { method: 'GET', url: URL_ })
  assert.equal(verified.dpopJkt, jkt)
  await rejects(v.verifyRequest(headers, null, { method: 'GET', url: URL_ }), 'jti')
})
