'use strict'
// The native layer under index.js: the bound verifySync/tryVerify callbacks (src/bound_calls.rs)
// refuse bad arguments with exceptions, keep their verifier alive, and no export lets a
// panic abort the process.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const native = require(path.join(__dirname, '..', 'veritoken.node'))
const { mint, goodClaims, hsConfig } = require('./helpers')

const calls = () => new native.NativeVerifier(JSON.stringify(hsConfig())).verifyCalls(new Float64Array(128))
/** The engine's rejection: an Error whose message is the JSON {code, message, claim}. */
const rejection = (code) => (e) => e instanceof Error && JSON.parse(e.message).code === code

for (const name of ['verifySync', 'tryVerify']) {
  test(`${name}: verdicts, now and the DPoP argument`, () => {
    const verify = calls()[name]
    const claims = goodClaims({ jti: 'n1' })
    const text = verify(mint(claims))
    const [header, body] = text.split('\u0001')
    assert.deepEqual(JSON.parse(header), { alg: 'HS256', typ: 'JWT' })
    assert.deepEqual(JSON.parse(body), claims)
    // `now` is used (the token expires at claims.exp), and undefined or null means the clock.
    assert.throws(() => verify(mint(claims), claims.exp + 60), rejection('token_expired'))
    assert.equal(verify(mint(claims), claims.exp - 1, null), text)
    assert.equal(verify(mint(claims), null, undefined), text)
    assert.equal(verify(mint(claims), undefined), text)
    assert.throws(() => verify('not.a.token'), rejection('token_malformed'))
    // A DPoP proof for a bearer-only verifier: refused by the engine, not ignored.
    const dpop = { proof: 'x.y.z', method: 'GET', url: 'https://api.test/' }
    assert.throws(() => verify(mint(claims), undefined, dpop), (e) => JSON.parse(e.message).code.startsWith('dpop_'))
  })

  test(`${name}: bad arguments throw, they never crash`, () => {
    const verify = calls()[name]
    const token = mint(goodClaims())
    assert.throws(() => verify(), /string/)
    assert.throws(() => verify(42), /string/)
    assert.throws(() => verify({}), /string/)
    assert.throws(() => verify(token, 'soon'), /now must be a number/)
    assert.throws(() => verify(token, undefined, { proof: 1 }))
    assert.throws(() => verify(token, undefined, 'proof'))
    assert.ok(verify(token, undefined, undefined, 'extra arguments are ignored'))
    // Called as a method of anything, or of nothing: the verifier is the function's own.
    assert.ok(verify.call({}, token))
    assert.ok({ verify }.verify(token))
  })

  test(`${name}: each verifier's function verifies with that verifier's keys`, () => {
    const config = hsConfig()
    config.issuers[0].keys = [{ secret: { value: 'another-secret-another-secret-another-secret!', alg: 'HS256' } }]
    const other = new native.NativeVerifier(JSON.stringify(config))
    assert.throws(() => other.verifyCalls(new Float64Array(128))[name](mint(goodClaims())), rejection('signature_invalid'))
    assert.ok(calls()[name](mint(goodClaims())))
  })
}

test('now: only whole seconds within ±(2^53 - 1) are taken, by the bound calls and verifyDeferred', async () => {
  // napi's own i64 conversion reads NaN and ±Infinity as 0 and drops a fraction: as of 1970.
  const nv = new native.NativeVerifier(JSON.stringify(hsConfig()))
  const { verifySync, tryVerify } = nv.verifyCalls(new Float64Array(128))
  const claims = goodClaims()
  const expired = mint(goodClaims({ exp: claims.iat - 600, iat: claims.iat - 900 }))
  for (const now of [NaN, Infinity, -Infinity, -1e300, 1e300, 2 ** 63, 2 ** 53, 0.5, -0.5, claims.iat + 0.25]) {
    for (const verify of [verifySync, tryVerify, (t, n) => nv.verifyDeferred(t, n)]) {
      assert.throws(() => verify(expired, now), /now must be whole seconds/, String(now))
    }
  }
  for (const verify of [verifySync, tryVerify]) {
    assert.throws(() => verify(expired, 'soon'), /now must be a number/)
    assert.throws(() => verify(expired, 10n), /now must be a number/)
    assert.throws(() => verify(expired, null), rejection('token_expired'))
    assert.ok(verify(expired, claims.iat - 700).includes('\u0001'))
    assert.throws(() => verify(expired, -0), rejection('token_issued_in_future')) // as of 0, not refused as an argument
    assert.throws(() => verify(expired, 2 ** 53 - 1), rejection('token_expired'))
  }
  await assert.rejects(nv.verifyDeferred(expired, claims.iat), rejection('token_expired'))
  assert.ok((await nv.verifyDeferred(expired, claims.iat - 700)).includes('\u0001'))
})

test('extractCredential: the token of a request, and bad arguments throw', () => {
  const { extractCredential } = calls()
  const token = mint(goodClaims())
  assert.deepEqual({ ...extractCredential(['authorization'], [`Bearer ${token}`]) }, { token })
  assert.equal(extractCredential(['Authorization'], [`Bearer ${token}`], null, null, null).token, token)
  assert.throws(() => extractCredential([], []), rejection('token_missing'))
  assert.throws(() => extractCredential(['authorization'], ['Basic abc']), rejection('token_missing'))
  assert.throws(() => extractCredential(['authorization', 'authorization'], [`Bearer ${token}`, `Bearer ${token}`]), rejection('token_malformed'))
  assert.throws(() => extractCredential(), /Array|array/)
  assert.throws(() => extractCredential('authorization', []), /Array|array/)
  assert.throws(() => extractCredential([1], ['x']), /string/)
  assert.throws(() => extractCredential(['authorization'], [`Bearer ${token}`], 42), /string/)
  assert.throws(() => extractCredential(['authorization'], [`Bearer ${token}`], null, 'GET', {}), /string/)
})

test('a bound function keeps its verifier alive after the NativeVerifier is collected', () => {
  // A child with --expose-gc: the NativeVerifier is dropped and collected,
  // then the functions still verify (they hold their own count, released when collected).
  const script = `
    const native = require(${JSON.stringify(path.join(__dirname, '..', 'veritoken.node'))})
    const { mint, goodClaims, hsConfig } = require(${JSON.stringify(path.join(__dirname, 'helpers'))})
    let fns = new native.NativeVerifier(JSON.stringify(hsConfig())).verifyCalls(new Float64Array(128))
    for (let i = 0; i < 5; i++) { global.gc(); new Array(1e5).fill({}) }
    let ok = 0
    for (let i = 0; i < 1000; i++) if (fns.verifySync(mint(goodClaims())).includes('\u0001')) ok++
    for (let i = 0; i < 200; i++) new native.NativeVerifier(JSON.stringify(hsConfig())).verifyCalls(new Float64Array(128))
    fns = null
    for (let i = 0; i < 5; i++) global.gc()
    process.stdout.write(String(ok))
  `
  const out = require('node:child_process').execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' })
  assert.equal(out, '1000')
})

test('the layout array lives as long as the bound functions, and is released after them', () => {
  // A child with --expose-gc, between event-loop turns (a WeakRef's target is kept for the
  // rest of the turn that made it): the functions' reference keeps the array, then frees it.
  const script = `
    const native = require(${JSON.stringify(path.join(__dirname, '..', 'veritoken.node'))})
    const { mint, goodClaims, hsConfig } = require(${JSON.stringify(path.join(__dirname, 'helpers'))})
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    async function main() {
      let layout = new Float64Array(128)
      const weak = new WeakRef(layout)
      let fns = new native.NativeVerifier(JSON.stringify(hsConfig())).verifyCalls(layout)
      layout = null
      for (let i = 0; i < 5; i++) { await turn(); global.gc() }
      const claims = goodClaims()
      const answer = fns.verifySync(mint(claims))
      // Read in a function of its own, so that no variable here holds the array.
      const wrote = ((kept) => kept !== undefined && answer.split('\u0001').length === 3 && kept.includes(claims.exp))(weak.deref())
      fns = null
      let rounds = 0
      while (weak.deref() !== undefined && rounds < 50) { await turn(); global.gc(); rounds++ }
      process.stdout.write(JSON.stringify({ wrote, released: weak.deref() === undefined }))
    }
    main()
  `
  const out = require('node:child_process').execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), { wrote: true, released: true })
})

test('a panic in an export is a JS exception, and the addon keeps working', () => {
  // napi-rs's own catch_unwind: its GenericFailure with the panic's text (index.js maps it to `internal`).
  assert.throws(() => native.panicForTests(false), (e) => e.code === 'GenericFailure' && e.message === 'a panic for the tests')
  const fns = calls()
  const token = mint(goodClaims())
  // The bound calls catch their own: the engine's `internal` error, like every rejection.
  const internal = (e) => rejection('internal')(e) && /panic: a panic for the tests/.test(JSON.parse(e.message).message)
  for (const name of ['verifySync', 'tryVerify']) {
    native.panicForTests(true)
    assert.throws(() => fns[name](token), internal)
    assert.ok(fns[name](token).includes('\u0001'))
  }
  native.panicForTests(true)
  assert.throws(() => fns.extractCredential(['authorization'], [`Bearer ${token}`]), internal)
  assert.equal(fns.extractCredential(['authorization'], [`Bearer ${token}`]).token, token)
})

// The layout array is read again on every call (src/layout.rs): once its buffer is detached
// (transferred away) the addon must not write to the freed memory; it throws a clear error.
test('a detached or transferred layout array is refused, never written to', () => {
  const detachers = [
    (layout) => structuredClone(layout.buffer, { transfer: [layout.buffer] }),
    (layout) => {
      const { port1, port2 } = new MessageChannel()
      port1.postMessage(layout.buffer, [layout.buffer])
      port1.close()
      port2.close()
    },
  ]
  // ArrayBuffer.prototype.transfer: Node 21 and later.
  if (typeof ArrayBuffer.prototype.transfer === 'function') detachers.push((layout) => layout.buffer.transfer())
  for (const detach of detachers) {
    const layout = new Float64Array(128)
    const { verifySync, tryVerify } = new native.NativeVerifier(JSON.stringify(hsConfig())).verifyCalls(layout)
    const token = mint(goodClaims())
    assert.ok(verifySync(token).includes('\u0001'))
    assert.notEqual(layout[1], 0)
    detach(layout)
    assert.equal(layout.length, 0)
    for (const verify of [verifySync, tryVerify]) {
      assert.throws(() => verify(token), /layout Float64Array was detached or resized/)
      // A refusal by the engine still comes first, with its own code.
      assert.throws(() => verify('not.a.token'), rejection('token_malformed'))
    }
    // Memory churn after the transfer: a write into the old store would show under ASan or
    // crash here; the process stays up.
    for (let i = 0; i < 50; i++) new Float64Array(4096).fill(i)
    assert.throws(() => verifySync(token), /detached/)
  }
})
