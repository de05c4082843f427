'use strict'
// veritoken for Node: the public API over the native addon (veritoken.node). Every rule is
// in the Rust engine; this file converts names and types and maps errors.

const native = loadNative()
const { buildClaims } = require('./claims.js')
/** Members a claims layout holds (two numbers each); tokens with more are parsed whole. */
const LAYOUT_MEMBERS = 64

/** This process's platform as a package suffix: `linux-x64-gnu`, `linux-x64-musl`, ... */
function platformName() {
  let name = `${process.platform}-${process.arch}`
  if (process.platform === 'linux') {
    // glibcVersionRuntime is reported by a glibc build of Node only. The report's network
    // section does a reverse DNS lookup per interface (seconds to minutes without DNS):
    // left out (nodejs/node#46060).
    let header = {}
    if (typeof process.report?.getReport === 'function') {
      const excluded = process.report.excludeNetwork
      process.report.excludeNetwork = true
      try {
        header = process.report.getReport().header
      } finally {
        process.report.excludeNetwork = excluded
      }
    }
    name += header.glibcVersionRuntime ? '-gnu' : '-musl'
  }
  return name
}

/**
 * The addon: ./veritoken.node when this is a checkout that has built it (`make node`), else the
 * prebuilt one of the installed platform package (@veritoken/node-<platform>), else, in a
 * checkout, built from source with cargo (once; npm 11 asks before running install scripts).
 */
function loadNative() {
  // The platform packages published next to @veritoken/node (its optionalDependencies).
  const PLATFORMS = ['linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu']
  const path = require('node:path')
  const fs = require('node:fs')
  const local = path.join(__dirname, 'veritoken.node')
  if (fs.existsSync(local)) return require(local)
  const platform = platformName()
  if (PLATFORMS.includes(platform)) {
    try {
      return require(`@veritoken/node-${platform}`)
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e
    }
  }
  const installer = path.join(__dirname, 'scripts', 'install.js')
  if (fs.existsSync(installer) && fs.existsSync(path.join(__dirname, 'Cargo.toml'))) {
    process.stderr.write('veritoken: the native addon is not built yet; building it now with cargo (once)\n')
    require('node:child_process').execFileSync(process.execPath, [installer], { stdio: ['ignore', 'inherit', 'inherit'] })
    return require(local)
  }
  const hint = PLATFORMS.includes(platform)
    ? `its package @veritoken/node-${platform} is not installed (was it omitted, e.g. --omit=optional or --no-optional?)`
    : 'there is no prebuilt addon for it'
  throw new Error(
    `@veritoken/node: no native addon for this platform (${platform}): ${hint}. ` +
      `Prebuilt platforms: ${PLATFORMS.join(', ')}. Elsewhere, build from a checkout of the repository (make node).`,
  )
}

/** The stable error codes (docs/design.md §5), identical in every veritoken language. */
const ERROR_CODES = Object.freeze(native.errorCodes())
const STATUS = Object.fromEntries(ERROR_CODES.map((code) => [code, native.errorResponse(code, '', null, null).status]))

/** Every rejection: `err.code` (e.g. "token_expired"), `err.claim` where one is concerned, `err.status`. */
class VeritokenError extends Error {
  constructor(code, message, claim) {
    super(message)
    this.name = 'VeritokenError'
    this.code = code
    this.claim = claim ?? undefined
    this.status = STATUS[code] ?? 500
  }
}

/**
 * Turns a native failure into a VeritokenError; anything else (a TypeError) passes. The addon
 * throws the engine's errors as JSON; napi-rs's `GenericFailure` (a panic its catch_unwind
 * caught in an export, or a failure inside napi) is `internal`, as a panic caught by the
 * addon itself is (src/lib.rs). A bad argument has another napi status.
 */
function mapped(e) {
  if (!e || typeof e.message !== 'string') return e
  if (e.message.startsWith('{"')) {
    try {
      const d = JSON.parse(e.message)
      if (ERROR_CODES.includes(d.code)) return new VeritokenError(d.code, d.message, d.claim)
    } catch {}
  }
  if (e.code === 'GenericFailure') return new VeritokenError('internal', `internal error (a bug; please report it): ${e.message}`)
  return e
}

function call(fn) {
  try {
    return fn()
  } catch (e) {
    throw mapped(e)
  }
}

const snake = (key) => key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())

/** camelCase keys to the schema's snake_case; inline JWKS documents are left untouched. */
function toSchema(value) {
  if (Array.isArray(value)) return value.map(toSchema)
  if (value === null || typeof value !== 'object') return value
  const out = {}
  for (const [k, v] of Object.entries(value)) {
    out[snake(k)] = k === 'jwks' ? v : toSchema(v)
  }
  return out
}

function scopeList(scopes) {
  return typeof scopes === 'string' ? [scopes] : Array.from(scopes ?? [])
}

function isAny(options) {
  const match = options?.match ?? 'all'
  if (match !== 'all' && match !== 'any') throw new TypeError(`match must be "all" or "any", not ${JSON.stringify(match)}`)
  return match === 'any'
}

/** A NumericDate accessor (whole seconds, within a Date's range) as a Date. */
const date = (seconds) => (seconds == null ? undefined : new Date(seconds * 1000))

/** A verified token: claims and header exactly as the engine accepted them. */
class VerifiedToken {
  #text
  #split
  #end
  #claims
  #header
  #read
  /**
   * `text`: the addon's header JSON, U+0001, claims JSON, each cut out when read; maybe
   * then U+0001 and the claims' shape, whose numbers the addon just wrote to `layout`:
   * the claims are then built at once (claims.js).
   */
  constructor(text, layout) {
    this.#text = text
    const split = text.indexOf('\u0001')
    this.#split = split
    const shapeAt = layout === undefined ? -1 : text.indexOf('\u0001', split + 1)
    if (shapeAt < 0) {
      this.#end = text.length
    } else {
      this.#end = shapeAt
      this.#claims = buildClaims(text, shapeAt, layout)
    }
  }
  /** The claims as a plain object (parsed once). */
  get claims() {
    return (this.#claims ??= JSON.parse(this.claimsJson))
  }
  get header() {
    return (this.#header ??= JSON.parse(this.#text.slice(0, this.#split)))
  }
  get claimsJson() {
    return this.#text.slice(this.#split + 1, this.#end)
  }
  get algorithm() {
    return this.header.alg
  }
  get kid() {
    return this.header.kid
  }
  /** The engine's reading of the registered claims (one native call, on first use), as
   * JSON: V8 parses it faster than the addon builds the object. */
  get #accessors() {
    return (this.#read ??= JSON.parse(call(() => native.claimAccessors(this.claimsJson))))
  }
  /** `iss` ("" when absent). Every accessor gives the engine's value, as in every language. */
  get issuer() {
    return this.#accessors.issuer
  }
  get subject() {
    return this.#accessors.subject ?? undefined
  }
  get jwtId() {
    return this.#accessors.jwt_id ?? undefined
  }
  /** `aud` as a list: a string becomes one element; an array's non-string entries are left out. */
  get audiences() {
    return this.#accessors.audiences.slice()
  }
  get dpopJkt() {
    return this.#accessors.dpop_jkt ?? undefined
  }
  get expiresAt() {
    return date(this.#accessors.expires_at)
  }
  get notBefore() {
    return date(this.#accessors.not_before)
  }
  get issuedAt() {
    return date(this.#accessors.issued_at)
  }
  grantedScopes() {
    const { scopes } = this.#accessors
    // Malformed scope claims: the engine's error, thrown by its grantedScopes.
    return scopes == null ? call(() => native.grantedScopes(this.claimsJson)) : scopes.slice()
  }
  /** Throws a VeritokenError (scope_insufficient, naming a failing rule's claim) unless `requirement` is met. */
  check(requirement) {
    if (!(requirement instanceof Requirement)) requirement = new Requirement(requirement)
    requirement.check(this)
  }
  /** Throws scope_insufficient unless the role policies ("rn:role" or "rn:role@tenant") are granted. */
  requireRoles(roles, options) {
    const spec = { roles: scopeList(roles), roleMatch: isAny(options) ? 'any' : 'all' }
    if (options?.claim) spec.roleClaim = options.claim
    this.check(spec)
  }
  /** Throws a VeritokenError (scope_insufficient) unless the scopes are granted. */
  requireScopes(scopes, options) {
    const any = isAny(options)
    call(() => native.requireScopes(this.claimsJson, scopeList(scopes), any))
  }
  hasScopes(scopes, options) {
    try {
      this.requireScopes(scopes, options)
      return true
    } catch (e) {
      // A failure inside the addon (`internal`) is thrown, not read as an answer.
      if (e instanceof VeritokenError && e.code !== 'internal') return false
      throw e
    }
  }
  toJSON() {
    return this.claims
  }
}

function checkToken(token) {
  if (typeof token !== 'string') throw new TypeError('token must be a string')
  return token
}

/**
 * `options.now`: undefined (or null) for the clock, else whole Unix seconds, a safe integer.
 * NaN, ±Infinity, fractions and other types are refused (napi would read them as 0: 1970).
 */
function checkNow(now) {
  if (now === undefined || now === null || Number.isSafeInteger(now)) return now ?? undefined
  const shown = typeof now === 'number' ? String(now) : typeof now === 'bigint' ? `${now}n` : `a ${typeof now}`
  throw new TypeError(`now must be whole Unix seconds (a safe integer), not ${shown}`)
}

const FROM_NATIVE = Symbol('veritoken.native')

/** `{ dpopProof, method, url }` of verify options as the addon takes them (undefined: a bearer token). */
function dpopArgs(options) {
  const proof = options?.dpopProof
  if (proof === undefined || proof === null) return undefined
  const { method, url } = options
  if (typeof proof !== 'string' || typeof method !== 'string' || typeof url !== 'string') {
    throw new TypeError('dpopProof, method and url must all be strings')
  }
  return { proof, method, url }
}

/**
 * Header names and values from Node's headers object (values may be arrays), Node's
 * `rawHeaders` (name, value, name, value...: every line as sent), any iterable of
 * [name, value] pairs (an array, a Map, a fetch Headers, a generator...) or an object with
 * a Headers-style `forEach(value, name)`, keeping only those named in `wanted` (lowercase,
 * from the engine: the headers its extraction reads). Copying every header of a request
 * into the addon cost ~10 µs, three times a verification.
 */
function headerLists(headers, wanted) {
  const names = []
  const values = []
  const add = (k, v) => {
    if (Array.isArray(v)) v.forEach((x) => add(k, x))
    else if (v !== undefined && v !== null && wanted.has(String(k).toLowerCase())) {
      names.push(String(k))
      values.push(String(v))
    }
  }
  if (headers === undefined || headers === null) return [names, values]
  if (typeof headers !== 'object' && typeof headers !== 'function') {
    throw new TypeError('headers must be an object, [name, value] pairs, rawHeaders or a Headers')
  }
  if (Array.isArray(headers) && typeof headers[0] === 'string') {
    if (headers.length % 2 !== 0) throw new TypeError('rawHeaders must alternate names and values')
    for (let i = 0; i < headers.length; i += 2) add(headers[i], headers[i + 1])
  } else if (typeof headers[Symbol.iterator] === 'function') {
    // Before forEach: Node 22's iterator helpers give every iterator a forEach(value, index).
    for (const pair of headers) {
      if (pair === null || typeof pair !== 'object') throw new TypeError('headers must be [name, value] pairs')
      const [k, v] = pair
      add(k, v)
    }
  } else if (typeof headers.forEach === 'function') {
    headers.forEach((v, k) => add(k, v))
  } else {
    for (const [k, v] of Object.entries(headers)) add(k, v)
  }
  return [names, values]
}

/** The native verifier of a configuration object or its JSON text. */
function nativeVerifier(config) {
  const text = typeof config === 'string' ? config : JSON.stringify(toSchema(config))
  if (text === undefined) throw new TypeError('config must be an object or JSON text')
  return call(() => new native.NativeVerifier(text))
}

/** Verifies tokens with one configuration and one key cache. */
/**
 * A route requirement in the shared schema (camelCase or snake_case): scopes, scopeMatch,
 * roles ("rn:role" or "rn:role@tenant"), roleMatch, roleClaim and claim rules. A bad field
 * throws a VeritokenError (config_invalid) naming it. Build one per route.
 */
class Requirement {
  #native
  constructor(spec) {
    const text = typeof spec === 'string' ? spec : JSON.stringify(toSchema(spec ?? {}))
    this.#native = call(() => new native.NativeRequirement(text))
  }
  /** Throws unless `token` (a VerifiedToken) meets the requirement. */
  check(token) {
    call(() => this.#native.check(token.claimsJson))
  }
}

class Verifier {
  #native
  /** Where the bound calls write the claims layout of their answer, and the shape's number last (see src/layout.rs). */
  #layout = new Float64Array(2 * LAYOUT_MEMBERS + 1)
  /** `verifySync`, `tryVerify` and `extractCredential` bound to this verifier (see src/bound_calls.rs). */
  #verifySyncNative
  #tryVerifyNative
  #extractCredentialNative
  /** The header names extraction reads (see `headerLists`). */
  #headerNames
  /** @param config the shared schema (camelCase or snake_case keys), or its JSON text */
  constructor(config) {
    this.#native = config && config[FROM_NATIVE] ? config[FROM_NATIVE] : nativeVerifier(config)
    ;({
      verifySync: this.#verifySyncNative,
      tryVerify: this.#tryVerifyNative,
      extractCredential: this.#extractCredentialNative,
    } = call(() => this.#native.verifyCalls(this.#layout)))
    this.#headerNames = new Set(call(() => this.#native.credentialHeaderNames()))
  }
  static fromFile(path) {
    return new Verifier({ [FROM_NATIVE]: call(() => native.NativeVerifier.fromFile(String(path))) })
  }
  /** Verifies on this thread (waits for a key fetch if one is needed). Options: `now`; `dpopProof`, `method`, `url` for a DPoP token. */
  verifySync(token, options) {
    checkToken(token)
    // Without options only the token is passed: the addon then skips converting the rest.
    if (options === undefined) return new VerifiedToken(call(() => this.#verifySyncNative(token)), this.#layout)
    const now = checkNow(options?.now)
    const dpop = dpopArgs(options)
    return new VerifiedToken(call(() => this.#verifySyncNative(token, now, dpop)), this.#layout)
  }
  /** Verifies without blocking the event loop: cached keys answer at once; a fetch is waited for on the engine's I/O thread, holding no libuv pool thread. */
  async verify(token, options) {
    checkToken(token)
    return this.#verify(token, checkNow(options?.now), dpopArgs(options))
  }
  async #verify(token, now, dpop) {
    const ready = call(() =>
      now === undefined && dpop === undefined ? this.#tryVerifyNative(token) : this.#tryVerifyNative(token, now, dpop),
    )
    if (ready) return new VerifiedToken(ready, this.#layout)
    try {
      return new VerifiedToken(await this.#native.verifyDeferred(token, now, dpop))
    } catch (e) {
      throw mapped(e)
    }
  }
  /** The token of a request per `tokenSources`: `headers` as Node gives them (or pairs / a fetch Headers), `query` raw. */
  extractToken(headers, query) {
    const [names, values] = headerLists(headers, this.#headerNames)
    return call(() => this.#native.extractToken(names, values, query || null))
  }
  /**
   * What the middlewares do: find the token (with DPoP enabled, also `Authorization: DPoP` and its `DPoP` proof,
   * checked against `options.method` and `options.url`), verify it, then `requireScopes` and
   * `options.requirement`. With `options.optional`, a request without a token resolves to null.
   */
  async verifyRequest(headers, query, options) {
    const now = checkNow(options?.now)
    const [names, values] = headerLists(headers, this.#headerNames)
    const method = options?.method ?? null
    const url = options?.url ?? null
    let credential
    try {
      credential = call(() =>
        method === null && url === null
          ? this.#extractCredentialNative(names, values, query || null)
          : this.#extractCredentialNative(names, values, query || null, method, url),
      )
    } catch (e) {
      // Optional authentication: no token, an anonymous request (the engine says which errors).
      if (options?.optional && e instanceof VeritokenError && native.isAnonymous(e.code)) return null
      throw e
    }
    const token = await this.#verify(credential.token, now, credential.dpop ?? undefined)
    // Any scopes given ('' and [] too) are the engine's to judge; only absent ones are skipped.
    if (options?.scopes !== undefined && options?.scopes !== null) token.requireScopes(options.scopes, options)
    if (options?.requirement) token.check(options.requirement)
    return token
  }
  /** `{status, headers, body}` for this verifier's rejection: like `errorResponse`, plus its DPoP challenge and nonce. */
  errorResponse(err, realm) {
    return call(() => this.#native.errorResponse(err.code, err.message, err.claim ?? null, realm ?? null))
  }
  metrics() {
    return JSON.parse(call(() => this.#native.metricsJson()))
  }
  /** Each engine metric family's value, in `metricFamilies()` order (for `@veritoken/node/prometheus`). */
  metricValues() {
    return call(() => this.#native.metricValues())
  }
  isReady() {
    return call(() => this.#native.isReady())
  }
}

/** `{status, headers, body}` for a VeritokenError, as every veritoken middleware answers. */
function errorResponse(err, realm) {
  return call(() => native.errorResponse(err.code, err.message, err.claim ?? null, realm ?? null))
}

/** Log levels, most severe first (a record at a level is sent when `options.level` is it or less severe). */
const LOG_LEVELS = Object.freeze(['error', 'warn', 'info', 'debug', 'trace'])

/**
 * Sends the engine's log records (key fetches, fetch failures, skipped keys, Redis store
 * failures) to `logger`: a function called with `{level, target, message, line, fields}`, or
 * an object with a method per level (console, pino, winston...) called with the record's
 * `line`. `null` stops them. Process-wide: the last call wins. Records arrive asynchronously
 * on this thread's event loop; they never hold a token or a secret.
 */
function setLogger(logger, options) {
  if (logger === null || logger === undefined) {
    call(() => native.setLogSink(null, 1))
    return
  }
  const level = options?.level ?? 'info'
  const max = LOG_LEVELS.indexOf(level) + 1
  if (max === 0) throw new TypeError(`setLogger: level must be one of ${LOG_LEVELS.join(', ')}, not ${level}`)
  let deliver
  if (typeof logger === 'function') {
    deliver = logger
  } else if (logger !== null && typeof logger === 'object') {
    deliver = (record) => {
      const method = logger[record.level] ?? (record.level === 'trace' ? logger.debug : undefined) ?? logger.log
      method.call(logger, record.line)
    }
  } else {
    throw new TypeError('setLogger: logger must be a function, an object with log methods, or null')
  }
  const sink = (raw) => {
    const record = { ...raw, fields: Object.fromEntries(raw.fields) }
    try {
      deliver(record)
    } catch {
      // A failing logger must not become an uncaught exception of the event loop.
    }
  }
  call(() => native.setLogSink(sink, max))
}

/** Core's metric families (name, help, kind, sampleName, source): the names the sidecar's `/metrics` serves. */
function metricFamilies() {
  return call(() => native.metricFamilies())
}

/** The engine's version, e.g. "0.1.0" (the addon's; the same for every veritoken package of a release). */
const version = native.version()

module.exports = { Verifier, VerifiedToken, VeritokenError, Requirement, ERROR_CODES, LOG_LEVELS, errorResponse, metricFamilies, setLogger, version }
