/**
 * Seeds the demo city of `cityledger dev` through the same path as any client: signed
 * transactions submitted to the node and committed by consensus. In order:
 *   1. notary records of city documents, signed by the officials whose offices issue them;
 *   2. the `service-requests` contract: bundled, uploaded by a records clerk, proposed for
 *      deployment by the mayor, approved by two of the three committee seats, deployed;
 *   3. its permission rules (who manages a community's catalog, who assigns requests), by vote;
 *   4. a community's catalog and a resident's first request, assigned to a community worker.
 * Every step must succeed; a failure names the step and the error code.
 * @module
 */
import { join } from "node:path";
import { bytesToHex, hexToBytes } from "../base/bytes.ts";
import type { SignatureSuite } from "../crypto/suite.ts";
import type { Value } from "../encoding/value.ts";
import { decodeNonceValue, nonceKeyOf } from "../exec/index.ts";
import { encodeTransaction, signTransaction } from "../ledger/index.ts";
import type { DemoCity, DemoKey } from "../node/demo-city.ts";
import { DEMO_COMMIT_TIMEOUT_MS, DEMO_DOCUMENTS, DEMO_EXPIRY_HEIGHTS } from "../node/demo-data.ts";
import type { NodeService } from "../node/service.ts";
import { bundleContract, CONTRACTS_DIRECTORY } from "./contract-bundle.ts";

/** Which demo person signs the documents of each issuing office. */
const SIGNER_OF_DEPARTMENT: Readonly<Record<string, string>> = {
  "Finance Bureau": "records-clerk",
  "Housing and Construction Bureau": "records-clerk",
  "Health Commission": "health-director",
};

export interface DemoCitySeedResult {
  readonly notaryRecords: number;
  readonly documentHashes: readonly string[];
  readonly contract: { readonly name: string; readonly codeHash: string };
  readonly proposals: number;
  readonly serviceRequest: string;
}

class DemoActor {
  readonly #service: NodeService;
  readonly #suite: SignatureSuite;
  readonly #chainId: string;
  readonly #nonces = new Map<string, bigint>();

  constructor(service: NodeService, suite: SignatureSuite, chainId: string) {
    this.#service = service;
    this.#suite = suite;
    this.#chainId = chainId;
  }

  async #nextNonce(key: DemoKey): Promise<bigint> {
    const id = bytesToHex(key.keyId);
    let nonce = this.#nonces.get(id);
    if (nonce === undefined) {
      const read = await this.#service.readState(nonceKeyOf(this.#suite.hash, key.keyId));
      nonce = read.value === undefined ? 0n : decodeNonceValue(read.value);
    }
    this.#nonces.set(id, nonce + 1n);
    return nonce;
  }

  /** Signs and submits; the transaction's hash. */
  async submit(
    key: DemoKey,
    contract: string,
    method: string,
    args: Value,
    step: string,
  ): Promise<Uint8Array> {
    const transaction = signTransaction(this.#suite, key.privateKey, {
      chainId: this.#chainId,
      nonce: await this.#nextNonce(key),
      expiryHeight: this.#service.status().height + DEMO_EXPIRY_HEIGHTS,
      contract,
      method,
      args,
    });
    const result = await this.#service.submitTransaction(encodeTransaction(transaction));
    if (!result.accepted) throw new Error(`demo city, ${step}: refused ${result.code}: ${result.message}`);
    return result.hash;
  }

  /** Waits for each transaction to commit and to succeed. */
  async committed(hashes: readonly Uint8Array[], step: string): Promise<void> {
    const deadline = Date.now() + DEMO_COMMIT_TIMEOUT_MS;
    for (const hash of hashes) {
      for (;;) {
        const status = await this.#service.transactionStatus(hash);
        if (status.status === "committed") {
          if (!status.result.ok) {
            throw new Error(
              `demo city, ${step}: failed ${status.result.errorCode}: ${status.result.errorMessage}`,
            );
          }
          break;
        }
        if (Date.now() > deadline) throw new Error(`demo city, ${step}: not committed in time`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  }

  async run(key: DemoKey, contract: string, method: string, args: Value, step: string): Promise<void> {
    await this.committed([await this.submit(key, contract, method, args, step)], step);
  }
}

/** Proposes, then votes yes with the first two committee seats until the proposal executes. */
async function decide(
  actor: DemoActor,
  service: NodeService,
  city: DemoCity,
  kind: string,
  payload: Value,
  title: string,
): Promise<bigint> {
  const mayor = city.keyOf("mayor");
  await actor.run(mayor, "governance", "propose", { kind, payload, title }, `propose ${kind}`);
  const page = await service.governance.proposals(1n, 100);
  const proposalId = page.total;
  for (const name of ["mayor", "health-director"]) {
    await actor.run(city.keyOf(name), "governance", "vote", { proposalId, choice: "yes" }, `vote on ${kind}`);
  }
  const proposal = await service.governance.proposal(proposalId);
  if (proposal?.status !== "executed") {
    throw new Error(
      `demo city: proposal ${proposalId} (${kind}) is ${proposal?.status} ${proposal?.errorCode ?? ""}`,
    );
  }
  return proposalId;
}

export async function seedDemoCity(
  service: NodeService,
  city: DemoCity,
  suite: SignatureSuite,
  chainId: string,
): Promise<DemoCitySeedResult> {
  const actor = new DemoActor(service, suite, chainId);

  // 1. Documents, each signed by the official of the issuing office.
  const documentHashes: string[] = [];
  const notaryHashes: Uint8Array[] = [];
  for (const document of DEMO_DOCUMENTS) {
    const signer = city.keyOf(SIGNER_OF_DEPARTMENT[document.department] ?? "emergency-chief");
    const documentHash = suite.hash(new TextEncoder().encode(document.text));
    documentHashes.push(bytesToHex(documentHash));
    notaryHashes.push(
      await actor.submit(
        signer,
        "notary",
        "anchor",
        {
          algorithm: suite.name === "sm2-sm3" ? "sm3" : "sha256",
          documentHash,
          title: document.title,
          documentType: document.documentType,
          description: `${document.department}: ${document.description}`,
        },
        "notary records",
      ),
    );
  }
  await actor.committed(notaryHashes, "notary records");

  // 2. The service-requests contract, deployed by a committee vote.
  const name = "service-requests";
  const bundled = await bundleContract(join(CONTRACTS_DIRECTORY, name, "index.ts"), { suite: suite.name });
  await actor.run(city.keyOf("records-clerk"), "registry", "upload", { code: bundled.code }, "upload code");
  const codeHash = hexToBytes(bundled.codeHashHex);
  let proposals = 0;
  await decide(
    actor,
    service,
    city,
    "contract.deploy",
    { name, codeHash },
    "Deploy community service requests",
  );
  proposals++;

  // 3. Who may manage catalogs and assign requests.
  for (const [permission, roles] of [
    ["manage-catalog", ["community-worker", "official"]],
    ["assign", ["community-worker"]],
  ] as const) {
    await decide(
      actor,
      service,
      city,
      "permission.set",
      { contract: name, name: permission, roles: [...roles] },
      `service-requests: ${permission} for ${roles.join(", ")}`,
    );
    proposals++;
  }

  // 4. A community's catalog, and a resident's request assigned to the community worker.
  const worker = city.keyOf("community-worker");
  const community = "willow-community";
  for (const [serviceCode, serviceName] of [
    ["streetlight", "Broken street light"],
    ["bulky-waste", "Bulky waste pick-up"],
    ["pothole", "Pothole in a road or path"],
  ] as const) {
    await actor.run(worker, name, "defineService", { community, serviceCode, name: serviceName }, "catalog");
  }
  await actor.run(
    city.keyOf("resident"),
    name,
    "openRequest",
    {
      community,
      serviceCode: "streetlight",
      description: "The light at the north gate has been out for three nights.",
    },
    "open a request",
  );
  const serviceRequest = `${community}/00000001`;
  await actor.run(
    worker,
    name,
    "assign",
    { requestId: serviceRequest, assigneeKeyIdHex: bytesToHex(worker.keyId) },
    "assign the request",
  );
  return {
    notaryRecords: DEMO_DOCUMENTS.length,
    documentHashes,
    contract: { name, codeHash: bundled.codeHashHex },
    proposals,
    serviceRequest,
  };
}
