import { writeFileSync } from "node:fs";
import { buildLedgerVectors } from "./ledger-vectors.ts";

const path = new URL("./ledger.json", import.meta.url);
writeFileSync(path, `${JSON.stringify(buildLedgerVectors(), null, 2)}\n`);
console.log(`wrote ${path.pathname}`);
