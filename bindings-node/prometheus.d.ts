import type { Counter, Registry } from 'prom-client'
import type { Verifier } from './index'

/**
 * Registers one prom-client counter per engine metric family (the sidecar's names, types and
 * `client` label), read from the verifiers at scrape time.
 */
export declare function registerMetrics(
  verifiers: Verifier | Record<string, Verifier>,
  options?: { registry?: Registry; client?: string },
): Counter<'client'>[]
