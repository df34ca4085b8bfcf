// Independent KRPC decoder for PcapDht's expected files (scripts/make-expected.sh). It shares no
// code with PcapDht: tshark dissects frames, reassembles IP fragments and prints one line per UDP
// datagram; this script bencode-decodes each payload with the npm `bencode` package and writes
// one TSV row per datagram. The column format is documented in samples-pcap/README.md.
//
//   tshark ... -T fields -e frame.number -e frame.time_epoch -e ip.src -e ipv6.src -e ip.dst
//     -e ipv6.dst -e udp.srcport -e udp.dstport -e udp.payload | node decode-krpc.mjs OUT.tsv SUMMARY.tsv
//
// Summary lines ("key<TAB>value") count messages by y and method and the list entries decoded.
import fs from 'node:fs'
import readline from 'node:readline'
import bencode from 'bencode'

const [outPath, summaryPath] = process.argv.slice(2)
if (!outPath || !summaryPath) { console.error('usage: decode-krpc.mjs OUT.tsv SUMMARY.tsv < tshark-fields'); process.exit(2) }

const COLUMNS = ['frame', 'ts', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'udp_len', 'y', 'q', 'method', 't',
  'id', 'target', 'info_hash', 'v', 'ro', 'token', 'port', 'implied_port', 'nodes', 'nodes6', 'values',
  'samples', 'num', 'interval', 'k', 'seq', 'salt', 'cas', 'item_len', 'want', 'ext_ip', 'e_code', 'e_msg']

const hex = (b) => Buffer.from(b).toString('hex')
const isBytes = (x) => x instanceof Uint8Array

// RFC 5952 text form (what tshark and .NET print): longest run of >= 2 zero groups becomes "::".
function ip6 (b) {
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${ip4(b.subarray(12))}`
  const g = []
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1])
  let best = -1; let bestLen = 0
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i }
    i = j
  }
  const h = g.map((x) => x.toString(16))
  if (best < 0) return h.join(':')
  return `${h.slice(0, best).join(':')}::${h.slice(best + bestLen).join(':')}`
}
const ip4 = (b) => `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
const port = (b, o) => (b[o] << 8) | b[o + 1]

function endpoint (b) { // compact 6 (IPv4) or 18 (IPv6) bytes, BEP 5 / BEP 32
  if (b.length === 6) return `${ip4(b)}:${port(b, 4)}`
  if (b.length === 18) return `[${ip6(b.subarray(0, 16))}]:${port(b, 16)}`
  return `!bad-endpoint:${hex(b)}`
}

function nodes (b, v6) { // 26-byte (BEP 5) or 38-byte (BEP 32) records
  const size = v6 ? 38 : 26
  if (b.length % size !== 0) return `!bad-length:${b.length}`
  if (b.length === 0) return '[]'
  const out = []
  for (let o = 0; o < b.length; o += size) {
    const id = hex(b.subarray(o, o + 20))
    out.push(v6 ? `${id}@[${ip6(b.subarray(o + 20, o + 36))}]:${port(b, o + 36)}` : `${id}@${ip4(b.subarray(o + 20, o + 24))}:${port(b, o + 24)}`)
  }
  return out.join(',')
}

const str = (x) => isBytes(x) ? Buffer.from(x).toString('latin1') : ''
const clean = (s) => s.replace(/[\t\r\n\\]/g, (c) => ({ '\t': '\\t', '\r': '\\r', '\n': '\\n', '\\': '\\\\' })[c])
const int = (x) => typeof x === 'number' ? String(x) : ''

const counts = new Map()
const bump = (k, n = 1) => counts.set(k, (counts.get(k) ?? 0) + n)
const pending = new Map() // query endpoints + t -> q, to name the method of replies
const out = fs.createWriteStream(outPath)
out.write(COLUMNS.join('\t') + '\n')

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of rl) {
  if (!line) continue
  const [frame, ts, src4, src6, dst4, dst6, sport, dport, payloadHex = ''] = line.split('\t')
  const src = src4 || src6; const dst = dst4 || dst6
  const payload = Buffer.from(payloadHex.replace(/:/g, ''), 'hex')
  bump('udp_datagrams'); bump(src4 ? 'udp_datagrams_ipv4' : 'udp_datagrams_ipv6')
  const row = Object.fromEntries(COLUMNS.map((c) => [c, '']))
  Object.assign(row, { frame, ts, src_ip: src, src_port: sport, dst_ip: dst, dst_port: dport, udp_len: String(payload.length) })
  let m = null
  try { m = bencode.decode(payload) } catch { m = null }
  const y = m && typeof m === 'object' && !isBytes(m) && !Array.isArray(m) && isBytes(m.y) ? str(m.y) : null
  if (!y || !isBytes(m.t)) {
    row.y = '?'
    bump('not_krpc')
  } else {
    row.y = y
    row.t = hex(m.t)
    if (isBytes(m.v)) row.v = hex(m.v)
    if (isBytes(m.ip)) row.ext_ip = endpoint(m.ip)
    const body = y === 'q' ? m.a : y === 'r' ? m.r : null
    if (y === 'q') {
      row.q = clean(str(m.q)); row.method = row.q
      pending.set(`${src}|${sport}|${dst}|${dport}|${row.t}`, row.q)
      if (m.ro === 1) row.ro = '1'
    } else {
      const key = `${dst}|${dport}|${src}|${sport}|${row.t}`
      row.method = pending.get(key) ?? ''
    }
    if (y === 'e' && Array.isArray(m.e)) { row.e_code = int(m.e[0]); row.e_msg = clean(str(m.e[1])) }
    if (body && typeof body === 'object' && !isBytes(body)) {
      if (isBytes(body.id)) row.id = hex(body.id)
      if (isBytes(body.target)) row.target = hex(body.target)
      if (isBytes(body.info_hash)) row.info_hash = hex(body.info_hash)
      if (isBytes(body.token)) row.token = hex(body.token)
      row.port = int(body.port); row.implied_port = int(body.implied_port)
      if (isBytes(body.nodes)) { row.nodes = nodes(body.nodes, false); bump('nodes_entries', body.nodes.length / 26 | 0) }
      if (isBytes(body.nodes6)) { row.nodes6 = nodes(body.nodes6, true); bump('nodes6_entries', body.nodes6.length / 38 | 0) }
      if (Array.isArray(body.values)) {
        row.values = body.values.length ? body.values.map((x) => isBytes(x) ? endpoint(x) : '!bad-value').join(',') : '[]'
        bump('values_entries', body.values.length)
      }
      if (isBytes(body.samples)) { row.samples = String(body.samples.length / 20 | 0); bump('samples_entries', body.samples.length / 20 | 0) }
      row.num = int(body.num); row.interval = int(body.interval)
      if (isBytes(body.k)) row.k = hex(body.k)
      row.seq = int(body.seq); row.cas = int(body.cas)
      if (isBytes(body.salt)) row.salt = hex(body.salt)
      if (body.v !== undefined) row.item_len = String(bencode.encode(body.v).length)
      if (Array.isArray(body.want)) row.want = body.want.map(str).join(',')
    }
    bump(`y=${y}`)
    bump(`method=${row.method || '(unmatched)'}/${y}`)
    if (row.ro) bump('read_only_queries')
  }
  out.write(COLUMNS.map((c) => row[c]).join('\t') + '\n')
}
out.end()
const lines = [...counts.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([k, v]) => `${k}\t${v}`)
fs.writeFileSync(summaryPath, lines.join('\n') + '\n')
