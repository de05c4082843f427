'use strict'
// prom-client registration for verifiers' engine counters: the sidecar's family names, types
// and `client` label, from the engine's one table. prom-client is an optional peer
// dependency: only this file requires it, never `require('@veritoken/node')`.
const { Counter, register: defaultRegistry } = require('prom-client')
const { Verifier, metricFamilies } = require('./index.js')

/**
 * Registers one counter per engine family in `registry` (prom-client's default registry when
 * omitted), read from `verifiers` at scrape time: a Verifier (labelled `options.client`,
 * "default") or `{clientName: Verifier}`. Returns the counters.
 */
function registerMetrics(verifiers, options = {}) {
  const registry = options.registry ?? defaultRegistry
  const clients = verifiers instanceof Verifier ? { [options.client ?? 'default']: verifiers } : { ...verifiers }
  const engine = metricFamilies().filter((f) => f.source === 'engine')
  // One read of every verifier per scrape, shared by the families' collect() calls.
  let reading = null
  const read = () => {
    if (reading === null) {
      reading = Object.entries(clients).map(([client, v]) => [client, v.metricValues()])
      queueMicrotask(() => {
        reading = null
      })
    }
    return reading
  }
  return engine.map(
    (family, i) =>
      new Counter({
        name: family.sampleName,
        help: family.help,
        labelNames: ['client'],
        registers: [registry],
        collect() {
          this.reset()
          for (const [client, values] of read()) this.inc({ client }, values[i])
        },
      }),
  )
}

module.exports = { registerMetrics }
