// One worker of bench.mjs's 1-vs-2-worker_threads table: its own Verifier on the config it
// is given, 200 ms of warm-up (the first call a token-cache miss when the cache is on), then
// verifySync in a loop for `ms` once the main thread releases every worker at once; posts
// calls, time and the verifier's metrics.
import { parentPort, workerData } from 'node:worker_threads'
import { Verifier } from '@veritoken/node'

const { config, token, ms, flag } = workerData
const verifier = new Verifier(config)
if (verifier.verifySync(token).claims.sub !== 'bench-user') throw new Error('token refused')
// Warm up (the JIT, the addon's paths) before the measured loop: a fresh worker is cold.
const warm = process.hrtime.bigint() + 200_000_000n
while (process.hrtime.bigint() < warm) for (let i = 0; i < 64; i++) verifier.verifySync(token).claims
const start = new Int32Array(flag)
parentPort.postMessage('ready')
Atomics.wait(start, 0, 0)
const t0 = process.hrtime.bigint()
const end = t0 + BigInt(ms) * 1_000_000n
let calls = 0
let now
do {
  for (let i = 0; i < 64; i++) verifier.verifySync(token).claims
  calls += 64
  now = process.hrtime.bigint()
} while (now < end)
parentPort.postMessage({ calls, ns: Number(now - t0), metrics: verifier.metrics() })
