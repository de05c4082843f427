#!/usr/bin/env node
// npm-main.js DIR PLATFORM...: stages @veritoken/node for `npm pack` into DIR from
// bindings-node/: the files it publishes (no Rust sources, no install script: the addon comes
// from the per-platform packages), LICENSE, and optionalDependencies on the platform
// packages built (PLATFORM: linux-x64-gnu, ...), all at the workspace version.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..', '..')
const src = path.join(root, 'bindings-node')
const [dir, ...platforms] = process.argv.slice(2)
const pkg = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8'))
const SOURCE_BUILD = new Set(['scripts/install.js', 'src', 'Cargo.toml', 'build.rs'])

pkg.files = pkg.files.filter((f) => !SOURCE_BUILD.has(f))
delete pkg.scripts
delete pkg.devDependencies
pkg.optionalDependencies = Object.fromEntries(platforms.map((p) => [`@veritoken/node-${p}`, pkg.version]))
fs.mkdirSync(dir, { recursive: true })
for (const f of [...pkg.files, 'README.md']) fs.cpSync(path.join(src, f), path.join(dir, f), { recursive: true })
fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'))
pkg.files.push('LICENSE')
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
console.log(`${pkg.name}@${pkg.version}: optionalDependencies ${Object.keys(pkg.optionalDependencies).join(', ')}`)
