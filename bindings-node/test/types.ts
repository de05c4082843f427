// Compiled by `tsc --noEmit` (never run): the public types as a TypeScript user sees them.
import type { IncomingMessage } from 'node:http'
import express from 'express'
import Fastify from 'fastify'
import { Verifier, VeritokenError, setLogger, type ErrorCode, type ErrorResponseParts, type LogRecord, type VerifiedToken } from '@veritoken/node'
import { requireToken } from '@veritoken/node/express'
import veritoken, { verifyRequest } from '@veritoken/node/fastify'
import { registerMetrics } from '@veritoken/node/prometheus'
import { Registry } from 'prom-client'

const verifier = new Verifier({
  issuers: [{ issuer: 'https://idp', audiences: ['api'], algorithms: ['RS256'], discovery: true, jwksCache: { timeoutMs: 800 } }],
  tokenSources: [{ header: { name: 'authorization', scheme: 'Bearer' } }, { cookie: { name: 'session' } }],
})

export async function check(raw: string): Promise<string | undefined> {
  try {
    const token: VerifiedToken = await verifier.verify(raw, { now: 1 })
    token.requireScopes(['orders:read'], { match: 'any' })
    return token.subject
  } catch (e) {
    if (e instanceof VeritokenError) {
      const code: ErrorCode = e.code
      return `${code} ${e.claim ?? ''} ${e.status}`
    }
    throw e
  }
}

const app = express()
app.get('/orders', requireToken(verifier, { scopes: 'orders:read', realm: 'orders' }), (req, res) => {
  res.json({ sub: req.auth?.subject })
})

const server = Fastify()
server.register(veritoken, { verifier, scopes: ['orders:read'] })
server.get('/x', { onRequest: verifyRequest(verifier) }, async (request) => ({ sub: request.auth?.subject }))

// DPoP: the configuration, the verify options, the request options and the verifier's answer.
const dpopVerifier = new Verifier({
  issuers: [{ issuer: 'https://idp', audiences: ['api'], algorithms: ['ES256'], discovery: true }],
  dpop: { mode: 'required', nonce: true, maxAge: 120 },
})
async function dpop(raw: string, proof: string): Promise<string | undefined> {
  const url = 'https://api.example.com/orders'
  const token = await dpopVerifier.verify(raw, { dpopProof: proof, method: 'GET', url })
  const viaRequest = await dpopVerifier.verifyRequest({ authorization: `DPoP ${raw}`, dpop: proof }, null, { method: 'GET', url, scopes: 'orders:read' })
  try {
    return token.dpopJkt ?? viaRequest.dpopJkt
  } catch (e) {
    const answer: ErrorResponseParts = dpopVerifier.errorResponse(e as VeritokenError, 'orders')
    return answer.headers['dpop-nonce']
  }
}
void dpop

setLogger((r: LogRecord) => console.log(r.level, r.message, r.fields.issuer), { level: 'debug' })
setLogger(console, { level: 'warn' })
setLogger(null)

const counters = registerMetrics({ orders: verifier }, { registry: new Registry() })
counters[0].get()
registerMetrics(verifier, { client: 'orders' })

// Every header shape: Node's headers and rawHeaders, pairs, a Map, a fetch Headers; `now` or null.
export function shapes(req: IncomingMessage): string[] {
  const pairs: Array<[string, string]> = [['authorization', 'Bearer x']]
  void verifier.verifyRequest(req.rawHeaders, null, { now: null, scopes: null })
  void verifier.verifySync('x', { now: 1767225600 })
  return [req.headers, req.rawHeaders, pairs, new Map(pairs), new Headers(pairs)].map((h) => verifier.extractToken(h))
}
