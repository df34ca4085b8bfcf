// Reads a PcapDht Parquet lake with two engines that are not PcapDht: DuckDB (its node client) and
// Polars (nodejs-polars), each from the Hive-partitioned files alone (no PcapDht code, no manifest).
// Prints one JSON object: for each engine, the rows per relation, the distinct node addresses, and the
// article's table (distinct addresses per ASN, all data: node sightings plus message senders, "direct"
// being those seen sending). The lake tests compare it with PcapDht's own numbers.
//
// Usage: node read-lake.mjs DIR
import { DuckDBInstance } from '@duckdb/node-api';
import pl from 'nodejs-polars';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node read-lake.mjs DIR');
  process.exit(2);
}
const relations = ['messages', 'node_sightings', 'peer_sightings', 'malformed_krpc', 'captures'];
const hasFiles = (r) => existsSync(path.join(dir, r)) && readdirSync(path.join(dir, r), { recursive: true }).some((f) => String(f).endsWith('.parquet'));
const present = relations.filter(hasFiles);
const glob = (r) => path.join(dir, r, '**', '*.parquet');
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);

async function withDuckDb() {
  // Parquet is linked into the node client: no extension may be downloaded (the tests stay off the network).
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const db = await instance.connect();
  const rows = async (sql) => (await db.runAndReadAll(sql)).getRowObjects();
  const scan = (r) => `read_parquet('${glob(r)}', hive_partitioning = true, hive_types = {'sensor': 'VARCHAR'})`;
  const out = { rows: {}, sensors: [] };
  for (const r of present) out.rows[r] = num((await rows(`SELECT count(*) AS n FROM ${scan(r)}`))[0].n);
  out.sensors = (await rows(`SELECT DISTINCT sensor FROM ${scan('captures')} ORDER BY 1`)).map((x) => x.sensor);
  out.distinct_node_ips = num((await rows(
    `SELECT count(DISTINCT (ip_num_hi, ip_num_lo)) AS n FROM ${scan('node_sightings')}`))[0].n);
  const perAsn = await rows(`
    WITH seen AS (
      SELECT ip_num_hi AS hi, ip_num_lo AS lo, asn, source = 'sender' AS direct FROM ${scan('node_sightings')}
      UNION ALL
      SELECT src_ip_num_hi, src_ip_num_lo, asn, true FROM ${scan('messages')}),
    addresses AS (SELECT hi, lo, min(asn) AS asn, bool_or(direct) AS direct FROM seen GROUP BY hi, lo)
    SELECT asn, count(*) AS ips, count(*) FILTER (WHERE direct) AS direct_ips
    FROM addresses WHERE asn IS NOT NULL GROUP BY asn ORDER BY asn`);
  out.asn = perAsn.map((x) => ({ asn: num(x.asn), ips: num(x.ips), direct_ips: num(x.direct_ips) }));
  db.closeSync();
  return out;
}

function withPolars() {
  const scan = (r) => pl.scanParquet(glob(r), { hivePartitioning: true });
  const out = { rows: {}, sensors: [] };
  for (const r of present) out.rows[r] = num(scan(r).select(pl.len().alias('n')).collectSync().getColumn('n').get(0));
  out.sensors = scan('captures').select(pl.col('sensor').cast(pl.Utf8)).unique().sort('sensor').collectSync().getColumn('sensor').toArray();
  const nodes = scan('node_sightings')
    .select(pl.col('ip_num_hi').alias('hi'), pl.col('ip_num_lo').alias('lo'), pl.col('asn'), pl.col('source').eq(pl.lit('sender')).alias('direct'));
  out.distinct_node_ips = nodes.select(['hi', 'lo']).unique().collectSync().height;
  const senders = scan('messages')
    .select(pl.col('src_ip_num_hi').alias('hi'), pl.col('src_ip_num_lo').alias('lo'), pl.col('asn'), pl.lit(true).alias('direct'));
  const addresses = pl.concat([nodes, senders])
    .groupBy(['hi', 'lo'])
    .agg(pl.col('asn').min().alias('asn'), pl.col('direct').max().alias('direct'));
  const perAsn = addresses
    .filter(pl.col('asn').isNotNull())
    .groupBy('asn')
    .agg(pl.len().alias('ips'), pl.col('direct').cast(pl.Int64).sum().alias('direct_ips'))
    .sort('asn')
    .collectSync();
  out.asn = perAsn.toRecords().map((x) => ({ asn: num(x.asn), ips: num(x.ips), direct_ips: num(x.direct_ips) }));
  return out;
}

const result = { duckdb: await withDuckDb(), polars: withPolars() };
process.stdout.write(JSON.stringify(result) + '\n');
