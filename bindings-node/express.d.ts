import type { RequestHandler } from 'express'
import type { RouteOptions, ScopeMatch, VerifiedToken, Verifier } from './index'

export interface RequireTokenOptions extends RouteOptions {
  scopes?: string | Iterable<string>
  match?: ScopeMatch
  realm?: string
}

/** Verifies the request's token and puts it on `req.auth`; refusals get 401/403/503. */
export declare function requireToken(verifier: Verifier, options?: RequireTokenOptions): RequestHandler

declare global {
  namespace Express {
    interface Request {
      auth?: VerifiedToken | null
    }
  }
}
