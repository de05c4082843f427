'use strict'
// setLogger: the engine's records (a JWKS fetch failure here) reach a JS logger, with levels
// and fields, never a token or a secret.
const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { Verifier, setLogger, LOG_LEVELS } = require('..')
const { ISSUER, mint, goodClaims } = require('./helpers')

/** A loopback port nothing listens on (bound, then released). */
async function closedPort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function failFetch() {
  const port = await closedPort()
  const v = new Verifier({
    issuers: [
      {
        issuer: ISSUER,
        audiences: ['api'],
        algorithms: ['RS256'],
        jwksUri: `http://user:hunter2@127.0.0.1:${port}/jwks?secret=s3`,
        jwksCache: { timeoutMs: 2000, allowHttp: true },
      },
    ],
  })
  const token = mint(goodClaims(), { alg: 'RS256', kid: 'k' })
  await assert.rejects(() => v.verify(token), (e) => e.code === 'jwks_unavailable')
  // Records are queued to this event loop: let them arrive.
  await new Promise((resolve) => setTimeout(resolve, 50))
  return token
}

test('a JWKS fetch failure reaches the logger function', async (t) => {
  const records = []
  setLogger((r) => records.push(r), { level: 'debug' })
  t.after(() => setLogger(null))
  const token = await failFetch()
  const failed = records.find((r) => r.message.startsWith('key fetch failed'))
  assert.ok(failed, JSON.stringify(records))
  assert.equal(failed.level, 'warn')
  assert.equal(failed.fields.issuer, ISSUER)
  assert.match(failed.fields.error, /cannot be reached/)
  assert.match(failed.target, /^veritoken::/)
  assert.ok(failed.line.startsWith('key fetch failed; keeping the last good keys issuer='))
  assert.ok(records.some((r) => r.level === 'debug' && r.message === 'fetching keys'))
  for (const r of records) {
    for (const secret of [token, 'hunter2', 's3']) assert.ok(!r.line.includes(secret), r.line)
  }
})

test('an object logger gets the line at its level; the level filters', async (t) => {
  const seen = { warn: [], info: [], debug: [] }
  const logger = { warn: (l) => seen.warn.push(l), info: (l) => seen.info.push(l), debug: (l) => seen.debug.push(l) }
  setLogger(logger, { level: 'warn' })
  t.after(() => setLogger(null))
  await failFetch()
  assert.ok(seen.warn.some((l) => l.includes('key fetch failed')))
  assert.deepEqual(seen.debug, [])
})

test('a throwing logger is contained; bad arguments are TypeErrors', async (t) => {
  setLogger(() => {
    throw new Error('logger broke')
  })
  t.after(() => setLogger(null))
  await failFetch()
  assert.throws(() => setLogger(console, { level: 'loud' }), TypeError)
  assert.throws(() => setLogger(42), TypeError)
  assert.deepEqual(LOG_LEVELS, ['error', 'warn', 'info', 'debug', 'trace'])
})
