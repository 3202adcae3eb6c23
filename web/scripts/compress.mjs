// After `vite build`: a .br and a .gz beside every text file of dist/, made once at build time at the highest
// levels, so the BFF (bff/lib/web.py) serves compressed bytes without compressing per request.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

const dist = new URL('../dist/', import.meta.url).pathname
const TEXT = /\.(js|mjs|css|html|svg|json|webmanifest|txt)$/
const MIN_BYTES = 512 // below one packet compression buys nothing

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* files(path)
    else yield path
  }
}

let count = 0
for (const path of files(dist)) {
  if (!TEXT.test(path)) continue
  const raw = readFileSync(path)
  if (raw.length < MIN_BYTES) continue
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  })
  const gz = gzipSync(raw, { level: 9 })
  if (br.length < raw.length) writeFileSync(`${path}.br`, br)
  if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz)
  count += 1
}
console.log(`compressed ${count} files in dist/ (.br and .gz)`)
