// Writes the world map that `pcapdht report html` and `report country --chart` embed: every country of
// Natural Earth's 1:110m admin-0 layer (world-atlas) projected once with d3-geo's Equal Earth projection
// (equal-area, so a shaded country's size is not exaggerated) to SVG path data, keyed by ISO 3166-1
// alpha-2 code (i18n-iso-countries maps world-atlas's numeric ids). Countries too small for the 1:110m
// layer (Singapore, Hong Kong, Malta, ...) get a dot at their centroid in the 1:10m layer, so an
// address in any country is on the map. Antarctica is left out (no DHT nodes; it would take a fifth of
// the height). Output is deterministic: the same pinned packages give the same bytes.
//   usage: node make-world-map.mjs OUT.json
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { geoEqualEarth, geoPath, geoCentroid } from "d3-geo";
import { feature } from "topojson-client";
import countries from "i18n-iso-countries";

const require = createRequire(import.meta.url);
const out = process.argv[2];
if (!out) {
  console.error("usage: node make-world-map.mjs OUT.json");
  process.exit(2);
}
countries.registerLocale(require("i18n-iso-countries/langs/en.json"));

const version = (name) => JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
const atlas = (scale) => {
  const topo = require(`world-atlas/countries-${scale}.json`);
  return feature(topo, topo.objects.countries).features;
};

// world-atlas leaves three features without a numeric id; Kosovo has the user-assigned code XK that
// geolocation data sets (IPinfo, DB-IP) use. The other two are not countries in any data set: their
// addresses are registered under CY and SO, so they are drawn without a code.
const byName = { Kosovo: "XK" };
const code = (f) => (f.id ? countries.numericToAlpha2(f.id) : byName[f.properties.name]) ?? "";

const width = 960;
const shapes = atlas("110m").filter((f) => code(f) !== "AQ");
const projection = geoEqualEarth().fitWidth(width, { type: "FeatureCollection", features: shapes });
const path = geoPath(projection).digits(1);
const [[, y0], [, y1]] = path.bounds({ type: "FeatureCollection", features: shapes });
// fitWidth centres the sphere; move the map up so its top edge is at 0 and crop below its bottom edge.
projection.translate([projection.translate()[0], projection.translate()[1] - Math.floor(y0)]);
const height = Math.ceil(y1) - Math.floor(y0);

const round = (v) => Math.round(v * 10) / 10;
const sortKey = (a, b) => (a.a2 + a.name < b.a2 + b.name ? -1 : a.a2 + a.name > b.a2 + b.name ? 1 : 0);

const drawn = new Set();
const shapeRows = shapes
  .map((f) => {
    const a2 = code(f);
    if (a2) drawn.add(a2);
    return { a2, name: f.properties.name, d: path(f) };
  })
  .sort(sortKey);

const detailed = atlas("10m");
const dots = detailed
  .filter((f) => {
    const a2 = code(f);
    return a2 && a2 !== "AQ" && !drawn.has(a2);
  })
  .map((f) => {
    const a2 = code(f);
    const [x, y] = projection(geoCentroid(f));
    return { a2, name: f.properties.name, x: round(x), y: round(y) };
  })
  .filter((d) => d.x >= 0 && d.x <= width && d.y >= 0 && d.y <= height)
  .sort(sortKey);
// A country split into several 10m features (rare) keeps its first dot.
const seen = new Set();
const dotRows = dots.filter((d) => !seen.has(d.a2) && seen.add(d.a2));

// Names for every code (a country without a shape or dot is still named in the list below the map):
// Natural Earth's short names ("Dem. Rep. Congo", "South Korea"), else the ISO English name.
const neName = {};
for (const f of [...detailed, ...shapes]) if (code(f)) neName[code(f)] = f.properties.name;
const names = {};
for (const a2 of Object.keys(countries.getAlpha2Codes()).sort()) names[a2] = neName[a2] ?? countries.getName(a2, "en");

const map = {
  generator: "scripts/report-assets/make-world-map.mjs",
  sources: {
    geometry: `world-atlas ${version("world-atlas")} (Natural Earth 1:110m and 1:10m admin-0 countries, public domain; package ISC)`,
    projection: `d3-geo ${version("d3-geo")} geoEqualEarth, topojson-client ${version("topojson-client")} (ISC)`,
    codes: `i18n-iso-countries ${version("i18n-iso-countries")} (MIT)`,
  },
  width,
  height,
  countries: shapeRows,
  dots: dotRows,
  names,
};
writeFileSync(out, JSON.stringify(map, null, 0) + "\n");
console.log(`${out}: ${shapeRows.length} shapes, ${dotRows.length} dots, ${width}x${height}`);
