'use strict'
// The shared vectors through the installed @veritoken/node (CommonJS): node vectors.cjs DIR
const fs = require('node:fs')
const path = require('node:path')
const { Requirement, Verifier, VeritokenError, version } = require('@veritoken/node')

async function main(dir) {
  const cases = fs.readdirSync(dir).filter((f) => f.endsWith('.json'))
    .flatMap((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).cases)
  const failures = []
  for (const c of cases) {
    try {
      const v = new Verifier(c.config)
      const need = c.require ? new Requirement(c.require) : null // a bad one: config_invalid
      const t = await (c.token !== undefined
        ? v.verifySync(c.token, { now: c.now })
        : v.verifyRequest(c.request.headers, c.request.query ?? null, { method: c.request.method, url: c.request.url, now: c.now, optional: c.optional === true }))
      if (t === null) { // anonymous, on an optional route
        if (!c.expect.anonymous) failures.push(`${c.name}: anonymous`)
        continue
      }
      if (c.require_scopes) t.requireScopes(c.require_scopes.scopes, { match: c.require_scopes.match ?? 'all' })
      if (need) t.check(need)
      if (!c.expect.valid) failures.push(`${c.name}: accepted`)
      else if (JSON.stringify(t.claims) !== JSON.stringify(c.expect.claims)) failures.push(`${c.name}: claims differ`)
    } catch (e) {
      if (!(e instanceof VeritokenError) || c.expect.valid || e.code !== c.expect.error) failures.push(`${c.name}: ${e.code} ${e.message}`)
    }
  }
  return { cases, failures }
}
module.exports = { main }
if (require.main === module) {
  main(process.argv[2]).then(({ cases, failures }) => {
    console.log(`node (cjs): @veritoken/node ${version} from ${path.dirname(require.resolve('@veritoken/node'))}`)
    console.log(`node (cjs): ${cases.length - failures.length}/${cases.length} vectors agree`)
    if (failures.length || cases.length < 150) { console.log(failures.join('\n')); process.exit(1) }
  })
}
