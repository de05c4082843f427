'use strict'
// What the Express and Fastify middlewares share: a route's roles and claim rules as one
// engine Requirement, built when the route is set up (a bad one throws config_invalid there).
const { Requirement } = require('./index.js')

/** Route options a `requirement` replaces (it holds its own roles and rules). */
const REPLACED = ['roles', 'roleMatch', 'rules']

/**
 * options: { roles, roleMatch, rules, requirement } -> a Requirement, or null. `requirement`
 * with any of the others throws a TypeError: they would not be checked.
 */
function routeRequirement(options = {}) {
  if (options.requirement) {
    const given = REPLACED.filter((key) => options[key] !== undefined && options[key] !== null)
    if (given.length) {
      throw new TypeError(`requirement cannot be combined with ${given.join(', ')}: put them in the Requirement`)
    }
    return options.requirement
  }
  const spec = {}
  if (options.roles) {
    spec.roles = typeof options.roles === 'string' ? [options.roles] : [...options.roles]
    spec.roleMatch = options.roleMatch ?? 'all'
  }
  if (options.rules) spec.rules = [...options.rules]
  return Object.keys(spec).length ? new Requirement(spec) : null
}

module.exports = { routeRequirement }
