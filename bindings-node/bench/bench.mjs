// veritoken for Node next to jose, fast-jwt (cache off and on) and jsonwebtoken, on the
// same tokens and keys, with equivalent checks (algorithm allow-list, issuer, audience,
// required exp); veritoken's verified-token cache next to fast-jwt's; then veritoken's
// throughput on 1 vs 2 worker_threads. Run by `make bench` with a release build; prints the
// docs/design.md §6 budgets. Times are medians of interleaved ~20 ms batches (see the rounds
// below).
import crypto from 'node:crypto'
import os from 'node:os'
import { Worker } from 'node:worker_threads'
import { SignJWT, jwtVerify, importSPKI } from 'jose'
import { createVerifier } from 'fast-jwt'
import jsonwebtoken from 'jsonwebtoken'
import { Verifier } from '@veritoken/node'

const ISS = 'https://issuer.bench'
/** Tokens taken in turn in the second cache row. */
const TURN = 64
const AUD = 'api'
const SECRET = 'bench-secret-bench-secret-bench-secret-64-bytes-long-enough-yes'
const BUDGET = { RS256: 1.4, HS256: 4 }
/** A verified-token cache hit, µs (RS256 and HS256; shown for every algorithm). */
const HIT_BUDGET = 1
/** Two worker_threads over one: at least this, and never below 1× for any case. */
const THREADS_BUDGET = 1.8

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
  const sign = (jti) =>
    new SignJWT({ sub: 'bench-user', scope: 'read write', jti })
      .setProtectedHeader({ alg })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey)
  const token = await sign('8b3c8a1e-2f')
  // Clients in turn: each call a hit on another token than the last.
  const tokens = await Promise.all(Array.from({ length: TURN }, (_, i) => sign(`8b3c8a1e-${i}`)))
  const verifyKey = alg === 'HS256' ? SECRET : publicPem
  const joseKey = alg === 'HS256' ? new TextEncoder().encode(SECRET) : await importSPKI(publicPem, alg)
  const config = { issuers: [{ issuer: ISS, audiences: [AUD], algorithms: [alg], keys: [keySource] }] }
  const cachedConfig = { ...config, cache: { maxEntries: 65536 } }
  const ours = new Verifier(config)
  const oursCached = new Verifier(cachedConfig)
  const fast = (cache) =>
    createVerifier({ key: verifyKey, algorithms: [alg], allowedIss: ISS, allowedAud: AUD, requiredClaims: ['exp'], cache })
  return { alg, token, tokens, verifyKey, joseKey, config, cachedConfig, ours, oursCached, fastOff: fast(false), fastOn: fast(true) }
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
const fixtures = []
let turn = 0
for (const alg of ['RS256', 'ES256', 'EdDSA', 'HS256']) {
  const f = await fixture(alg)
  fixtures.push(f)
  const libs = {
    // The two sides of the budget ratio run back to back in each round.
    'veritoken (sync)': [() => f.ours.verifySync(f.token).claims, false],
    'fast-jwt (no cache)': [() => f.fastOff(f.token), false],
    'veritoken (async)': [async () => (await f.ours.verify(f.token)).claims, true],
    jose: [async () => (await jwtVerify(f.token, f.joseKey, { issuer: ISS, audience: AUD, algorithms: [alg], requiredClaims: ['exp'] })).payload, true],
    // The two caches back to back: the same token again and again, every call a hit.
    'veritoken (cache hit)': [() => f.oursCached.verifySync(f.token).claims, false],
    'fast-jwt (cache)': [() => f.fastOn(f.token), false],
    // The same, over TURN tokens in turn (what a hit costs when the last one was another's).
    'veritoken (hit, in turn)': [() => f.oursCached.verifySync(f.tokens[turn++ % TURN]).claims, false],
    'fast-jwt (cache, in turn)': [() => f.fastOn(f.tokens[turn++ % TURN]), false],
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
  const m = f.oursCached.metrics()
  if (m.token_cache_hits < ROUNDS) throw new Error(`${alg}: the cached verifier did not hit: ${JSON.stringify(m)}`)
  // Each slot holds one token: two of the TURN tokens may share one and replace each other.
  row.turnMisses = m.token_cache_misses - 1 - TURN
  rows.push(row)
}

const names = ['veritoken (sync)', 'veritoken (async)', 'jose', 'fast-jwt (no cache)', 'jsonwebtoken']
console.log(['alg', ...names].map((n, i) => (i ? n.padStart(20) : n.padEnd(6))).join(''), ' (µs per verify, median)')
for (const r of rows) console.log([r.alg.padEnd(6), ...names.map((n) => (r[n] === undefined ? '-' : r[n].toFixed(2)).padStart(20))].join(''))
console.log(`\nverified-token cache (µs per verify, median of ${ROUNDS} rounds, same run): the same token again, and ${TURN} tokens in turn:`)
console.log(`${'alg'.padEnd(6)}${'veritoken (cache hit)'.padStart(22)}${'fast-jwt (cache)'.padStart(18)}  ${'budget'.padEnd(16)}${'veritoken, in turn'.padStart(20)}${'fast-jwt, in turn'.padStart(19)}`)
for (const r of rows) {
  const hit = r['veritoken (cache hit)']
  const budget = r.alg === 'RS256' || r.alg === 'HS256' ? `≤ ${HIT_BUDGET} µs: ${hit <= HIT_BUDGET ? 'ok' : 'OVER'}` : '-'
  const turns = `${r['veritoken (hit, in turn)'].toFixed(2).padStart(20)}${r['fast-jwt (cache, in turn)'].toFixed(2).padStart(19)}`
  const misses = r.turnMisses ? ` (${r.turnMisses} misses: tokens sharing a slot)` : ''
  console.log(`${r.alg.padEnd(6)}${hit.toFixed(2).padStart(22)}${r['fast-jwt (cache)'].toFixed(2).padStart(18)}  ${budget.padEnd(16)}${turns}${misses}`)
}
console.log(`\nspeed-up of veritoken (sync) over fast-jwt without cache (median of ${ROUNDS} rounds; middle half of the rounds):`)
for (const r of rows) {
  const ratios = r.samples['fast-jwt (no cache)'].map((fast, i) => fast / r.samples['veritoken (sync)'][i]).sort((x, y) => x - y)
  const ratio = median(ratios)
  const spread = `${ratios[Math.floor(ratios.length / 4)].toFixed(2)}–${ratios[Math.floor((ratios.length * 3) / 4)].toFixed(2)}`
  const budget = BUDGET[r.alg]
  console.log(`${r.alg.padEnd(6)} ${ratio.toFixed(2)}× (${spread})${budget ? ` (budget ≥ ${budget}×: ${ratio >= budget ? 'ok' : 'MISSED'})` : ''}`)
}

// 1 vs 2 worker_threads: each worker has its own Verifier (same config, same token) and
// calls verifySync in a loop; all start together. Rounds alternate 1 and 2 workers; the
// ratio is taken within a round and the median over rounds is reported.
const THREAD_MS = Number(process.env.BENCH_THREAD_MS ?? 1000)
const THREAD_ROUNDS = Number(process.env.BENCH_THREAD_ROUNDS ?? 3)

/** Verifications per second of `n` workers, summed. */
async function throughput(config, token, n) {
  const flag = new SharedArrayBuffer(4)
  const workers = []
  const ready = []
  const done = []
  for (let i = 0; i < n; i++) {
    const w = new Worker(new URL('./threads-worker.mjs', import.meta.url), { workerData: { config, token, ms: THREAD_MS, flag } })
    workers.push(w)
    ready.push(new Promise((resolve, reject) => w.once('message', resolve).once('error', reject)))
  }
  await Promise.all(ready)
  for (const w of workers) done.push(new Promise((resolve, reject) => w.once('message', resolve).once('error', reject)))
  const start = new Int32Array(flag)
  Atomics.store(start, 0, 1)
  Atomics.notify(start, 0)
  const results = await Promise.all(done)
  await Promise.all(workers.map((w) => w.terminate()))
  for (const r of results) {
    if (r.metrics.token_cache_misses > 1) throw new Error(`cache missed ${r.metrics.token_cache_misses} times`)
  }
  return results.reduce((sum, r) => sum + (r.calls * 1e9) / r.ns, 0)
}

const cases = []
for (const f of fixtures) {
  cases.push([f.alg, f.config, f.token])
  if (f.alg === 'RS256' || f.alg === 'HS256') cases.push([`${f.alg} hit`, f.cachedConfig, f.token])
}
console.log(`\nveritoken on 1 vs 2 worker_threads (verifySync; ${THREAD_ROUNDS} rounds of ${THREAD_MS} ms each; ${os.availableParallelism()} cores):`)
console.log(`${'case'.padEnd(10)}${'1 worker /s'.padStart(14)}${'2 workers /s'.padStart(14)}  2 vs 1 (median; range)  budget`)
for (const [name, config, token] of cases) {
  const one = []
  const two = []
  for (let round = 0; round < THREAD_ROUNDS; round++) {
    one.push(await throughput(config, token, 1))
    two.push(await throughput(config, token, 2))
  }
  const ratios = two.map((t, i) => t / one[i]).sort((x, y) => x - y)
  const ratio = median(ratios)
  const verdict = ratio >= THREADS_BUDGET ? 'ok' : ratios[0] >= 1 ? 'MISSED' : 'MISSED (a round below 1×)'
  console.log(
    `${name.padEnd(10)}${median(one).toFixed(0).padStart(14)}${median(two).toFixed(0).padStart(14)}  ` +
      `${ratio.toFixed(2)}× (${ratios[0].toFixed(2)}–${ratios.at(-1).toFixed(2)})`.padEnd(24) +
      `≥ ${THREADS_BUDGET}×: ${verdict}`,
  )
}
