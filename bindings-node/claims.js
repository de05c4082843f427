'use strict'
// The claims object of a verified token, built from its answer string without parsing all
// of it again (src/layout.rs explains the answer's shape and the layout array). V8's
// JSON.parse of a typical 136-byte claims text took ~0.86 µs of a ~2.15 µs HS256
// verifySync(token).claims; the engine has located every member already, so one builder
// per shape copies plain strings out of the answer, takes integers from the layout array,
// and leaves only other values (objects, arrays, escaped strings, fractions) to JSON.parse.
// The object is what JSON.parse would make of the claims text: same names, values and
// order, an own "__proto__" where the token has one (the names are computed keys).

/** Builders by shape; the last one used is checked first (tokens of one issuer share it). */
const builders = new Map()
/** Shapes come from verified tokens, so from trusted issuers, but are still bounded. */
const MAX_SHAPES = 256
let lastShape = ''
let lastBuilder = null
/** False once the runtime refuses code generation (--disallow-code-generation-from-strings). */
let canCompile = true

/** A builder `(answer, layout, parse) => claims` for `shape`, or null (then: JSON.parse). */
function builderFor(shape) {
  if (shape === lastShape) return lastBuilder
  let builder = builders.get(shape)
  if (builder === undefined) {
    if (!canCompile || builders.size >= MAX_SHAPES) return null
    builder = compile(shape)
    if (builder === undefined) return null
    builders.set(shape, builder)
  }
  lastShape = shape
  lastBuilder = builder
  return builder
}

/** One object literal for the shape's members; undefined if the shape is not understood. */
function compile(shape) {
  const fields = []
  const members = shape.split('\u0002')
  for (let i = 0; i < members.length; i++) {
    const member = members[i]
    // A plain name is printable ASCII without quotes or backslashes; JSON.stringify makes it
    // a string literal all the same, so no name can be read as code.
    const name = JSON.stringify(member.slice(1))
    const start = `L[${2 * i}]`
    const end = `L[${2 * i + 1}]`
    const value = {
      s: `t.slice(${start}, ${end})`,
      i: end,
      t: 'true',
      f: 'false',
      n: 'null',
      j: `parse(t.slice(${start}, ${end}))`,
    }[member[0]]
    if (value === undefined) return undefined
    fields.push(`[${name}]: ${value}`)
  }
  try {
    return new Function('t', 'L', 'parse', `'use strict'; return { ${fields.join(', ')} }`)
  } catch {
    canCompile = false
    return undefined
  }
}

/**
 * Builders by the shape's number, the layout's last slot: the addon gives a shape one
 * number for the life of its thread (0: none), so a known number spares slicing the shape
 * out and comparing it. A number is trusted only once this module has compiled its
 * shape's text, so another copy of this module on the same thread stays correct.
 */
const byNumber = []

/**
 * The claims of `answer` (header JSON, U+0001, claims JSON, U+0001, shape) whose layout the
 * addon just wrote to `layout`, or undefined when the answer has no shape or no builder.
 * `shapeAt` is the index of the second U+0001.
 */
function buildClaims(answer, shapeAt, layout) {
  const number = layout[layout.length - 1]
  let builder = number > 0 ? byNumber[number] : undefined
  if (builder === undefined) {
    builder = builderFor(answer.slice(shapeAt + 1))
    if (number > 0 && builder !== null) byNumber[number] = builder
  }
  return builder === null ? undefined : builder(answer, layout, JSON.parse)
}

module.exports = { buildClaims }
