// Copies the browser files that package.json's "vendor" names (destination name: path under
// node_modules) into one directory, replacing what was there. Run after `npm ci`:
//
//     node copy-vendor.mjs ../../uptime_graphql/static/vendor
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const destination = process.argv[2];
if (!destination) {
  console.error("usage: node copy-vendor.mjs DESTINATION");
  process.exit(2);
}
const here = new URL(".", import.meta.url).pathname;
const { vendor } = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
rmSync(destination, { recursive: true, force: true });
mkdirSync(destination, { recursive: true });
for (const [name, source] of Object.entries(vendor)) {
  copyFileSync(join(here, "node_modules", source), join(destination, name));
}
console.log(`copied ${Object.keys(vendor).length} files into ${destination}`);
