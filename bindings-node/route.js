'use strict'
// What the Express and Fastify middlewares share: a route's roles and claim rules as one
// engine Requirement, built when the route is set up (a bad one throws config_invalid there).
const { Requirement } = require('./index.js')

/** options: { roles, roleMatch, rules, requirement } -> a Requirement, or null. */
function routeRequirement(options = {}) {
  if (options.requirement) return options.requirement
  const spec = {}
  if (options.roles) {
    spec.roles = typeof options.roles === 'string' ? [options.roles] : [...options.roles]
    spec.roleMatch = options.roleMatch ?? 'all'
  }
  if (options.rules) spec.rules = [...options.rules]
  return Object.keys(spec).length ? new Requirement(spec) : null
}

module.exports = { routeRequirement }
