#!/usr/bin/env node
// Builds the native addon from source with cargo (no prebuilt download) and places it at
// ./veritoken.node. Release by default; VERITOKEN_NODE_PROFILE=debug reuses the workspace's
// debug build (what `make test` does). CARGO_TARGET_DIR is honoured.
'use strict'
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const here = path.resolve(__dirname, '..')
const profile = process.env.VERITOKEN_NODE_PROFILE === 'debug' ? 'debug' : 'release'
const args = ['build', '--locked', '-p', 'veritoken-node', '--manifest-path', path.join(here, 'Cargo.toml')]
if (profile === 'release') args.push('--release')

let metadata
try {
  execFileSync('cargo', args, { stdio: 'inherit', cwd: here })
  metadata = JSON.parse(
    execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', path.join(here, 'Cargo.toml')], {
      cwd: here,
      maxBuffer: 64 << 20,
    }),
  )
} catch (e) {
  console.error('veritoken: building the native addon needs a Rust toolchain (https://rustup.rs): ' + e.message)
  process.exit(1)
}
const lib = process.platform === 'darwin' ? 'libveritoken_node.dylib' : process.platform === 'win32' ? 'veritoken_node.dll' : 'libveritoken_node.so'
const built = path.join(metadata.target_directory, profile, lib)
const dest = path.join(here, 'veritoken.node')
fs.copyFileSync(built, dest + '.tmp')
fs.renameSync(dest + '.tmp', dest) // atomic: a running process keeps its mapped copy
console.log(`veritoken: built ${dest} (${profile})`)
