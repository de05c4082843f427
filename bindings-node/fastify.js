'use strict'
// Fastify: an onRequest hook (per route or global) and a plugin registering it for every
// route. The verified token is `request.auth`; refusals are answered like every veritoken
// middleware (401/403/503, RFC 6750 challenge, JSON body).
const { VeritokenError } = require('./index.js')
const { routeRequirement } = require('./route.js')

/**
 * An onRequest hook. options: { scopes, match: 'all' | 'any', realm, roles, roleMatch, rules,
 * requirement, optional }. optional: a request without a token goes on with `request.auth` null.
 * `requirement` replaces roles, roleMatch and rules: given with any of them it throws a TypeError.
 */
function verifyRequest(verifier, options = {}) {
  const { scopes, realm, optional } = options
  const requirement = routeRequirement(options)
  return async function veritokenHook(request, reply) {
    try {
      const i = request.url.indexOf('?')
      // rawHeaders: every header line as sent (headers keeps only the first Authorization).
      const headers = Array.isArray(request.raw?.rawHeaders) ? request.raw.rawHeaders : request.headers
      request.auth = await verifier.verifyRequest(headers, i < 0 ? null : request.url.slice(i + 1), {
        scopes,
        match: options.match,
        requirement,
        optional,
        method: request.method,
        // The URL the client called (behind a proxy, set Fastify's trustProxy).
        url: `${request.protocol}://${request.host}${request.url}`,
      })
    } catch (e) {
      if (!(e instanceof VeritokenError)) throw e
      const r = verifier.errorResponse(e, realm)
      return reply.code(r.status).headers(r.headers).send(r.body)
    }
  }
}

/** `fastify.register(veritoken, { verifier, scopes, match, realm })`: every route of the scope. */
async function veritoken(fastify, options) {
  if (!options || !options.verifier) throw new TypeError('veritoken plugin: options.verifier is required')
  if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null)
  fastify.addHook('onRequest', verifyRequest(options.verifier, options))
}
veritoken[Symbol.for('skip-override')] = true
veritoken[Symbol.for('fastify.display-name')] = 'veritoken'

module.exports = veritoken
module.exports.default = veritoken
module.exports.veritoken = veritoken
module.exports.verifyRequest = verifyRequest
