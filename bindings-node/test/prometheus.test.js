'use strict'
// registerMetrics: a prom-client scrape has the sidecar's engine families (from the engine's
// table, not a copy), their type and the client label; require('..') never needs prom-client.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const { Registry } = require('prom-client')
const { Verifier, metricFamilies } = require('..')
const { registerMetrics } = require('../prometheus.js')
const { mint, goodClaims, hsConfig } = require('./helpers')

test('a scrape has the sidecar engine families, types and client labels', async () => {
  const orders = new Verifier(hsConfig())
  orders.verifySync(mint(goodClaims()))
  const registry = new Registry()
  registerMetrics({ orders, billing: new Verifier(hsConfig()) }, { registry })
  const text = await registry.metrics()
  const engine = metricFamilies().filter((f) => f.source === 'engine')
  assert.equal(engine.length, 18)
  const typed = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]])
  assert.deepEqual(
    typed.sort(),
    engine.map((f) => [f.sampleName, f.kind]).sort(),
  )
  for (const f of engine) {
    for (const client of ['orders', 'billing']) {
      assert.match(text, new RegExp(`^${f.sampleName}\\{client="${client}"\\} \\d+$`, 'm'))
    }
  }
  const json = await registry.getMetricsAsJSON()
  assert.ok(json.every((m) => m.type === 'counter'))
  // The sidecar's own per-request families are in the table too, for its /metrics.
  assert.deepEqual(
    metricFamilies().filter((f) => f.source === 'sidecar').map((f) => f.name),
    ['veritoken_requests', 'veritoken_request_duration_seconds'],
  )
})

test('require("@veritoken/node") does not load prom-client', () => {
  const root = path.join(__dirname, '..')
  const out = execFileSync(process.execPath, [
    '-e',
    `require(${JSON.stringify(root)}); console.log(Object.keys(require.cache).some((k) => k.includes('prom-client')))`,
  ])
  assert.equal(out.toString().trim(), 'false')
})
