import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import type { RouteOptions, ScopeMatch, VerifiedToken, Verifier } from './index'

export interface VeritokenOptions extends RouteOptions {
  scopes?: string | Iterable<string>
  match?: ScopeMatch
  realm?: string
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: VerifiedToken | null
  }
}

/** An onRequest hook for one route (or `fastify.addHook`). */
export declare function verifyRequest(verifier: Verifier, options?: VeritokenOptions): onRequestHookHandler

/** `fastify.register(veritoken, { verifier, ... })`: verifies every request of the scope. */
declare const veritoken: FastifyPluginAsync<VeritokenOptions & { verifier: Verifier }>
export default veritoken
export { veritoken }
