'use strict'
// The native layer under index.js: the lean verifySync/tryVerify callbacks (src/lean.rs)
// refuse bad arguments with exceptions, and no export lets a panic abort the process.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const native = require(path.join(__dirname, '..', 'veritoken.node'))
const { mint, goodClaims, hsConfig } = require('./helpers')

const handle = () => new native.NativeVerifier(JSON.stringify(hsConfig())).handle()
/** The engine's rejection: an Error whose message is the JSON {code, message, claim}. */
const rejection = (code) => (e) => e instanceof Error && JSON.parse(e.message).code === code

for (const name of ['verifySync', 'tryVerify']) {
  test(`${name}: verdicts, now and the DPoP argument`, () => {
    const h = handle()
    const claims = goodClaims({ jti: 'n1' })
    const text = native[name](h, mint(claims))
    const [header, body] = text.split('\u0001')
    assert.deepEqual(JSON.parse(header), { alg: 'HS256', typ: 'JWT' })
    assert.deepEqual(JSON.parse(body), claims)
    // `now` is used (the token expires at claims.exp), and undefined or null means the clock.
    assert.throws(() => native[name](h, mint(claims), claims.exp + 60), rejection('token_expired'))
    assert.equal(native[name](h, mint(claims), claims.exp - 1, null), text)
    assert.equal(native[name](h, mint(claims), null, undefined), text)
    assert.throws(() => native[name](h, 'not.a.token'), rejection('token_malformed'))
    // A DPoP proof for a bearer-only verifier: refused by the engine, not ignored.
    const dpop = { proof: 'x.y.z', method: 'GET', url: 'https://api.test/' }
    assert.throws(() => native[name](h, mint(claims), undefined, dpop), (e) => JSON.parse(e.message).code.startsWith('dpop_'))
  })

  test(`${name}: bad arguments throw, they never crash`, () => {
    const h = handle()
    const token = mint(goodClaims())
    assert.throws(() => native[name](), /External|external/)
    assert.throws(() => native[name]({}, token), /External|external/)
    assert.throws(() => native[name](h), /string/)
    assert.throws(() => native[name](h, 42), /string/)
    assert.throws(() => native[name](h, token, 'soon'), /i64/)
    assert.throws(() => native[name](h, token, undefined, { proof: 1 }))
    assert.throws(() => native[name](h, token, undefined, 'proof'))
    assert.ok(native[name](h, token, undefined, undefined, 'extra arguments are ignored'))
  })
}

test('a panic in an export is a JS exception, and the addon keeps working', () => {
  assert.throws(() => native.panicForTests(false), /a panic for the tests/)
  const h = handle()
  const token = mint(goodClaims())
  for (const name of ['verifySync', 'tryVerify']) {
    native.panicForTests(true)
    assert.throws(() => native[name](h, token), /a panic for the tests/)
    assert.ok(native[name](h, token).includes('\u0001'))
  }
})
