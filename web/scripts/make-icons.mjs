// Draws the PWA icons (a document with a seal on the portal's blue) as PNGs in public/.
// Dependency-free on purpose: a tiny supersampling rasteriser and PNG encoder, so `npm run gen:icons`
// needs nothing beyond Node. The same drawing is written as public/favicon.svg.
import { deflateSync } from 'node:zlib'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const out = (name) => fileURLToPath(new URL(`../public/${name}`, import.meta.url))

const BLUE = [25, 137, 250, 255]
const WHITE = [255, 255, 255, 255]
const LINE = [25, 137, 250, 255]
const SEAL = [238, 10, 36, 255]

const inRoundRect = (x, y, x0, y0, x1, y1, r) => {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false
  const cx = Math.min(Math.max(x, x0 + r), x1 - r)
  const cy = Math.min(Math.max(y, y0 + r), y1 - r)
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
}
const inCircle = (x, y, cx, cy, r) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r

// Shapes in unit coordinates, painted in order; `full` paints the whole square (maskable, apple-touch).
function layers(full) {
  return [
    [BLUE, (x, y) => (full ? true : inRoundRect(x, y, 0, 0, 1, 1, 0.22))],
    [WHITE, (x, y) => inRoundRect(x, y, 0.3, 0.2, 0.7, 0.8, 0.045)],
    ...[0.34, 0.44, 0.54].map((ly, i) => [
      LINE,
      (x, y) => inRoundRect(x, y, 0.37, ly, i === 2 ? 0.52 : 0.63, ly + 0.045, 0.02),
    ]),
    [SEAL, (x, y) => inCircle(x, y, 0.6, 0.68, 0.075) && !inCircle(x, y, 0.6, 0.68, 0.05)],
    [SEAL, (x, y) => inCircle(x, y, 0.6, 0.68, 0.028)],
  ]
}

function render(size, full) {
  const ss = 4
  const shapes = layers(full)
  const px = Buffer.alloc(size * size * 4)
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const acc = [0, 0, 0, 0]
      for (let sj = 0; sj < ss; sj++) {
        for (let si = 0; si < ss; si++) {
          const x = (i + (si + 0.5) / ss) / size
          const y = (j + (sj + 0.5) / ss) / size
          let c = [0, 0, 0, 0]
          for (const [colour, hit] of shapes) if (hit(x, y)) c = colour
          // premultiplied accumulation
          acc[0] += (c[0] * c[3]) / 255
          acc[1] += (c[1] * c[3]) / 255
          acc[2] += (c[2] * c[3]) / 255
          acc[3] += c[3]
        }
      }
      const n = ss * ss
      const a = acc[3] / n
      const o = (j * size + i) * 4
      px[o] = a ? Math.round((acc[0] / n) * (255 / a)) : 0
      px[o + 1] = a ? Math.round((acc[1] / n) * (255 / a)) : 0
      px[o + 2] = a ? Math.round((acc[2] / n) * (255 / a)) : 0
      px[o + 3] = Math.round(a)
    }
  }
  return encodePng(size, size, px)
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32 = (buf) => {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(td))
  return Buffer.concat([len, td, crc])
}
function encodePng(w, h, rgba) {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  const raw = Buffer.alloc((w * 4 + 1) * h)
  for (let y = 0; y < h; y++) rgba.copy(raw, y * (w * 4 + 1) + 1, y * w * 4, (y + 1) * w * 4)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">
<rect width="100" height="100" rx="22" fill="#1989fa"/>
<rect x="30" y="20" width="40" height="60" rx="4.5" fill="#fff"/>
<rect x="37" y="34" width="26" height="4.5" rx="2" fill="#1989fa"/>
<rect x="37" y="44" width="26" height="4.5" rx="2" fill="#1989fa"/>
<rect x="37" y="54" width="15" height="4.5" rx="2" fill="#1989fa"/>
<circle cx="60" cy="68" r="6.25" fill="none" stroke="#ee0a24" stroke-width="2.5"/>
<circle cx="60" cy="68" r="2.8" fill="#ee0a24"/>
</svg>
`

writeFileSync(out('pwa-192x192.png'), render(192, false))
writeFileSync(out('pwa-512x512.png'), render(512, false))
writeFileSync(out('maskable-512x512.png'), render(512, true))
writeFileSync(out('apple-touch-icon.png'), render(180, true))
writeFileSync(out('favicon.svg'), svg)
console.log('icons written to public/')
