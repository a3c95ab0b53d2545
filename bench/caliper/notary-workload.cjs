"use strict";
/**
 * Caliper workload module: notary anchors (a document's SHA-256 with a title and a type), the
 * record of `npm run bench`. Caliper calls createWorkloadModule() per worker and round, then
 * initializeWorkloadModule(...), submitTransaction() at the round's rate, cleanupWorkloadModule().
 * It only needs the connector's sendRequests, so it does not depend on Caliper's
 * WorkloadModuleBase (same methods). Round argument `recordsPerRequest` (default 1) sends that
 * many records in one request (the connector posts them as one batch). Caliper counts each record
 * as a transaction (one status each): its tps and transactionLoad are records, not requests.
 */
const { createHash } = require("node:crypto");

class NotaryWorkload {
  constructor() {
    this.workerIndex = -1;
    this.roundIndex = -1;
    this.roundArguments = {};
    this.sutAdapter = undefined;
    this.serial = 0;
  }

  async initializeWorkloadModule(
    workerIndex,
    totalWorkers,
    roundIndex,
    roundArguments,
    sutAdapter,
    sutContext,
  ) {
    this.workerIndex = workerIndex;
    this.totalWorkers = totalWorkers;
    this.roundIndex = roundIndex;
    this.roundArguments = roundArguments ?? {};
    this.sutAdapter = sutAdapter;
    this.sutContext = sutContext;
  }

  nextRequest() {
    const serial = `${process.pid}/${this.workerIndex}/${this.roundIndex}/${this.serial++}`;
    return {
      contract: "notary",
      method: "anchor",
      args: {
        algorithm: "sha256",
        documentHash: `0x${createHash("sha256").update(`caliper/${serial}`).digest("hex")}`,
        title: `caliper document ${serial}`,
        documentType: "report",
      },
      readOnly: false,
    };
  }

  async submitTransaction() {
    const count = Math.max(1, Math.min(500, Number(this.roundArguments.recordsPerRequest ?? 1)));
    const requests =
      count === 1 ? this.nextRequest() : Array.from({ length: count }, () => this.nextRequest());
    return this.sutAdapter.sendRequests(requests);
  }

  async cleanupWorkloadModule() {}
}

function createWorkloadModule() {
  return new NotaryWorkload();
}

module.exports.createWorkloadModule = createWorkloadModule;
module.exports.NotaryWorkload = NotaryWorkload;
