'use strict'
// Regenerates native.d.ts with napi-rs from src/lib.rs (`npm run dts`), or with `--check`
// fails when the committed file differs from what napi-rs generates now (run by make test).
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const out = fs.mkdtempSync(path.join(root, 'target-dts-'))
try {
  const napi = path.join(root, 'node_modules', '.bin', 'napi')
  execFileSync(napi, ['build', '--platform', '--no-js', '--dts', 'native.d.ts', '--output-dir', out], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const generated = fs.readFileSync(path.join(out, 'native.d.ts'), 'utf8')
  const committed = path.join(root, 'native.d.ts')
  if (process.argv.includes('--check')) {
    if (fs.readFileSync(committed, 'utf8') !== generated) {
      console.error('native.d.ts differs from what napi-rs generates from src/lib.rs: run `npm run dts` and commit it')
      process.exit(1)
    }
    console.log('native.d.ts matches src/lib.rs')
  } else {
    fs.writeFileSync(committed, generated)
    console.log('native.d.ts regenerated')
  }
} finally {
  fs.rmSync(out, { recursive: true, force: true })
}
