'use strict'
// Every shared conformance case gives the same verdict, code and claim as Rust.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Requirement, Verifier, VeritokenError } = require('..')
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
