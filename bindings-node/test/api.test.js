'use strict'
// The JS API: errors with err.code, configuration, scopes, async, extraction, metrics,
// ESM + CommonJS, worker_threads and cluster.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const fs = require('node:fs')
const os = require('node:os')
const { execFileSync } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { Verifier, VeritokenError, ERROR_CODES, errorResponse } = require('..')
const { ISSUER, mint, goodClaims, hsConfig } = require('./helpers')

test('verify and accessors', async () => {
  const v = new Verifier(hsConfig())
  const t = v.verifySync(mint(goodClaims({ jti: 'j1' })))
  assert.equal(t.subject, 'alice')
  assert.equal(t.issuer, ISSUER)
  assert.deepEqual(t.audiences, ['api'])
  assert.equal(t.algorithm, 'HS256')
  assert.equal(t.claims.jti, 'j1')
  assert.equal(t.claims, t.claims) // parsed once
  assert.deepEqual(t.header, { alg: 'HS256', typ: 'JWT' })
  assert.ok(t.expiresAt instanceof Date)
  assert.deepEqual(t.grantedScopes(), ['read', 'write'])
  assert.ok(t.hasScopes(['read', 'write']) && t.hasScopes('read') && !t.hasScopes(['admin']))
  assert.ok(t.hasScopes(['admin', 'write'], { match: 'any' }))
  assert.throws(() => t.requireScopes(['admin']), (e) => e instanceof VeritokenError && e.code === 'scope_insufficient' && e.status === 403)
  assert.throws(() => t.hasScopes(['read'], { match: 'most' }), TypeError)
  assert.deepEqual(JSON.parse(JSON.stringify(t)), t.claims)
  const async = await v.verify(mint(goodClaims()))
  assert.equal(async.subject, 'alice')
})

test('rejections carry code, claim and status', async () => {
  const v = new Verifier(hsConfig())
  const cases = [
    [mint(goodClaims({ exp: 1 })), 'token_expired', 'exp', 401],
    [mint(goodClaims({ aud: 'other' })), 'audience_invalid', 'aud', 401],
    [mint(goodClaims(), { alg: 'HS512' }), 'algorithm_not_allowed', undefined, 401],
    ['not-a-jwt', 'token_malformed', undefined, 401],
    [mint(goodClaims()) + '\u0000junk', 'token_malformed', undefined, 401],
    [mint(goodClaims()).slice(0, -3) + 'AAA', 'signature_invalid', undefined, 401],
  ]
  for (const [token, code, claim, status] of cases) {
    for (const attempt of [() => v.verifySync(token), () => v.verify(token)]) {
      await assert.rejects(
        async () => attempt(),
        (e) => {
          assert.ok(e instanceof VeritokenError && e instanceof Error, String(e))
          assert.deepEqual([e.code, e.claim, e.status, e.name], [code, claim, status, 'VeritokenError'])
          assert.ok(e.message && !e.message.startsWith('{'))
          return true
        },
      )
    }
  }
  assert.throws(() => v.verifySync(undefined), TypeError)
  await assert.rejects(() => v.verify(42), TypeError)
  assert.equal(ERROR_CODES.length, 23)
  assert.equal(ERROR_CODES[22], 'replay_store_unavailable')
  assert.equal(errorResponse(new VeritokenError('replay_store_unavailable', 'down')).status, 503)
})

test('strings cross the boundary intact: non-ASCII claims, non-ASCII tokens, large answers', async () => {
  const v = new Verifier(hsConfig({ maxTokenSize: 262_144 }))
  // Claims that are not ASCII take the UTF-8 path back to JS (ASCII ones a Latin-1 copy).
  const name = 'Zoë 🚀 \u00e9\u4e2d'
  const t = v.verifySync(mint(goodClaims({ name, pad: 'é'.repeat(50_000) })))
  assert.equal(t.claims.name, name)
  assert.equal(t.claims.pad.length, 50_000)
  assert.equal(v.verifySync(mint(goodClaims({ jti: 'after' }))).claims.jti, 'after')
  // A token with characters outside ASCII is refused, never mangled into another token:
  // `narrowed` is the one character that a Latin-1 narrowing would turn back into the
  // original (its low byte); a lone surrogate would become U+FFFD.
  const good = mint(goodClaims())
  const at = good.length - 5
  const narrowed = String.fromCharCode(0x100 + good.charCodeAt(at))
  for (const odd of [narrowed, '\ud800', 'é', '\u{1F680}']) {
    const token = good.slice(0, at) + odd + good.slice(at + 1)
    assert.throws(() => v.verifySync(token), (e) => e.code === 'token_malformed' || e.code === 'signature_invalid', odd)
    await assert.rejects(() => v.verify(token), (e) => e instanceof VeritokenError, odd)
  }
  assert.equal(v.verifySync(good).subject, 'alice')
})

test('a string longer than any verifier accepts is refused by the engine, read only in part', async () => {
  const v = new Verifier(hsConfig({ maxTokenSize: 1_048_576 }))
  // Under the largest limit, all of it is read: it verifies.
  const big = mint(goodClaims({ pad: 'x'.repeat(700_000) }))
  assert.ok(big.length > 900_000 && big.length < 1_048_576, big.length)
  assert.equal(v.verifySync(big).claims.pad.length, 700_000)
  assert.equal((await v.verify(big)).claims.pad.length, 700_000)
  // Past it, the addon reads the first MiB and a few bytes, whole characters only, and the
  // engine refuses that as too large: 64 MiB of ASCII, and two- and four-byte characters
  // (a surrogate pair in JS) where the cut falls inside one.
  const rockets = ['', 'a', 'ab', 'abc'].map((lead) => lead + '\u{1F680}'.repeat(300_000))
  for (const long of [big + 'a'.repeat(64 * 1024 * 1024), 'a' + 'é'.repeat(600_000), ...rockets]) {
    // The message gives the length the engine saw: 1 MiB and up to four bytes, not 64 MiB.
    const tooLarge = (e) => e instanceof VeritokenError && e.code === 'token_malformed' &&
      /^token is 10485(7[7-9]|80) bytes, over the 1048576-byte limit/.test(e.message)
    assert.throws(() => v.verifySync(long), tooLarge)
    await assert.rejects(() => v.verify(long), tooLarge)
  }
})

test('configuration: camelCase, errors, files', () => {
  assert.throws(() => new Verifier({ issuers: [] }), (e) => e.code === 'config_invalid' && /issuer/.test(e.message))
  assert.throws(() => new Verifier({ ...hsConfig(), bogusKey: 1 }), (e) => e.code === 'config_invalid' && /bogus_key/.test(e.message))
  const weak = hsConfig()
  weak.issuers[0].keys[0].secret.value = 'hunter2-xyzzy'
  assert.throws(() => new Verifier(weak), (e) => e.code === 'config_invalid' && !/xyzzy/.test(e.message))
  assert.throws(() => Verifier.fromFile('/nonexistent/veritoken.toml'), (e) => e.code === 'config_invalid')
  const camel = hsConfig({ maxTokenSize: 256 })
  camel.issuers[0].requiredClaims = ['jti']
  const v = new Verifier(camel)
  assert.throws(() => v.verifySync(mint(goodClaims())), (e) => e.code === 'claim_missing' && e.claim === 'jti')
  assert.throws(() => v.verifySync(mint(goodClaims({ jti: 'x', pad: 'p'.repeat(300) }))), (e) => e.code === 'token_malformed')
  assert.equal(v.verifySync(mint(goodClaims({ jti: 'x' }))).claims.jti, 'x')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'veritoken-'))
  fs.writeFileSync(path.join(dir, 'v.json'), JSON.stringify(hsConfig()))
  assert.equal(Verifier.fromFile(path.join(dir, 'v.json')).verifySync(mint(goodClaims())).subject, 'alice')
  assert.equal(new Verifier(JSON.stringify(hsConfig())).verifySync(mint(goodClaims())).subject, 'alice')
})

test('extraction, verifyRequest, metrics, errorResponse', async () => {
  const v = new Verifier(hsConfig({ tokenSources: [{ cookie: { name: 'session' } }, { query: { name: 'access_token' } }] }))
  assert.equal(v.extractToken({ cookie: 'a=1; session=x.y.z' }), 'x.y.z')
  assert.equal(v.extractToken({}, 'a=1&access_token=q.r.s'), 'q.r.s')
  assert.equal(v.extractToken(new Headers({ cookie: 'session=h.i.j' })), 'h.i.j')
  assert.throws(() => v.extractToken({ authorization: 'Bearer a.b.c' }), (e) => e.code === 'token_missing')
  const d = new Verifier(hsConfig())
  const good = mint(goodClaims())
  assert.equal((await d.verifyRequest({ authorization: [`Bearer ${good}`] }, null, { scopes: ['read'] })).subject, 'alice')
  await assert.rejects(() => d.verifyRequest({ authorization: `Bearer ${good}` }, null, { scopes: 'admin' }), (e) => e.code === 'scope_insufficient')
  await assert.rejects(() => d.verify(mint(goodClaims({ exp: 1 }))), (e) => {
    const r = errorResponse(e, 'orders')
    assert.equal(r.status, 401)
    assert.match(r.headers['www-authenticate'], /^Bearer realm="orders", error="invalid_token", error_description="/)
    assert.deepEqual(JSON.parse(r.body), { error: { code: 'token_expired', message: e.message, claim: 'exp' } })
    return true
  })
  const m = d.metrics()
  assert.equal(m.verified, 2)
  assert.equal(m.rejected.token_expired, 1)
  assert.equal(m.rejected.scope_insufficient, undefined) // scope checks are not verifications
  assert.ok(d.isReady())
})

test('ESM and CommonJS both load', () => {
  const dir = path.resolve(__dirname, '..')
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', "import { Verifier, VeritokenError } from '@veritoken/node'; import def from '@veritoken/node'; console.log(typeof Verifier, typeof VeritokenError, typeof def.Verifier)"], { cwd: dir, encoding: 'utf8' })
  assert.equal(out.trim(), 'function function function')
  const cjs = execFileSync(process.execPath, ['-e', "const v = require('@veritoken/node'); const e = require('@veritoken/node/express'); const f = require('@veritoken/node/fastify'); console.log(typeof v.Verifier, typeof e.requireToken, typeof f)"], { cwd: dir, encoding: 'utf8' })
  assert.equal(cjs.trim(), 'function function function')
})

test('worker_threads: each worker verifies with its own Verifier', async () => {
  const script = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { Verifier } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const v = new Verifier(workerData.config)
    let ok = 0
    for (let i = 0; i < 200; i++) ok += v.verifySync(workerData.token).subject === 'alice'
    v.verify(workerData.token).then((t) => parentPort.postMessage(ok + (t.subject === 'alice')))
  `
  const token = mint(goodClaims())
  const results = await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(script, { eval: true, workerData: { config: hsConfig(), token } })
          w.once('message', resolve)
          w.once('error', reject)
        }),
    ),
  )
  assert.deepEqual(results, [201, 201, 201, 201])
})

test('cluster: forked workers verify', () => {
  const script = `
    const cluster = require('node:cluster')
    const { Verifier } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const v = new Verifier(${JSON.stringify(hsConfig())})
    const token = ${JSON.stringify(mint(goodClaims()))}
    if (cluster.isPrimary) {
      v.verifySync(token)
      let done = 0, ok = 0
      for (let i = 0; i < 2; i++) cluster.fork().on('message', (m) => { ok += m; if (++done === 2) { console.log(ok); process.exit(0) } })
    } else {
      v.verify(token).then((t) => { process.send(t.subject === 'alice' ? 1 : 0); process.disconnect() })
    }
  `
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'veritoken-')), 'cluster.js')
  fs.writeFileSync(file, script)
  const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 20000 })
  assert.equal(out.trim(), '2')
})

test('extraction reads only the headers the engine names, in every header shape and letter case', async () => {
  const v = new Verifier(hsConfig({ tokenSources: [{ header: { name: 'X-Api-Token', prefix: 'Token ' } }, { cookie: { name: 'session' } }] }))
  const noise = { host: 'api.test', 'user-agent': 'ua', accept: '*/*', 'x-api-tokens': 'Token not-this' }
  const shapes = (h) => [h, Object.entries(h), new Map(Object.entries(h)), new Headers(h)]
  for (const headers of shapes({ ...noise, 'X-API-TOKEN': 'Token a.b.c' })) assert.equal(v.extractToken(headers), 'a.b.c')
  for (const headers of shapes({ ...noise, Cookie: 'x=1; session=d.e.f' })) assert.equal(v.extractToken(headers), 'd.e.f')
  for (const headers of shapes(noise)) assert.throws(() => v.extractToken(headers), (e) => e.code === 'token_missing')
  // A source sent twice is still seen twice (ambiguous), whatever else the request has.
  assert.throws(
    () => v.extractToken([...Object.entries(noise), ['x-api-token', 'Token a.b.c'], ['X-Api-Token', 'Token g.h.i']]),
    (e) => e.code === 'token_malformed',
  )
  const good = mint(goodClaims())
  const d = new Verifier(hsConfig())
  assert.equal((await d.verifyRequest({ ...noise, Authorization: `Bearer ${good}` }, null)).subject, 'alice')
  await assert.rejects(d.verifyRequest({ ...noise, authorisation: `Bearer ${good}` }, null), (e) => e.code === 'token_missing')
})

test('the verified-token cache: a hit, expiry at the exact second, a tampered copy', async () => {
  const now = 1767225600
  const v = new Verifier(hsConfig({ cache: { maxEntries: 100 } }))
  const token = mint({ ...goodClaims(), iat: now, exp: now + 60 })
  const first = v.verifySync(token, { now })
  const again = await v.verify(token, { now: now + 59 })
  assert.deepEqual(again.claims, first.claims)
  assert.throws(() => v.verifySync(token, { now: now + 60 }), (e) => e.code === 'token_expired' && e.claim === 'exp')
  const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA')
  assert.throws(() => v.verifySync(tampered, { now }), (e) => e.code === 'signature_invalid')
  const m = v.metrics()
  assert.deepEqual([m.token_cache_hits, m.token_cache_misses], [2, 2])
})

test('now: whole Unix seconds (a safe integer) or absent; anything else is a TypeError, never 1970', async () => {
  const v = new Verifier(hsConfig())
  const claims = goodClaims()
  const token = mint(claims)
  const expired = mint(goodClaims({ exp: claims.iat - 600, iat: claims.iat - 900 }))
  // napi read NaN and ±Infinity as 0 and dropped a fraction: an expired token verified as of 1970.
  for (const now of [NaN, Infinity, -Infinity, -1e300, 1e300, 2 ** 63, 2 ** 53, -(2 ** 53), 0.5, claims.iat + 0.5, '0', 0n, {}, true]) {
    const what = typeof now === 'bigint' ? `${now}n` : String(now)
    assert.throws(() => v.verifySync(expired, { now }), TypeError, what)
    assert.throws(() => v.verifySync(token, { now }), TypeError, what)
    await assert.rejects(() => v.verify(expired, { now }), TypeError, what)
    await assert.rejects(() => v.verifyRequest({ authorization: `Bearer ${expired}` }, null, { now }), TypeError, what)
  }
  assert.throws(() => v.verifySync(token, { now: NaN }), /now must be/)
  // Absent (undefined or null) is the clock; a whole number is used as it is.
  for (const now of [undefined, null]) {
    assert.throws(() => v.verifySync(expired, { now }), (e) => e.code === 'token_expired')
    await assert.rejects(() => v.verify(expired, { now }), (e) => e.code === 'token_expired')
    assert.equal(v.verifySync(token, { now }).subject, 'alice')
  }
  assert.equal(v.verifySync(expired, { now: claims.iat - 700 }).subject, 'alice')
  assert.equal((await v.verify(expired, { now: claims.iat - 700 })).subject, 'alice')
  assert.throws(() => v.verifySync(token, { now: claims.exp }), (e) => e.code === 'token_expired')
  await assert.rejects(() => v.verifyRequest({ authorization: `Bearer ${token}` }, null, { now: claims.exp }), (e) => e.code === 'token_expired')
  assert.throws(() => v.verifySync(token, { now: -(2 ** 53 - 1) }), (e) => e instanceof VeritokenError)
  assert.throws(() => v.verifySync(token, { now: 2 ** 53 - 1 }), (e) => e.code === 'token_expired')
})

test('a panic in the addon is a VeritokenError with code internal (status 500), in every call', async () => {
  const native = require(path.join(__dirname, '..', 'veritoken.node'))
  const v = new Verifier(hsConfig())
  const token = mint(goodClaims())
  const internal = (e) => {
    assert.ok(e instanceof VeritokenError, `${e && e.constructor.name} ${e && e.code}: ${e && e.message}`)
    assert.deepEqual([e.code, e.status, e.claim], ['internal', 500, undefined])
    assert.match(e.message, /a panic for the tests/)
    return true
  }
  // The bound calls (src/bound_calls.rs): verifySync, tryVerify (verify), extractCredential (verifyRequest).
  native.panicForTests(true)
  assert.throws(() => v.verifySync(token), internal)
  native.panicForTests(true)
  await assert.rejects(() => v.verify(token), internal)
  native.panicForTests(true)
  await assert.rejects(() => v.verifyRequest({ authorization: `Bearer ${token}` }), internal)
  native.panicForTests(true)
  await assert.rejects(() => v.verifyRequest({}, null, { optional: true }), internal)
  assert.equal(v.verifySync(token).subject, 'alice')
  // Exports napi-rs guards itself (#[napi(catch_unwind)]): their panic, as napi-rs throws it.
  // hasScopes answers false for a refusal, never for a failure.
  const panics = { claimAccessors: (t) => t.subject, requireScopes: (t) => t.hasScopes('read') }
  for (const [name, use] of Object.entries(panics)) {
    const real = native[name]
    native[name] = () => native.panicForTests(false)
    try {
      assert.throws(() => use(v.verifySync(token)), internal, name)
    } finally {
      native[name] = real
    }
    assert.ok(use(v.verifySync(token)))
  }
  assert.equal(errorResponse(new VeritokenError('internal', 'x')).status, 500)
})

test("verifyRequest: an empty scope ('') is checked by the engine, not skipped", async () => {
  const v = new Verifier(hsConfig())
  const headers = { authorization: `Bearer ${mint(goodClaims())}` }
  for (const scopes of ['', [''], ['read', '']]) {
    await assert.rejects(() => v.verifyRequest(headers, null, { scopes }), (e) => e.code === 'scope_insufficient', JSON.stringify(scopes))
  }
  assert.equal((await v.verifyRequest(headers, null, { scopes: null })).subject, 'alice')
  assert.equal((await v.verifyRequest(headers, null, { scopes: undefined })).subject, 'alice')
})

test('headers: every iterable of pairs, Node rawHeaders, objects and fetch Headers', async () => {
  const v = new Verifier(hsConfig())
  const token = mint(goodClaims())
  const pairs = [['host', 'api.test'], ['Authorization', `Bearer ${token}`], ['accept', '*/*']]
  function* generated() {
    yield* pairs
  }
  // An iterator with a forEach of its own, as Node 22's iterator helpers give every iterator:
  // forEach(value, index) must not be read as forEach(value, key).
  const helped = new Map(pairs).entries()
  helped.forEach = function (fn) {
    let i = 0
    for (const x of this) fn(x, i++)
  }
  const shapes = {
    array: pairs,
    map: new Map(pairs),
    'map.entries()': new Map(pairs).entries(),
    set: new Set(pairs),
    generator: generated(),
    'iterator with forEach': helped,
    'fetch Headers': new Headers(pairs),
    'Headers-like forEach only': { forEach: (cb) => pairs.forEach(([k, val]) => cb(val, k)) },
    object: Object.fromEntries(pairs),
    'object with array values': { Authorization: [`Bearer ${token}`] },
    rawHeaders: pairs.flat(),
  }
  for (const [name, headers] of Object.entries(shapes)) {
    assert.equal(v.extractToken(headers), token, name)
  }
  for (const headers of [new Map(pairs), new Set(pairs), pairs.flat(), (function* () { yield* pairs })()]) {
    assert.equal((await v.verifyRequest(headers, null)).subject, 'alice')
  }
  // A header sent twice is seen twice (ambiguous), in every shape that can carry it.
  const twice = [...pairs, ['authorization', 'Bearer other']]
  for (const headers of [twice, new Map([['authorization', [`Bearer ${token}`, 'Bearer other']]]), new Set(twice), twice.flat()]) {
    assert.throws(() => v.extractToken(headers), (e) => e.code === 'token_malformed')
  }
  for (const headers of [undefined, null, {}, [], new Map()]) {
    assert.throws(() => v.extractToken(headers), (e) => e.code === 'token_missing')
  }
  for (const headers of ['authorization: Bearer x', 42, [1, 2], ['authorization']]) {
    assert.throws(() => v.extractToken(headers), TypeError, JSON.stringify(headers))
  }
})
