'use strict'
// One version for every package: the addon's, the package's and the workspace's Cargo.toml.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { version } = require('..')
const { ROOT } = require('./helpers')

test('version is the Cargo workspace version', async () => {
  const cargo = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8').match(/^version = "([^"]+)"/m)[1]
  assert.equal(version, cargo)
  assert.equal(require('../package.json').version, cargo)
  assert.equal((await import('@veritoken/node')).version, cargo)
})
