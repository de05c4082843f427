// The shared vectors through the installed @veritoken/node (ESM): node vectors.mjs DIR
import fs from 'node:fs'
import path from 'node:path'
import veritoken, { Requirement, Verifier, VeritokenError, version } from '@veritoken/node'

if (veritoken.Verifier !== Verifier) throw new Error('default and named exports differ')
const dir = process.argv[2]
const cases = fs.readdirSync(dir).filter((f) => f.endsWith('.json'))
  .flatMap((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).cases)
let agree = 0
for (const c of cases) {
  try {
    const v = new Verifier(c.config)
    const need = c.require ? new Requirement(c.require) : null // a bad one: config_invalid
    const t = await (c.token !== undefined
      ? v.verify(c.token, { now: c.now })
      : v.verifyRequest(c.request.headers, c.request.query ?? null, { method: c.request.method, url: c.request.url, now: c.now, optional: c.optional === true }))
    if (t === null) { // anonymous, on an optional route
      if (c.expect.anonymous) agree++
      else console.log(`${c.name}: anonymous`)
      continue
    }
    if (c.require_scopes) t.requireScopes(c.require_scopes.scopes, { match: c.require_scopes.match ?? 'all' })
    if (need) t.check(need)
    if (c.expect.valid && JSON.stringify(t.claims) === JSON.stringify(c.expect.claims)) agree++
    else console.log(`${c.name}: accepted or claims differ`)
  } catch (e) {
    if (e instanceof VeritokenError && !c.expect.valid && e.code === c.expect.error) agree++
    else console.log(`${c.name}: ${e.code} ${e.message}`)
  }
}
console.log(`node (esm): @veritoken/node ${version}: ${agree}/${cases.length} vectors agree`)
if (agree !== cases.length || cases.length < 150) process.exit(1)
