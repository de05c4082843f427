'use strict'
// The claims object is built from the answer's shape (claims.js, src/layout.rs) for most
// tokens and parsed whole for the rest: either way it must be exactly what JSON.parse makes
// of the token's claims text.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { Verifier } = require('..')
const { SECRET, ISSUER, hsConfig } = require('./helpers')

const b64 = (x) => Buffer.from(x).toString('base64url')

/** An HS256 token whose payload is exactly `payload` (text, not an object). */
function mintText(payload) {
  const input = `${b64(JSON.stringify({ alg: 'HS256' }))}.${b64(payload)}`
  return `${input}.${crypto.createHmac('sha256', SECRET).update(input).digest('base64url')}`
}

const exp = Math.floor(Date.now() / 1000) + 600
const base = `"iss":"${ISSUER}","aud":"api","exp":${exp}`

/** Payloads covering every kind of member and every reason to parse the whole text. */
const PAYLOADS = {
  typical: `{${base},"sub":"alice","scope":"read write","iat":${exp - 600},"jti":"8b3c8a1e-2f"}`,
  whitespace: ` {\n  ${base.replaceAll(',', ' ,\t')} , "sub" : "a" }\r\n`,
  literals: `{${base},"t":true,"f":false,"n":null}`,
  numbers: `{${base},"zero":0,"negZero":-0,"neg":-12,"max15":999999999999999,"sixteen":1234567890123456,"big":9007199254740993,"frac":1.5,"exp10":1e3,"tiny":5e-324,"minus":-1.25E+2}`,
  nested: `{${base},"o":{"a":[1,{"b":"}"}],"c":{}},"a":[],"arr":["x",1,null,true],"deep":[[[{"k":"v"}]]]}`,
  strings: `{${base},"empty":"","esc":"a\\nb","quote":"say \\"hi\\"","slash":"a\\/b","uni":"\\u00e9\\ud83d\\ude00","long":"${'x'.repeat(300)}","tilde":"~\u007f"}`,
  names: `{${base},"__proto__":{"polluted":true},"constructor":"c","toString":1,"":"empty name","1":"one","0":"zero","-1":"minus","a b":"space","$x":"dollar"}`,
  integerNames: `{${base},"10":"ten","2":"two","b":"bee","1":"one"}`,
  escapedName: `{${base},"a\\u0062":"escaped name"}`,
  nonAscii: `{${base},"name":"José"}`,
  nonAsciiName: `{${base},"naïve":1}`,
  many: `{${base},${Array.from({ length: 70 }, (_, i) => `"m${i}":${i}`).join(',')}}`,
  fitsExactly: `{${base},${Array.from({ length: 61 }, (_, i) => `"m${i}":"v${i}"`).join(',')}}`,
}

/** JSON.parse's object and ours: same entries, same order, same prototype, -0 kept. */
function assertSameObject(ours, parsed, label) {
  assert.deepStrictEqual(ours, parsed, label)
  assert.deepStrictEqual(Reflect.ownKeys(ours), Reflect.ownKeys(parsed), `${label}: key order`)
  assert.equal(Object.getPrototypeOf(ours), Object.getPrototypeOf(parsed), `${label}: prototype`)
  for (const key of Reflect.ownKeys(parsed)) {
    assert.ok(Object.is(ours[key], parsed[key]) || typeof parsed[key] === 'object', `${label}: ${String(key)}`)
  }
}

test('claims are what JSON.parse makes of the claims text, for every kind of member', async () => {
  const verifier = new Verifier(hsConfig())
  for (const [label, payload] of Object.entries(PAYLOADS)) {
    const parsed = JSON.parse(payload)
    const sync = verifier.verifySync(mintText(payload))
    // The token's text, with JSON whitespace CR and LF as spaces (the engine's text never
    // holds a raw line break: it may be copied into a header).
    assert.equal(sync.claimsJson, payload.replace(/[\r\n]/g, ' '), `${label}: claimsJson is the token's text`)
    assertSameObject(sync.claims, parsed, `${label} (verifySync)`)
    assertSameObject((await verifier.verify(mintText(payload))).claims, parsed, `${label} (verify)`)
  }
  // The ones with an own "__proto__" keep it as data, as JSON.parse does.
  const names = verifier.verifySync(mintText(PAYLOADS.names)).claims
  assert.ok(Object.hasOwn(names, '__proto__'))
  assert.equal(Object.getPrototypeOf(names), Object.prototype)
  assert.equal({}.polluted, undefined)
  assert.ok(Object.is(verifier.verifySync(mintText(PAYLOADS.numbers)).claims.negZero, -0))
})

test('each token gets its own claims object, and the header still reads back', () => {
  const verifier = new Verifier(hsConfig())
  const token = mintText(PAYLOADS.nested)
  const first = verifier.verifySync(token)
  first.claims.o.a.push('changed')
  first.claims.sub = 'changed'
  const second = verifier.verifySync(token)
  assertSameObject(second.claims, JSON.parse(PAYLOADS.nested), 'second token')
  assert.notEqual(first.claims, second.claims)
  assert.deepStrictEqual(second.header, { alg: 'HS256' })
  assert.equal(second.issuer, ISSUER)
  assert.deepStrictEqual(second.audiences, ['api'])
  assert.deepStrictEqual(JSON.parse(JSON.stringify(second)), JSON.parse(PAYLOADS.nested))
})

test('a later verification does not change claims already returned', () => {
  const verifier = new Verifier(hsConfig())
  const a = verifier.verifySync(mintText(`{${base},"sub":"first","n":1}`))
  const b = verifier.verifySync(mintText(`{${base},"sub":"second-and-longer","n":2}`))
  assert.equal(a.claims.sub, 'first')
  assert.equal(a.claims.n, 1)
  assert.equal(b.claims.sub, 'second-and-longer')
  assert.equal(b.claims.n, 2)
})

test('many shapes: past the builder limit the claims are parsed whole, still exact', () => {
  const verifier = new Verifier(hsConfig())
  for (let i = 0; i < 300; i++) {
    const payload = `{${base},"k${i}":${i},"s${i % 7}":"v"}`
    assertSameObject(verifier.verifySync(mintText(payload)).claims, JSON.parse(payload), `shape ${i}`)
  }
})

test('verifiers on one thread keep their layouts apart', () => {
  const one = new Verifier(hsConfig())
  const two = new Verifier(hsConfig())
  const p1 = `{${base},"who":"one","n":1}`
  const p2 = `{${base},"who":"two","n":2,"extra":"yes"}`
  for (let i = 0; i < 3; i++) {
    assertSameObject(one.verifySync(mintText(p1)).claims, JSON.parse(p1), 'one')
    assertSameObject(two.verifySync(mintText(p2)).claims, JSON.parse(p2), 'two')
  }
})

test('the addon numbers each shape once per thread, up to its limit', () => {
  const script = `
    const assert = require('node:assert/strict')
    const crypto = require('node:crypto')
    const { SECRET, hsConfig } = require(${JSON.stringify(path.join(__dirname, 'helpers.js'))})
    const native = require(${JSON.stringify(path.join(__dirname, '..', 'veritoken.node'))})
    const b64 = (x) => Buffer.from(x).toString('base64url')
    const mint = (payload) => {
      const input = b64(JSON.stringify({ alg: 'HS256' })) + '.' + b64(payload)
      return input + '.' + crypto.createHmac('sha256', SECRET).update(input).digest('base64url')
    }
    const base = ${JSON.stringify(base)}
    const layout = new Float64Array(129)
    const { verifySync } = new native.NativeVerifier(JSON.stringify(hsConfig())).verifyCalls(layout)
    const numberOf = (payload) => {
      assert.equal(verifySync(mint(payload)).split('\\u0001').length, 3, payload)
      return layout[128]
    }
    assert.equal(numberOf('{' + base + ',"s":"x","i":1}'), 1)
    assert.equal(numberOf('{' + base + ',"s":"other","i":-2}'), 1, 'same shape, same number')
    assert.equal(numberOf('{' + base + ',"t":true}'), 2)
    assert.equal(numberOf('{' + base + ',"s":"y","i":3}'), 1, 'kept, not only the last')
    // A second verifier on this thread shares the numbering.
    const other = new Float64Array(129)
    const calls = new native.NativeVerifier(JSON.stringify(hsConfig())).verifyCalls(other)
    calls.verifySync(mint('{' + base + ',"t":true}'))
    assert.equal(other[128], 2)
    // A long shape gets none (and uses up no number).
    const long = '{' + base + ',' + Array.from({ length: 60 }, (_, i) => '"' + 'n'.repeat(20) + i + '":1').join(',') + '}'
    assert.equal(numberOf(long), 0)
    for (let i = 3; i <= 256; i++) assert.equal(numberOf('{' + base + ',"k' + i + '":1}'), i)
    assert.equal(numberOf('{' + base + ',"past":1}'), 0, 'past the limit: none')
    assert.equal(numberOf('{' + base + ',"t":true}'), 2, 'numbered shapes keep theirs')
    // The last slot is never a member's: a layout of 7 slots holds three members.
    const small = new Float64Array(7)
    const few = new native.NativeVerifier(JSON.stringify(hsConfig())).verifyCalls(small)
    assert.equal(few.verifySync(mint('{' + base + ',"x":1}')).split('\\u0001').length, 2, 'four members, room for three')
    assert.equal(few.verifySync(mint('{' + base + '}')).split('\\u0001').length, 3, 'three fit')
    process.stdout.write('numbered')`
  assert.equal(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }), 'numbered')
})

test('two copies of the module on one thread keep their builders apart', () => {
  // As a test runner with its own module registry loads it: the addon (and its per-thread
  // shape numbers) is shared, the JS builders are not.
  const fresh = () => {
    for (const name of ['..', '../claims.js']) delete require.cache[require.resolve(name)]
    return require('..').Verifier
  }
  const [A, B] = [fresh(), fresh()]
  const payloads = [`{${base},"who":"a","n":1}`, `{${base},"who":"b","flag":true}`, `{${base},"x":[1]}`]
  // Each copy first meets the shapes in another order, so a number one copy knows is new to the other.
  const order = [
    [A, 0], [B, 1], [A, 1], [B, 2], [A, 2], [B, 0], [A, 0], [B, 1], [A, 1], [B, 0],
  ]
  const verifiers = new Map([[A, new A(hsConfig())], [B, new B(hsConfig())]])
  for (const [copy, i] of order) {
    assertSameObject(verifiers.get(copy).verifySync(mintText(payloads[i])).claims, JSON.parse(payloads[i]), `copy ${copy === A ? 'A' : 'B'}, payload ${i}`)
  }
})

test('where code generation is refused, claims are parsed whole', () => {
  const script = `
    const crypto = require('node:crypto')
    const { Verifier } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const { SECRET, hsConfig } = require(${JSON.stringify(path.join(__dirname, 'helpers.js'))})
    const b64 = (x) => Buffer.from(x).toString('base64url')
    const payload = ${JSON.stringify(PAYLOADS.typical)}
    const input = b64(JSON.stringify({ alg: 'HS256' })) + '.' + b64(payload)
    const token = input + '.' + crypto.createHmac('sha256', SECRET).update(input).digest('base64url')
    const claims = new Verifier(hsConfig()).verifySync(token).claims
    require('node:assert/strict').deepStrictEqual(claims, JSON.parse(payload))
    process.stdout.write('same')`
  const out = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8' })
  assert.equal(out, 'same')
})

test('the addon gives a shape and layout for plain ASCII claims, and none otherwise', () => {
  const native = require('../veritoken.node')
  const layout = new Float64Array(129)
  const { verifySync } = new native.NativeVerifier(JSON.stringify(hsConfig())).verifyCalls(layout)
  const shaped = ['typical', 'whitespace', 'literals', 'numbers', 'nested', 'strings', 'names', 'integerNames', 'fitsExactly']
  for (const [label, payload] of Object.entries(PAYLOADS)) {
    const answer = verifySync(mintText(payload))
    const parts = answer.split('\u0001')
    assert.equal(parts[1], payload.replace(/[\r\n]/g, ' '), label)
    assert.equal(parts.length, shaped.includes(label) ? 3 : 2, `${label}: shape or not`)
  }
  const payload = `{${base},"s":"x y","i":-7,"t":true,"n":null,"j":[1]}`
  const answer = verifySync(mintText(payload))
  const shape = answer.slice(answer.lastIndexOf('\u0001') + 1).split('\u0002')
  assert.deepStrictEqual(shape, ['siss', 'saud', 'iexp', 'ss', 'ii', 'tt', 'nn', 'jj'])
  const text = (i) => answer.slice(layout[2 * i], layout[2 * i + 1])
  assert.equal(text(0), ISSUER)
  assert.equal(text(3), 'x y')
  assert.equal(layout[5], exp)
  assert.equal(layout[9], -7)
  assert.equal(text(7), '[1]')
  // The array must be a Float64Array.
  const verifier = new native.NativeVerifier(JSON.stringify(hsConfig()))
  for (const bad of [undefined, null, {}, new Int32Array(8), [1, 2]]) {
    assert.throws(() => verifier.verifyCalls(bad), /Float64Array/)
  }
})
