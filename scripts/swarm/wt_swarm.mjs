// webtorrent bittorrent-dht half of the PcapDht sample swarm. Run by run-swarm.sh inside the
// network namespace, next to lt_swarm.py (whose libtorrent nodes are 127.0.I.1:6881 and
// [fd00:0:0:I::1]:6881, I = 1..LT_NODES).
//
//   node wt_swarm.mjs --lt-nodes 20 --v4 8 --v6 4 --seconds 60
//
// Node J (1..v4+v6) listens on 127.0.(100+J).1:(20000+J) (IPv4) or [fd00:0:0:(100+J in hex)::1]
// (IPv6). bittorrent-dht itself only parses compact IPv4 "nodes", so the IPv6 instances run on a
// udp6 socket and talk to the libtorrent IPv6 addresses they are given. Besides what
// bittorrent-dht does on its own (find_node bootstrap, lookups, announce, BEP 44 get/put), the
// script sends a few raw KRPC queries through the same socket: announce floods (many ports and
// info-hashes, so that libtorrent's get_peers and BEP 51 sample_infohashes replies grow past
// the MTU), ping, find_node, sample_infohashes, one unknown method and one bad token (error
// replies). Exits by itself after --seconds.
import crypto from 'node:crypto'
import dgram from 'node:dgram'
import DHT from 'bittorrent-dht'

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]])
  return acc
}, []))
const LT = Number(args['lt-nodes'] ?? 20)
const V4 = Number(args.v4 ?? 8)
const V6 = Number(args.v6 ?? 4)
const SECONDS = Number(args.seconds ?? 60)

const sha1 = (b) => crypto.createHash('sha1').update(b).digest()
const POPULAR = sha1('pcapdht popular') // same as lt_swarm.py
const lt4 = (i) => ({ host: `127.0.${i}.1`, port: 6881 })
const lt6 = (i) => ({ host: `fd00:0:0:${i.toString(16)}::1`, port: 6881 })

// ed25519 from node's own crypto: a key from a fixed 32-byte seed (PKCS#8 DER prefix + seed).
function keyFromSeed (text) {
  const seed = crypto.createHash('sha256').update(text).digest()
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
  const privateKey = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  const jwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' })
  return { privateKey, k: Buffer.from(jwk.x, 'base64url') }
}
function verify (sig, msg, pub) {
  try {
    const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' })
    return crypto.verify(null, msg, key, sig)
  } catch { return false }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const stats = {}
const count = (what) => { stats[what] = (stats[what] ?? 0) + 1 }

function query (dht, peer, q, a) {
  return new Promise((resolve) => {
    dht._rpc.query(peer, { q, a: { id: dht._rpc.id, ...a } }, (err, res) => {
      count(err ? `${q}:err` : `${q}:ok`)
      resolve(err ? null : res)
    })
  })
}

const nodes = []
for (let j = 1; j <= V4 + V6; j++) {
  const v6 = j > V4
  const host = v6 ? `fd00:0:0:${(100 + j).toString(16)}::1` : `127.0.${100 + j}.1`
  const ltPeers = [1, 2, 3].map((m) => ((j * 7 + m * 5) % LT) + 1)
  const bootstrap = ltPeers.map(v6 ? lt6 : lt4)
  const opts = { bootstrap, verify, host }
  if (v6) opts.socket = dgram.createSocket('udp6')
  const dht = new DHT(opts)
  dht.on('warning', () => count('warning'))
  dht.on('error', (e) => { console.error(`wt node ${j}: ${e.message}`) })
  dht.listen(20000 + j, host)
  nodes.push({ j, v6, host, dht, lt: v6 ? lt6 : lt4 })
}

// Announce many ports for POPULAR and many info-hashes to a few libtorrent nodes: libtorrent
// then answers get_peers with ~150 values and sample_infohashes with ~100 samples.
async function flood (node, targets, ports, hashes) {
  for (const t of targets) {
    const peer = node.lt(t)
    const res = await query(node.dht, peer, 'get_peers', { info_hash: POPULAR })
    const token = res?.r?.token
    if (!token) continue
    for (let p = 0; p < ports; p++) {
      query(node.dht, peer, 'announce_peer', { info_hash: POPULAR, port: 30000 + p, token })
      await sleep(40)
    }
    for (let h = 0; h < hashes; h++) {
      const ih = sha1(`pcapdht wt infohash ${h}`)
      const r = await query(node.dht, peer, 'get_peers', { info_hash: ih })
      if (r?.r?.token) query(node.dht, peer, 'announce_peer', { info_hash: ih, port: 31000 + h, token: r.r.token, implied_port: h % 2 })
      await sleep(40)
    }
  }
}

async function chatter (node) {
  const targets = [1, 2, 3, 4].map((m) => ((node.j * 3 + m * 4) % LT) + 1)
  for (const t of targets) {
    await query(node.dht, node.lt(t), 'ping', {})
    await query(node.dht, node.lt(t), 'find_node', { target: crypto.randomBytes(20) })
    await sleep(200)
  }
}

async function oddities (node) {
  const peer = node.lt(((node.j * 11) % LT) + 1)
  await query(node.dht, peer, 'pcapdht_unknown', { target: crypto.randomBytes(20) })
  await query(node.dht, peer, 'announce_peer', { info_hash: POPULAR, port: 1, token: Buffer.from('bad!') })
}

async function samples (node) {
  for (const t of [1, 2, 3, 4, 5, 6]) {
    await query(node.dht, node.lt(t), 'sample_infohashes', { target: crypto.randomBytes(20) })
    await sleep(300)
  }
}

async function lateLookups (node) {
  for (let t = 1; t <= 6; t++) {
    await query(node.dht, node.lt(t), 'get_peers', { info_hash: POPULAR })
    await sleep(250)
  }
}

function put (dht, opts) {
  return new Promise((resolve) => dht.put(opts, (err, hash, n) => { count(err ? 'put:err' : `put:ok(${n})`); resolve(hash) }))
}
function get (dht, hash, opts = {}) {
  return new Promise((resolve) => dht.get(hash, opts, (err, res) => { count(err ? 'get:err' : res ? 'get:found' : 'get:none'); resolve(res) }))
}
function announce (dht, ih, port) {
  return new Promise((resolve) => dht.announce(ih, port, (err) => { count(err ? 'announce:err' : 'announce:ok'); resolve() }))
}
function lookup (dht, ih) {
  return new Promise((resolve) => dht.lookup(ih, (err, n) => { count(err ? 'lookup:err' : 'lookup:ok'); resolve(n) }))
}

async function main () {
  const started = Date.now()
  const ready = nodes.map((n) => new Promise((resolve) => n.dht.once('ready', resolve)))
  await Promise.race([Promise.all(ready), sleep(8000)])
  await sleep(3000)
  const v4 = nodes.filter((n) => !n.v6)
  const v6 = nodes.filter((n) => n.v6)
  const jobs = []
  // Announcers: two IPv4 and one IPv6 instance, each on its own libtorrent nodes.
  jobs.push(flood(v4[0], [1, 2], 130, 40))
  jobs.push(flood(v4[1], [3, 4], 130, 40))
  if (v6.length) jobs.push(flood(v6[0], [5, 6], 100, 40))
  for (const n of nodes) jobs.push(chatter(n))
  jobs.push(oddities(v4[2]))
  if (v6.length > 1) jobs.push(oddities(v6[1]))

  // bittorrent-dht's own operations.
  jobs.push((async () => {
    for (const n of nodes.slice(2)) { await lookup(n.dht, POPULAR); await sleep(300) }
    for (const n of v4.slice(2, 6)) { await announce(n.dht, POPULAR, 20000 + n.j); await sleep(300) }
  })())
  const key = keyFromSeed('pcapdht wt mutable 0')
  const sign = (buf) => crypto.sign(null, buf, key.privateKey)
  jobs.push((async () => {
    await sleep(4000)
    const immHash = await put(v4[3].dht, { v: Buffer.from('pcapdht wt immutable item') })
    await put(v4[4].dht, { k: key.k, seq: 1, v: Buffer.from('pcapdht wt mutable seq 1'), sign })
    await put(v4[4].dht, { k: key.k, seq: 2, cas: 1, salt: Buffer.from('wt-salt'), v: Buffer.from('pcapdht wt mutable salted seq 2'), sign })
    // A value near BEP 44's 1000-byte limit: its get replies exceed the MTU.
    const big = Buffer.alloc(960, 'pcapdht big mutable value ')
    await put(v4[3].dht, { k: key.k, seq: 1, salt: Buffer.from('big'), v: big, sign })
    await sleep(2000)
    await get(v4[2].dht, sha1(Buffer.concat([key.k, Buffer.from('big')])), { verify })
    if (v6.length) await get(v6[1 % v6.length].dht, sha1(Buffer.concat([key.k, Buffer.from('big')])), { verify })
    if (immHash) await get(v4[5].dht, immHash)
    await get(v4[6].dht, sha1(key.k), { verify })
    await get(v4[7 % v4.length].dht, sha1(Buffer.concat([key.k, Buffer.from('wt-salt')])), { verify })
    // Items libtorrent put (see lt_swarm.py): immutable strings and ed25519 keys from fixed seeds.
    const ltImm = sha1(Buffer.from('24:pcapdht immutable item 0'))
    await get(v4[2].dht, ltImm)
    if (v6.length) await get(v6[v6.length - 1].dht, ltImm)
  })())
  await Promise.all(jobs)
  const wait = SECONDS * 1000 - (Date.now() - started)
  // BEP 51 and a second round of lookups once the stores are full.
  if (wait > 8000) {
    await Promise.all([samples(v4[1]), v6.length ? samples(v6[0]) : null, lateLookups(v4[5]), v6.length ? lateLookups(v6[v6.length - 1]) : null])
  }
  const rest = SECONDS * 1000 - (Date.now() - started)
  if (rest > 0) await sleep(rest)
  await finish()
}

let finishing = false
async function finish () {
  if (finishing) return
  finishing = true
  console.error('wt_swarm: ' + Object.entries(stats).sort().map(([k, v]) => `${k}=${v}`).join(', '))
  await Promise.race([Promise.all(nodes.map((n) => new Promise((resolve) => n.dht.destroy(resolve)))), sleep(2000)])
  process.exit(0)
}

// A short run (live-capture tests) ends on time even while the floods are still going.
setTimeout(finish, SECONDS * 1000)
main().catch((e) => { console.error(`wt_swarm: ${e.stack}`); process.exit(1) })
