'use strict'
// Every shared conformance case gives the same verdict, code and claim as Rust.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Requirement, Verifier, VerifiedToken, VeritokenError, ERROR_CODES, errorResponse } = require('..')
const { ROOT } = require('./helpers')

const dir = path.join(ROOT, 'tests', 'vectors')
const cases = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).cases)

function run(c) {
  const verifier = new Verifier(c.config) // snake_case keys pass through unchanged
  const requirement = c.require ? new Requirement(c.require) : null
  const token = c.token !== undefined
    ? verifier.verifySync(c.token, { now: c.now })
    : verifier.verifyRequest(c.request.headers, c.request.query ?? null, {
        method: c.request.method, url: c.request.url, now: c.now, optional: c.optional === true,
      })
  return token.then ? token.then((t) => scoped(t, c, requirement)) : scoped(token, c, requirement)
}

function scoped(token, c, requirement) {
  if (token === null) return null // anonymous, on an optional route
  if (c.require_scopes) token.requireScopes(c.require_scopes.scopes, { match: c.require_scopes.match ?? 'all' })
  if (requirement) token.check(requirement)
  return token
}

test('there are enough cases', () => assert.ok(cases.length >= 150, `${cases.length} cases`))

test('every shared vector', async () => {
  const failures = []
  for (const c of cases) {
    try {
      const token = await run(c)
      if (!c.expect.valid) failures.push(`${c.name}: accepted, want ${c.expect.error}`)
      else if (c.expect.anonymous) assert.equal(token, null, c.name)
      else assert.deepStrictEqual(token?.claims, c.expect.claims, c.name)
    } catch (e) {
      if (!(e instanceof VeritokenError)) failures.push(`${c.name}: ${e.stack}`)
      else if (c.expect.valid) failures.push(`${c.name}: rejected ${e.code}: ${e.message}`)
      else if (e.code !== c.expect.error) failures.push(`${c.name}: ${e.code}, want ${c.expect.error}`)
      else if (c.expect.claim && e.claim !== c.expect.claim) failures.push(`${c.name}: claim ${e.claim}, want ${c.expect.claim}`)
      else if (!e.message) failures.push(`${c.name}: empty message`)
    }
  }
  assert.deepStrictEqual(failures, [])
})

/** A top-level list of a vector file other than `cases`: missing or empty fails the test. */
function section(file, name) {
  const list = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))[name]
  assert.ok(Array.isArray(list) && list.length > 0, `${file} has no ${name} entries`)
  return list
}

/** Every accessor of a token, in the shape of accessors.json's `expect`. */
function accessorsOf(token) {
  const seconds = (d) => (d === undefined ? null : d.getTime() / 1000)
  const got = {
    issuer: token.issuer,
    subject: token.subject ?? null,
    jwt_id: token.jwtId ?? null,
    audiences: token.audiences,
    expires_at: seconds(token.expiresAt),
    not_before: seconds(token.notBefore),
    issued_at: seconds(token.issuedAt),
    dpop_jkt: token.dpopJkt ?? null,
    scopes: null,
    scopes_error: null,
  }
  try {
    got.scopes = token.grantedScopes()
  } catch (e) {
    if (!(e instanceof VeritokenError)) throw e
    got.scopes_error = e.code
  }
  return got
}

test('every shared accessor case (accessors.json)', () => {
  let signed = 0
  const accessors = section('accessors.json', 'accessors')
  for (const c of accessors) {
    // A token on the claims text alone, as the addon's answer gives it (header U+0001 claims).
    assert.deepStrictEqual(accessorsOf(new VerifiedToken(`{}\u0001${c.claims_json}`)), c.expect, c.name)
    if (c.token === undefined) continue
    signed++
    const token = new Verifier(c.config).verifySync(c.token, { now: c.now })
    assert.deepStrictEqual(accessorsOf(token), c.expect, `${c.name} (verified)`)
  }
  assert.ok(signed > 0, 'no accessor case has a token')
})

test("the error codes are the engine's (error_codes.json), with their statuses and type", () => {
  const codes = section('error_codes.json', 'error_codes')
  assert.deepStrictEqual(ERROR_CODES, codes.map((c) => c.name))
  codes.forEach((c, i) => assert.equal(c.number, i + 1, c.name))
  for (const c of codes) {
    const err = new VeritokenError(c.name, 'm')
    assert.equal(err.status, c.http_status ?? 500, c.name)
    assert.equal(errorResponse(err).status, c.http_status ?? 500, c.name)
    assert.equal(JSON.parse(errorResponse(err).body).error.code, c.name)
  }
  // The ErrorCode string-literal union of index.d.ts, in the engine's order.
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
  const union = dts.match(/export type ErrorCode =([^]*?)\n\n/)
  assert.ok(union, 'index.d.ts has no ErrorCode union')
  assert.deepStrictEqual([...union[1].matchAll(/'([a-z_]+)'/g)].map((m) => m[1]), ERROR_CODES)
})
