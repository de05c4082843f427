'use strict'
// Express middleware: verifies the request's token, puts it on `req.auth`, and answers
// refusals like every veritoken middleware (401/403/503, RFC 6750 challenge, JSON body).
const { VeritokenError } = require('./index.js')
const { routeRequirement } = require('./route.js')

function queryOf(url) {
  const i = url.indexOf('?')
  return i < 0 ? null : url.slice(i + 1)
}

function send(res, verifier, err, realm) {
  const r = verifier.errorResponse(err, realm)
  res.status(r.status).set(r.headers).send(r.body)
}

/** The absolute URL the client called (behind a proxy, set Express's `trust proxy`). */
function publicUrl(req) {
  return `${req.protocol}://${req.get('host')}${req.originalUrl ?? req.url}`
}

/**
 * @param verifier a Verifier; options: { scopes, match: 'all' | 'any', realm, roles, roleMatch,
 * rules, requirement, optional }. optional: a request without a token goes on with `req.auth` null.
 * `requirement` replaces roles, roleMatch and rules: given with any of them it throws a TypeError.
 */
function requireToken(verifier, options = {}) {
  const { scopes, match, realm, optional } = options
  const requirement = routeRequirement(options)
  if (scopes !== undefined && typeof scopes !== 'string' && typeof scopes?.[Symbol.iterator] !== 'function') {
    throw new TypeError('scopes must be a string or an iterable of strings')
  }
  return function veritoken(req, res, next) {
    const options = { scopes, match, requirement, optional, method: req.method, url: publicUrl(req) }
    // rawHeaders: every header line as sent (req.headers keeps only the first Authorization).
    const headers = Array.isArray(req.rawHeaders) ? req.rawHeaders : req.headers
    verifier.verifyRequest(headers, queryOf(req.originalUrl ?? req.url), options).then(
      (token) => {
        req.auth = token
        next()
      },
      (e) => (e instanceof VeritokenError ? send(res, verifier, e, realm) : next(e)),
    )
  }
}

module.exports = { requireToken }
