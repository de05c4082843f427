// veritoken for Node next to jose, fast-jwt (cache off and on) and jsonwebtoken, on the
// same tokens and keys, with equivalent checks (algorithm allow-list, issuer, audience,
// required exp). Run by `make bench` with a release build; prints the docs/design.md §6 budgets.
// Times are medians of interleaved ~20 ms batches (see the rounds below).
import crypto from 'node:crypto'
import { SignJWT, jwtVerify, importSPKI } from 'jose'
import { createVerifier } from 'fast-jwt'
import jsonwebtoken from 'jsonwebtoken'
import { Verifier } from '@veritoken/node'

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

/** Mean µs per call of `n` calls. */
async function batch(fn, isAsync, n) {
  const start = process.hrtime.bigint()
  if (isAsync) for (let i = 0; i < n; i++) await fn()
  else for (let i = 0; i < n; i++) fn()
  return Number(process.hrtime.bigint() - start) / 1e3 / n
}

/** Calls per batch so that one batch takes about 20 ms. */
async function calibrate(fn, isAsync) {
  let n = 8
  while ((await batch(fn, isAsync, n)) * n < 20_000) n *= 2
  return n
}

const ROUNDS = 50
const median = (values) => {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const rows = []
for (const alg of ['RS256', 'ES256', 'EdDSA', 'HS256']) {
  const f = await fixture(alg)
  const libs = {
    // The two sides of the budget ratio run back to back in each round.
    'veritoken (sync)': [() => f.ours.verifySync(f.token).claims, false],
    'fast-jwt (no cache)': [() => f.fastOff(f.token), false],
    'veritoken (async)': [async () => (await f.ours.verify(f.token)).claims, true],
    jose: [async () => (await jwtVerify(f.token, f.joseKey, { issuer: ISS, audience: AUD, algorithms: [alg], requiredClaims: ['exp'] })).payload, true],
    'fast-jwt (cache)': [() => f.fastOn(f.token), false],
  }
  if (alg !== 'EdDSA') libs.jsonwebtoken = [() => jsonwebtoken.verify(f.token, f.verifyKey, { algorithms: [alg], issuer: ISS, audience: AUD }), false]
  const row = { alg, samples: {} }
  const batchSize = {}
  for (const [name, [fn, isAsync]] of Object.entries(libs)) {
    await fn() // each must accept the token
    batchSize[name] = await calibrate(fn, isAsync)
    row.samples[name] = []
  }
  // Rounds of one ~20 ms batch of each library in turn, so that every library sees the same
  // machine: a ratio is taken within a round, and the medians over rounds are reported. A
  // slow phase of a shared machine then moves both sides of a ratio, not one.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, [fn, isAsync]] of Object.entries(libs)) {
      row.samples[name].push(await batch(fn, isAsync, batchSize[name]))
    }
  }
  for (const [name, samples] of Object.entries(row.samples)) row[name] = median(samples)
  rows.push(row)
}

const names = ['veritoken (sync)', 'veritoken (async)', 'jose', 'fast-jwt (no cache)', 'fast-jwt (cache)', 'jsonwebtoken']
console.log(['alg', ...names].map((n, i) => (i ? n.padStart(20) : n.padEnd(6))).join(''), ' (µs per verify, median)')
for (const r of rows) console.log([r.alg.padEnd(6), ...names.map((n) => (r[n] === undefined ? '-' : r[n].toFixed(2)).padStart(20))].join(''))
console.log(`\nspeed-up of veritoken (sync) over fast-jwt without cache (median of ${ROUNDS} rounds; middle half of the rounds):`)
for (const r of rows) {
  const ratios = r.samples['fast-jwt (no cache)'].map((fast, i) => fast / r.samples['veritoken (sync)'][i]).sort((x, y) => x - y)
  const ratio = median(ratios)
  const spread = `${ratios[Math.floor(ratios.length / 4)].toFixed(2)}–${ratios[Math.floor((ratios.length * 3) / 4)].toFixed(2)}`
  const budget = BUDGET[r.alg]
  console.log(`${r.alg.padEnd(6)} ${ratio.toFixed(2)}× (${spread})${budget ? ` (budget ≥ ${budget}×: ${ratio >= budget ? 'ok' : 'MISSED'})` : ''}`)
}
