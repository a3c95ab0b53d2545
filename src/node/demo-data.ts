/**
 * Demo data for `cityledger dev` (and so `npm start`): real, signed notary records of the kinds
 * of documents a city anchors, from three departments' keys, submitted through the same path as
 * any client's transactions and committed by consensus. Seeded once per data directory.
 * @module
 */
import { randomBytes } from "node:crypto";
import { bytesToHex } from "../base/bytes.ts";
import type { SignatureSuite } from "../crypto/suite.ts";
import { encodeTransaction, signTransaction } from "../ledger/index.ts";
import type { NodeService } from "./service.ts";

/** How long seeding waits for its records to commit before it reports a failure. */
export const DEMO_COMMIT_TIMEOUT_MS = 60_000;
export const DEMO_EXPIRY_HEIGHTS = 1_000n;

interface DemoDocument {
  readonly department: string;
  readonly title: string;
  readonly documentType: string;
  readonly description: string;
  readonly text: string;
}

/** Documents whose text is hashed (the text itself stays off chain, as with any notary record). */
export const DEMO_DOCUMENTS: readonly DemoDocument[] = [
  {
    department: "Finance Bureau",
    title: "2027 Municipal Budget Resolution",
    documentType: "policy",
    description: "Budget resolution adopted by the city council, with the capital plan annex.",
    text: "Resolution 2026-114: the city adopts the 2027 budget of 4.82 billion, capital plan annex A.",
  },
  {
    department: "Housing and Construction Bureau",
    title: "Building permit BP-2026-0412, 18 Riverside Road",
    documentType: "permit",
    description: "Permit for a four-storey community health station with barrier-free access.",
    text: "Permit BP-2026-0412 issued for 18 Riverside Road; conditions 1-9 attached; valid 24 months.",
  },
  {
    department: "Health Commission",
    title: "Community health station inspection report, Eastgate district",
    documentType: "report",
    description: "Quarterly inspection: cold chain, staffing, appointment system.",
    text: "Inspection 2026-Q4-EG-07: cold chain compliant; staffing 12 of 12; appointment backlog 3 days.",
  },
  {
    department: "Finance Bureau",
    title: "City council minutes, 18 November 2026",
    documentType: "minutes",
    description: "Minutes of the regular session, items 1 to 14.",
    text: "Minutes of the regular session of 18 November 2026: present 31 of 35 members; items 1-14.",
  },
  {
    department: "Health Commission",
    title: "Emergency supplies warehouse certificate, North depot",
    documentType: "certificate",
    description: "Rights-confirmation certificate of the North depot emergency supplies data asset.",
    text: "Certificate EM-DA-2026-031: the North depot inventory dataset is held by the Emergency Bureau.",
  },
];

export interface DemoSeedResult {
  readonly submitted: number;
  readonly committed: number;
  readonly documentHashes: readonly string[];
}

/** Submits the demo records and waits until they are committed. */
export async function seedDemoData(
  service: NodeService,
  suite: SignatureSuite,
  chainId: string,
): Promise<DemoSeedResult> {
  const departments = new Map<string, { privateKey: Uint8Array; nonce: bigint }>();
  const hashes: Uint8Array[] = [];
  const documentHashes: string[] = [];
  const height = service.status().height;
  for (const document of DEMO_DOCUMENTS) {
    let department = departments.get(document.department);
    if (department === undefined) {
      department = { privateKey: suite.keyPairFromSeed(randomBytes(32)).privateKey, nonce: 0n };
      departments.set(document.department, department);
    }
    const documentHash = suite.hash(new TextEncoder().encode(document.text));
    documentHashes.push(bytesToHex(documentHash));
    const transaction = signTransaction(suite, department.privateKey, {
      chainId,
      nonce: department.nonce,
      expiryHeight: height + DEMO_EXPIRY_HEIGHTS,
      contract: "notary",
      method: "anchor",
      args: {
        algorithm: suite.name === "sm2-sm3" ? "sm3" : "sha256",
        documentHash,
        title: document.title,
        documentType: document.documentType,
        description: `${document.department}: ${document.description}`,
      },
    });
    department.nonce += 1n;
    const result = await service.submitTransaction(encodeTransaction(transaction));
    if (!result.accepted) throw new Error(`demo record refused: ${result.code}: ${result.message}`);
    hashes.push(result.hash);
  }
  const deadline = Date.now() + DEMO_COMMIT_TIMEOUT_MS;
  let committed = 0;
  for (const hash of hashes) {
    for (;;) {
      const status = await service.transactionStatus(hash);
      if (status.status === "committed") {
        committed++;
        break;
      }
      if (Date.now() > deadline) throw new Error("demo records were not committed in time");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { submitted: hashes.length, committed, documentHashes };
}
