'use strict'
// Express and Fastify over real HTTP: the same refusals as every veritoken middleware.
const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const path = require('node:path')
const express = require('express')
const Fastify = require('fastify')
const { Verifier, Requirement } = require('..')
const { requireToken } = require('../express')
const veritoken = require('../fastify')
const { verifyRequest } = require('../fastify')
const { mint, goodClaims, hsConfig, dpopClient } = require('./helpers')

const GOOD = `Bearer ${mint(goodClaims())}`
const EXPIRED = `Bearer ${mint(goodClaims({ exp: 1 }))}`
// Every app accepts bearer tokens and DPoP-bound tokens with their proofs.
const CONFIG = hsConfig({ dpop: { mode: 'allowed' } })
const BOTH = 'Bearer realm="orders", DPoP realm="orders", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA ESP256 ESP384 ESP512 Ed25519"'
const CLIENT = dpopClient()

async function get(base, path, authorization, extra = {}) {
  const r = await fetch(base + path, { headers: { ...(authorization ? { authorization } : {}), ...extra } })
  const text = await r.text()
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null }
}

/** DPoP through the middleware: it passes the method and the URL the client called. */
async function checkDpop(base) {
  const token = mint(goodClaims({ cnf: { jkt: CLIENT.jkt } }))
  const url = `${base}/orders`
  const proof = CLIENT.proof('GET', url, token)
  let r = await get(base, '/orders', `DPoP ${token}`, { dpop: proof })
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.deepEqual(r.body, { sub: 'alice' })
  r = await get(base, '/orders', `DPoP ${token}`, { dpop: proof })
  assert.equal(r.status, 401)
  assert.deepEqual([r.body.error.code, r.body.error.claim], ['dpop_invalid', 'jti'])
  assert.match(r.headers.get('www-authenticate'), /^DPoP realm="orders", error="invalid_dpop_proof"/)
  r = await get(base, '/orders', `DPoP ${token}`, { dpop: CLIENT.proof('GET', `${url}x`, token) })
  assert.equal(r.body.error.claim, 'htu')
  r = await get(base, '/orders', `DPoP ${token}`, { dpop: CLIENT.proof('POST', url, token) })
  assert.equal(r.body.error.claim, 'htm')
  r = await get(base, '/orders', `Bearer ${token}`)
  assert.deepEqual([r.status, r.body.error.claim], [401, 'cnf'])
}

/** The refusals every framework must give identically. */
async function checkRefusals(base) {
  let r = await get(base, '/orders')
  assert.equal(r.status, 401)
  assert.equal(r.body.error.code, 'token_missing')
  assert.equal(r.headers.get('www-authenticate'), BOTH)
  assert.equal(r.headers.get('content-type').split(';')[0], 'application/json')
  assert.equal(r.headers.get('cache-control'), 'no-store')
  r = await get(base, '/orders', EXPIRED)
  assert.equal(r.status, 401)
  assert.deepEqual(Object.keys(r.body.error), ['code', 'message', 'claim'])
  assert.equal(r.body.error.code, 'token_expired')
  assert.equal(r.body.error.claim, 'exp')
  assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/)
  r = await get(base, '/orders', 'Bearer x.y')
  assert.equal(r.status, 401)
  assert.equal(r.body.error.code, 'token_malformed')
  r = await get(base, '/admin', GOOD)
  assert.equal(r.status, 403)
  assert.equal(r.body.error.code, 'scope_insufficient')
  assert.match(r.headers.get('www-authenticate'), /error="insufficient_scope"/)
  r = await get(base, '/orders', GOOD)
  assert.equal(r.status, 200)
  assert.deepEqual(r.body, { sub: 'alice' })
}

test('express middleware', async (t) => {
  const v = new Verifier(CONFIG)
  const app = express()
  app.get('/orders', requireToken(v, { scopes: ['read'], realm: 'orders' }), (req, res) => res.json({ sub: req.auth.subject }))
  app.get('/admin', requireToken(v, { scopes: 'admin', realm: 'orders' }), (req, res) => res.json({}))
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  t.after(() => server.close())
  await checkRefusals(`http://127.0.0.1:${server.address().port}`)
  await checkDpop(`http://127.0.0.1:${server.address().port}`)
})

test('fastify plugin and route hook', async (t) => {
  const v = new Verifier(CONFIG)
  const app = Fastify()
  app.register(async (scoped) => {
    scoped.register(veritoken, { verifier: v, scopes: ['read'], realm: 'orders' })
    scoped.get('/orders', async (request) => ({ sub: request.auth.subject }))
  })
  app.get('/admin', { onRequest: verifyRequest(v, { scopes: ['admin', 'delete'], match: 'any', realm: 'orders' }) }, async () => ({}))
  app.get('/public', async () => ({ open: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => app.close())
  const base = `http://127.0.0.1:${app.server.address().port}`
  await checkRefusals(base)
  await checkDpop(base)
  assert.equal((await get(base, '/public')).status, 200) // outside the plugin's scope
})

const ROLES = `Bearer ${mint(goodClaims({ scope: [{ rn: 'orders', role: 'admin' }, 'read'], tenant: 't-1' }))}`
const TENANT2 = { rules: [{ claim: 'tenant', equals: 't-2' }] }
const ADMIN = { roles: 'orders:admin', rules: [{ claim: 'tenant', equals: 't-1' }] }

/** Roles, claim rules and optional authentication, identical in every framework. */
async function checkRolesRulesOptional(base) {
  let r = await get(base, '/admin', ROLES)
  assert.deepEqual([r.status, r.body], [200, { sub: 'alice' }])
  r = await get(base, '/admin', GOOD)
  assert.deepEqual([r.status, r.body.error.code], [403, 'scope_insufficient'])
  r = await get(base, '/tenant2', ROLES)
  assert.deepEqual([r.status, r.body.error.code, r.body.error.claim], [403, 'scope_insufficient', 'tenant'])
  r = await get(base, '/maybe')
  assert.deepEqual([r.status, r.body], [200, { sub: null }])
  r = await get(base, '/maybe', GOOD)
  assert.deepEqual([r.status, r.body], [200, { sub: 'alice' }])
  r = await get(base, '/maybe', EXPIRED)
  assert.deepEqual([r.status, r.body.error.code], [401, 'token_expired'])
}

test('express and fastify: roles, claim rules, optional auth', async (t) => {
  const v = new Verifier(CONFIG)
  const who = (auth) => ({ sub: auth ? auth.subject : null })
  const app = express()
  app.get('/admin', requireToken(v, ADMIN), (req, res) => res.json(who(req.auth)))
  app.get('/tenant2', requireToken(v, TENANT2), (req, res) => res.json(who(req.auth)))
  app.get('/maybe', requireToken(v, { optional: true }), (req, res) => res.json(who(req.auth)))
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  t.after(() => server.close())
  await checkRolesRulesOptional(`http://127.0.0.1:${server.address().port}`)

  const f = Fastify()
  f.decorateRequest('auth', null)
  f.get('/admin', { onRequest: verifyRequest(v, ADMIN) }, async (request) => who(request.auth))
  f.get('/tenant2', { onRequest: verifyRequest(v, TENANT2) }, async (request) => who(request.auth))
  f.get('/maybe', { onRequest: verifyRequest(v, { optional: true }) }, async (request) => who(request.auth))
  await f.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => f.close())
  await checkRolesRulesOptional(`http://127.0.0.1:${f.server.address().port}`)

  assert.throws(() => requireToken(v, { roles: ['admin'] }), (e) => e.code === 'config_invalid' && /roles\[0\]/.test(e.message))
})

/** A GET whose headers are sent as given: an array value is sent as that many header lines (fetch would join them). */
function rawGet(base, path, headers) {
  return new Promise((resolve, reject) => {
    http
      .get(base + path, { headers }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null }))
      })
      .on('error', reject)
  })
}

/** The engine sees every header the client sent, and a panic is answered like any refusal. */
async function checkRepeatedAndPanic(base) {
  const native = require(path.join(__dirname, '..', 'veritoken.node'))
  // Node keeps only the first Authorization in req.headers; the engine refuses two.
  for (const authorization of [[GOOD, 'Bearer garbage'], [GOOD, GOOD], ['Bearer garbage', GOOD]]) {
    const r = await rawGet(base, '/orders', { authorization })
    assert.deepEqual([r.status, r.body.error.code], [401, 'token_malformed'], JSON.stringify(authorization))
  }
  const r = await rawGet(base, '/orders', { authorization: [GOOD] })
  assert.deepEqual([r.status, r.body], [200, { sub: 'alice' }])
  native.panicForTests(true)
  const panicked = await get(base, '/orders', GOOD)
  assert.equal(panicked.status, 500)
  assert.equal(panicked.body.error.code, 'internal')
  assert.match(panicked.body.error.message, /a panic for the tests/)
  assert.equal((await get(base, '/orders', GOOD)).status, 200)
}

test('express and fastify: a repeated Authorization header is refused, a panic is 500 internal', async (t) => {
  const v = new Verifier(CONFIG)
  const app = express()
  app.get('/orders', requireToken(v, { scopes: ['read'], realm: 'orders' }), (req, res) => res.json({ sub: req.auth.subject }))
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  t.after(() => server.close())
  await checkRepeatedAndPanic(`http://127.0.0.1:${server.address().port}`)

  const f = Fastify()
  f.register(async (scoped) => {
    scoped.register(veritoken, { verifier: v, scopes: ['read'], realm: 'orders' })
    scoped.get('/orders', async (request) => ({ sub: request.auth.subject }))
  })
  await f.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => f.close())
  await checkRepeatedAndPanic(`http://127.0.0.1:${f.server.address().port}`)
  // Fastify's inject (light-my-request) gives rawHeaders too.
  const injected = await f.inject({ method: 'GET', url: '/orders', headers: { authorization: GOOD } })
  assert.deepEqual([injected.statusCode, injected.json()], [200, { sub: 'alice' }])
})

test('express and fastify: requirement with roles, roleMatch or rules is refused, never half applied', () => {
  const v = new Verifier(CONFIG)
  const requirement = new Requirement({ scopes: ['read'] })
  for (const extra of [{ roles: 'orders:admin' }, { roles: [] }, { roleMatch: 'any' }, { rules: [{ claim: 'tenant', equals: 't-1' }] }]) {
    const options = { requirement, ...extra }
    const refused = (e) => e instanceof TypeError && /requirement/.test(e.message) && e.message.includes(Object.keys(extra)[0])
    assert.throws(() => requireToken(v, options), refused, JSON.stringify(extra))
    assert.throws(() => verifyRequest(v, options), refused, JSON.stringify(extra))
  }
  // With scopes, realm or optional it is fine: those are checked on their own.
  assert.equal(typeof requireToken(v, { requirement, scopes: ['read'], optional: true, realm: 'r' }), 'function')
  assert.equal(typeof verifyRequest(v, { requirement, scopes: ['read'], optional: true, realm: 'r' }), 'function')
})
