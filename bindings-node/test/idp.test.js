'use strict'
// Against the repository's test IdP over real HTTP: discovery, rotation, unknown kid,
// IdP down, and a fetch that never blocks the event loop.
const test = require('node:test')
const assert = require('node:assert/strict')
const { Verifier } = require('..')
const { b64, startIdp } = require('./helpers')

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

test('discovery, every algorithm, rotation, unknown kid', async (t) => {
  const idp = await startIdp(t)
  if (!idp) return
  const v = new Verifier(idp.config({ waitAtStartup: true, cooldown: 1 }))
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const token = await v.verify(await idp.token({ alg, scope: 'orders:read' }))
    assert.equal(token.algorithm, alg)
    assert.ok(token.hasScopes('orders:read'))
  }
  const { kid } = await idp.admin('POST', '/admin/keys', { alg: 'ES256' })
  assert.equal((await v.verify(await idp.token({ alg: 'ES256', kid }))).kid, kid)
  await sleep(1100) // past the cooldown: the unknown kid causes one refetch
  const payload = (await idp.token({ alg: 'RS256' })).split('.')[1]
  const forged = `${b64(JSON.stringify({ alg: 'RS256', kid: 'no-such-kid' }))}.${payload}.AA`
  await assert.rejects(() => v.verify(forged), (e) => e.code === 'key_not_found' && e.status === 401)
  assert.ok(v.metrics().jwks_fetches >= 2)
})

test('IdP down: jwks_unavailable (503), then recovery', async (t) => {
  const idp = await startIdp(t)
  if (!idp) return
  const token = await idp.token({ alg: 'RS256' })
  await idp.admin('POST', '/admin/fault', { mode: 'down' })
  const v = new Verifier(idp.config())
  await assert.rejects(() => v.verify(token), (e) => e.code === 'jwks_unavailable' && e.status === 503)
  await idp.admin('POST', '/admin/reset')
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      assert.equal((await v.verify(token)).subject, 'test-client')
      break
    } catch (e) {
      if (e.code !== 'jwks_unavailable' || Date.now() > deadline) throw e
      await sleep(200)
    }
  }
})

test('a slow key fetch does not block the event loop', async (t) => {
  const idp = await startIdp(t)
  if (!idp) return
  await idp.admin('POST', '/admin/fault', { mode: 'delay', delay_ms: 400 })
  const v = new Verifier(idp.config())
  const token = await idp.token({ alg: 'ES256' })
  let ticks = 0
  const timer = setInterval(() => ticks++, 5)
  const started = Date.now()
  const verified = await v.verify(token)
  clearInterval(timer)
  assert.equal(verified.subject, 'test-client')
  assert.ok(Date.now() - started >= 350, 'it waited for the slow IdP')
  assert.ok(ticks >= 20, `the event loop ticked only ${ticks} times during the fetch`)
})

test('waits for keys hold no libuv pool thread', async (t) => {
  // 50 verifications on a cold cache behind a slow IdP used to fill libuv's pool (4
  // threads) for the whole fetch; an unrelated fs read then waited as long.
  const idp = await startIdp(t)
  if (!idp) return
  await idp.admin('POST', '/admin/fault', { mode: 'delay', delay_ms: 800 })
  const v = new Verifier(idp.config({ timeoutMs: 3000 }))
  const token = await idp.token({ alg: 'ES256' })
  const started = Date.now()
  const verifications = Array.from({ length: 50 }, () => v.verify(token))
  await sleep(50) // every verification is now waiting for the keys
  await require('node:fs/promises').readFile(__filename)
  const unrelated = Date.now() - started
  const subjects = (await Promise.all(verifications)).map((t) => t.subject)
  const waited = Date.now() - started
  t.diagnostic(`fs.readFile done after ${unrelated} ms; 50 waits after ${waited} ms`)
  assert.deepEqual(subjects, Array(50).fill('test-client'))
  assert.ok(waited >= 700, 'the verifications really waited for the slow IdP')
  assert.ok(unrelated < waited / 2, `${unrelated} ms vs ${waited} ms`)
  assert.equal(v.metrics().jwks_fetches, 1)
})

test('opaque tokens through introspection (endpoint from discovery)', async (t) => {
  const idp = await startIdp(t)
  if (!idp) return
  const config = idp.config()
  config.issuers[0].introspection = { clientId: 'test-client', clientSecret: 'test-secret' }
  const v = new Verifier(config)
  const token = await idp.token({ format: 'opaque', scope: 'orders:read' })
  const verified = await v.verify(token)
  assert.equal(verified.subject, 'test-client')
  assert.equal(verified.algorithm, undefined)
  assert.ok(verified.hasScopes('orders:read'))
  assert.equal(v.verifySync(token).subject, 'test-client') // from the cache
  await assert.rejects(() => v.verify('opaque-never-issued'), (e) => e.code === 'token_inactive' && e.status === 401)
  await idp.admin('POST', '/admin/fault', { mode: 'down' })
  const another = await idp.token({ format: 'opaque' })
  await assert.rejects(() => v.verify(another), (e) => e.code === 'introspection_unavailable' && e.status === 503)
  const m = v.metrics()
  assert.equal(m.introspection_cache_hits, 1)
  assert.equal(m.introspection_failures, 1)
})

test('introspection cache on Redis: camelCase config, fallback to the endpoint when Redis refuses', async (t) => {
  const idp = await startIdp(t)
  if (!idp) return
  const config = idp.config()
  config.issuers[0].introspection = { clientId: 'test-client', clientSecret: 'test-secret', cache: 'redis' }
  assert.throws(() => new Verifier(config), (e) => e.code === 'config_invalid' && e.message.includes('introspection.cache'))
  config.dpop = { replay: { store: 'redis', url: 'redis://127.0.0.1:1', keyPrefix: 'node', timeoutMs: 200 } }
  const v = new Verifier(config)
  const token = await idp.token({ format: 'opaque' })
  assert.equal((await v.verify(token)).subject, 'test-client')
  const m = v.metrics()
  assert.equal(m.introspection_requests, 1)
  assert.equal(m.introspection_store_hits, 0)
  assert.ok(m.store_errors >= 1)
})
