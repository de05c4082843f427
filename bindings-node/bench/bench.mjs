// veritoken for Node next to jose, fast-jwt (cache off and on) and jsonwebtoken, on the
// same tokens and keys, with equivalent checks (algorithm allow-list, issuer, audience,
// required exp). Run by `make bench` with a release build; prints the DESIGN §6 budgets.
import crypto from 'node:crypto'
import { SignJWT, jwtVerify, importSPKI } from 'jose'
import { createVerifier } from 'fast-jwt'
import jsonwebtoken from 'jsonwebtoken'
import { Verifier } from 'veritoken'

const ISS = 'https://issuer.bench'
const AUD = 'api'
const SECRET = 'bench-secret-bench-secret-bench-secret-64-bytes-long-enough-yes'
const BUDGET = { RS256: 1.4, HS256: 4 }

async function fixture(alg) {
  let privateKey, publicPem, keySource
  if (alg === 'HS256') {
    privateKey = new TextEncoder().encode(SECRET)
    keySource = { secret: { value: SECRET, alg } }
  } else {
    const pair =
      alg === 'RS256'
        ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
        : alg === 'ES256'
          ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : crypto.generateKeyPairSync('ed25519')
    privateKey = pair.privateKey
    publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' })
    keySource = { pem: { key: publicPem, alg } }
  }
  const now = Math.floor(Date.now() / 1000)
  const token = await new SignJWT({ sub: 'bench-user', scope: 'read write', jti: '8b3c8a1e-2f' })
    .setProtectedHeader({ alg })
    .setIssuer(ISS)
    .setAudience(AUD)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(privateKey)
  const verifyKey = alg === 'HS256' ? SECRET : publicPem
  const joseKey = alg === 'HS256' ? new TextEncoder().encode(SECRET) : await importSPKI(publicPem, alg)
  const ours = new Verifier({ issuers: [{ issuer: ISS, audiences: [AUD], algorithms: [alg], keys: [keySource] }] })
  const fast = (cache) =>
    createVerifier({ key: verifyKey, algorithms: [alg], allowedIss: ISS, allowedAud: AUD, requiredClaims: ['exp'], cache })
  return { token, verifyKey, joseKey, ours, fastOff: fast(false), fastOn: fast(true) }
}

/** Mean µs per call over ~1 s of calls, best of 3 runs. */
async function perCall(fn, isAsync) {
  const run = async (n) => {
    const start = process.hrtime.bigint()
    if (isAsync) for (let i = 0; i < n; i++) await fn()
    else for (let i = 0; i < n; i++) fn()
    return Number(process.hrtime.bigint() - start) / 1e3 / n
  }
  let n = 100
  while ((await run(n)) * n < 100_000) n *= 2
  n *= 10
  let best = Infinity
  for (let i = 0; i < 3; i++) best = Math.min(best, await run(n))
  return best
}

const rows = []
for (const alg of ['RS256', 'ES256', 'EdDSA', 'HS256']) {
  const f = await fixture(alg)
  const libs = {
    'veritoken (sync)': [() => f.ours.verifySync(f.token).claims, false],
    'veritoken (async)': [async () => (await f.ours.verify(f.token)).claims, true],
    jose: [async () => (await jwtVerify(f.token, f.joseKey, { issuer: ISS, audience: AUD, algorithms: [alg], requiredClaims: ['exp'] })).payload, true],
    'fast-jwt (no cache)': [() => f.fastOff(f.token), false],
    'fast-jwt (cache)': [() => f.fastOn(f.token), false],
  }
  if (alg !== 'EdDSA') libs.jsonwebtoken = [() => jsonwebtoken.verify(f.token, f.verifyKey, { algorithms: [alg], issuer: ISS, audience: AUD }), false]
  const row = { alg }
  for (const [, [fn]] of Object.entries(libs)) await fn() // each must accept the token
  // Three interleaved rounds, best of each: one noisy moment cannot decide a ratio.
  for (let round = 0; round < 3; round++) {
    for (const [name, [fn, isAsync]] of Object.entries(libs)) {
      row[name] = Math.min(row[name] ?? Infinity, await perCall(fn, isAsync))
    }
  }
  rows.push(row)
}

const names = ['veritoken (sync)', 'veritoken (async)', 'jose', 'fast-jwt (no cache)', 'fast-jwt (cache)', 'jsonwebtoken']
console.log(['alg', ...names].map((n, i) => (i ? n.padStart(20) : n.padEnd(6))).join(''), ' (µs per verify)')
for (const r of rows) console.log([r.alg.padEnd(6), ...names.map((n) => (r[n] === undefined ? '-' : r[n].toFixed(2)).padStart(20))].join(''))
console.log('\nspeed-up of veritoken (sync) over fast-jwt without cache:')
for (const r of rows) {
  const ratio = r['fast-jwt (no cache)'] / r['veritoken (sync)']
  const budget = BUDGET[r.alg]
  console.log(`${r.alg.padEnd(6)} ${ratio.toFixed(2)}×${budget ? ` (budget ≥ ${budget}×: ${ratio >= budget ? 'ok' : 'MISSED'})` : ''}`)
}
