/**
 * Contracts, identity and governance (issue 7) end to end, over real processes and sockets: the
 * demo city of `cityledger dev` runs as a child process; the CLI is spawned as a user runs it,
 * with the demo people's key files (keys/<name>.key, passphrase in keys/passphrase); the SDK reads
 * the same node over HTTP to check what the CLI printed. Nothing is mocked.
 *
 * The demo city (src/node/demo-city.ts): four organizations, eight members, a three-seat committee
 * (mayor, health-director, emergency-chief; quorum 50 %, threshold 60 %: two yes votes execute),
 * and, seeded by votes, the service-requests contract (proposal 1) with two permission rules
 * (proposals 2 and 3). Three groups run concurrently, each with its own demo keys (so no two
 * processes race for one key's nonce) and none changing what another reads: the demo city's
 * listings, then a contract's life by committee votes; a service request and its receipt; refusals
 * by identity and permission. The revocation runs last.
 *
 * KEEP_TEST_DIRECTORIES=1 keeps the dev chain's folder (data, keys, receipts) for a look.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { bytesToHex } from "../src/base/bytes.ts";
import { freePorts } from "../src/cli/node-commands.ts";
import { ed25519Suite, readKeyFilePublicKey } from "../src/crypto/index.ts";
import type { Value } from "../src/encoding/index.ts";
import { decodeNonceValue, nonceKeyOf } from "../src/exec/index.ts";
import { loadKeyFile } from "../src/keystore/index.ts";
import { encodeTransaction, keyIdOf, signTransaction } from "../src/ledger/index.ts";
import { DEMO_PEOPLE } from "../src/node/demo-city.ts";
import { parseGenesisFile } from "../src/node/genesis-file.ts";
import { CityLedgerClient, ClientError } from "../src/sdk/client.ts";
import { receiptFromJson, verifyReceipt } from "../src/sdk/receipt.ts";
import { type CliResult, type DevChain, runCli, startDevChain } from "./helpers/cli-process.ts";

const ROOT = resolve(import.meta.dirname, "..");
const COUNTER_ENTRY = join(ROOT, "contracts/counter/index.ts");
/** Version 2 of the counter as a bundled module: the same table, plus a `version` method. */
const COUNTER_V2 = join(ROOT, "test/fixtures/counter-v2.js");
const COMMUNITY = "willow-community";
/** The request the demo seeding opened (and assigned to the community worker). */
const DEMO_REQUEST = `${COMMUNITY}/00000001`;

interface Person {
  readonly file: string;
  readonly keyIdHex: string;
}

/** A readable failure: the command line's output when an expectation on it fails. */
function shown(result: CliResult): string {
  return `exit ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function expectExit(result: CliResult, status: number): void {
  assert.equal(result.status, status, shown(result));
}

/** The proposal id a `contract deploy|upgrade` or `gov propose` printed. */
function proposalIdIn(result: CliResult): string {
  const match = /^proposal (\d+) is open; seats vote with: cityledger gov vote \1 yes/m.exec(result.stdout);
  assert.ok(match !== null, shown(result));
  return match[1]!;
}

async function rejectsWith(promise: Promise<unknown>, code: string, status: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ClientError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    return true;
  });
}

describe("contracts, identity and governance through the CLI and the SDK", { timeout: 300_000 }, () => {
  let directory = "";
  let dev: DevChain | null = null;
  let client: CityLedgerClient;
  let environment: Record<string, string> = {};
  const people = new Map<string, Person>();
  const person = (name: string): Person => {
    const found = people.get(name);
    assert.ok(found !== undefined, `demo person ${name}`);
    return found;
  };
  const cli = (...args: string[]) => runCli(args, environment);
  /** A signed transaction from a demo person's key file. */
  const as = (name: string, ...args: string[]) => runCli([...args, "--key", person(name).file], environment);

  /** Signs with a demo person's key file in process and submits through the SDK; the committed status. */
  async function sendWithSdk(name: string, contract: string, method: string, args: Value) {
    const key = loadKeyFile(person(name).file, environment.CITYLEDGER_PASSPHRASE!, ed25519Suite);
    const status = await client.status();
    const read = await client.readState(nonceKeyOf(ed25519Suite.hash, keyIdOf(ed25519Suite, key.publicKey)));
    const transaction = signTransaction(ed25519Suite, key.privateKey, {
      chainId: status.chainId,
      nonce: read.value === null ? 0n : decodeNonceValue(read.value),
      expiryHeight: BigInt(status.height) + 1_000n,
      contract,
      method,
      args,
    });
    const { hash } = await client.submit(encodeTransaction(transaction));
    return client.waitForCommit(hash, { timeoutMs: 60_000, pollIntervalMs: 100 });
  }

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "cityledger-governance-"));
    const [port] = await freePorts(1);
    dev = await startDevChain(join(directory, "dev"), ["--port", String(port)]);
    const output = dev.output();
    // The banner tells the truth about what was seeded.
    assert.match(
      output,
      /Demo city: 4 organizations, 8 members, a 3-seat committee; seeded 5 notary records,\nthe service-requests contract deployed by committee vote \(3 proposals\), and a service request\./,
    );
    assert.match(output, /^ {2}API {13}http:\/\/127\.0\.0\.1:\d+\/v1\/status$/m);
    assert.match(output, /^ {2}Portal {10}(http:\/\/127\.0\.0\.1:\d+\/|not built .*)$/m);
    const keys = join(directory, "dev", "keys");
    // The banner's CLI hint works as printed: the passphrase file and this node's API.
    assert.ok(
      output.includes(
        `CITYLEDGER_PASSPHRASE=$(cat ${join(keys, "passphrase")}) cityledger gov list --api ${dev.apiUrl}`,
      ),
      output,
    );
    environment = {
      CITYLEDGER_PASSPHRASE: readFileSync(join(keys, "passphrase"), "utf8").trim(),
      CITYLEDGER_API: dev.apiUrl,
    };
    for (const { name } of DEMO_PEOPLE) {
      const file = join(keys, `${name}.key`);
      const { publicKey } = readKeyFilePublicKey(readFileSync(file, "utf8"));
      people.set(name, { file, keyIdHex: bytesToHex(keyIdOf(ed25519Suite, publicKey)) });
    }
    client = new CityLedgerClient({ baseUrl: dev.apiUrl, webSocket: null });
  });

  after(async () => {
    await dev?.stop();
    if (process.env.KEEP_TEST_DIRECTORIES === undefined) rmSync(directory, { recursive: true, force: true });
    else console.log(`kept ${directory}`);
  });

  describe("in parallel", { concurrency: true }, () => {
    describe("the demo city, then a contract deployed, called and upgraded by committee votes", {
      concurrency: 1,
    }, () => {
      let v1CodeHash = "";

      it("shows the demo city: org list, member show, gov list, contract list", async () => {
        const [orgs, mayor, proposals, contracts] = await Promise.all([
          cli("org", "list"),
          cli("member", "show", person("mayor").keyIdHex, "--json"),
          cli("gov", "list"),
          cli("contract", "list", "--json"),
        ]);
        expectExit(orgs, 0);
        assert.deepEqual(
          orgs.stdout
            .trim()
            .split("\n")
            .map((line) => line.split(/\s+/).slice(0, 2)),
          [
            ["city-hall", "active"],
            ["data-bureau", "active"],
            ["emergency-bureau", "active"],
            ["health-commission", "active"],
          ],
        );
        assert.match(orgs.stdout, /^city-hall +active +City Hall \(6 departments\)$/m);

        expectExit(mayor, 0);
        const mayorRecord = JSON.parse(mayor.stdout) as Record<string, unknown>;
        assert.equal(mayorRecord.keyId, person("mayor").keyIdHex);
        assert.equal(mayorRecord.organization, "city-hall");
        assert.equal(mayorRecord.department, "city");
        assert.deepEqual(mayorRecord.roles, ["admin", "official"]);
        assert.equal(mayorRecord.status, "active");
        const attested = mayorRecord.attested as Record<string, unknown>;
        assert.deepEqual([attested.by, attested.height], ["genesis", "1"]);

        expectExit(proposals, 0);
        const lines = proposals.stdout.trim().split("\n");
        assert.equal(lines.length, 4, shown(proposals));
        assert.match(
          lines[0]!,
          /^#1 executed +contract\.deploy +yes 2\/3 +Deploy community service requests$/,
        );
        assert.match(lines[1]!, /^#2 executed +permission\.set +yes 2\/3 +service-requests: manage-catalog/);
        assert.match(lines[2]!, /^#3 executed +permission\.set +yes 2\/3 +service-requests: assign/);
        assert.equal(lines[3], "3 proposal(s)");

        expectExit(contracts, 0);
        const listed = JSON.parse(contracts.stdout) as {
          contracts: Array<Record<string, unknown>>;
          total: string;
        };
        assert.equal(listed.total, "1");
        assert.deepEqual(
          listed.contracts.map(({ name, version, frozen }) => ({ name, version, frozen })),
          [{ name: "service-requests", version: "1", frozen: false }],
        );
        assert.match(String(listed.contracts[0]!.codeHash), /^[0-9a-f]{64}$/);

        // The SDK reads the same: the committee's three seats, one vote each.
        const committee = await client.committee();
        assert.deepEqual(
          (committee.seats as Array<{ keyId: string; weight: string }>).map((seat) => seat.keyId).sort(),
          ["mayor", "health-director", "emergency-chief"].map((name) => person(name).keyIdHex).sort(),
        );
        assert.equal(committee.thresholdPercent, "60");
        assert.equal((await client.organizations()).organizations.length, 4);
        const worker = await client.member(person("community-worker").keyIdHex);
        assert.deepEqual(
          [worker.department, worker.roles, worker.status],
          [COMMUNITY, ["community-worker"], "active"],
        );
      });

      it("deploy opens a proposal; a non-seat vote is refused; two seats execute it; a second vote fails", async () => {
        const deployed = await as(
          "mayor",
          "contract",
          "deploy",
          "counter",
          COUNTER_ENTRY,
          "--title",
          "Deploy the counter",
        );
        expectExit(deployed, 0);
        const uploaded = /^uploading \d+ bytes, code hash ([0-9a-f]{64})$/m.exec(deployed.stdout);
        assert.ok(uploaded !== null, shown(deployed));
        v1CodeHash = uploaded[1]!;
        assert.equal((deployed.stdout.match(/^committed [0-9a-f]{64} at height \d+: ok$/gm) ?? []).length, 2);
        const id = proposalIdIn(deployed);
        assert.equal(id, "4", "the demo seeding made proposals 1 to 3");
        const open = await client.proposal(4n);
        assert.equal(open.status, "open");
        assert.equal(open.kind, "contract.deploy");
        assert.deepEqual(open.payload, { codeHash: v1CodeHash, name: "counter" });
        assert.equal(open.proposer, person("mayor").keyIdHex);
        assert.deepEqual(open.votes, []);
        await rejectsWith(client.contract("counter"), "NOT_FOUND", 404);

        // The data steward (an official and an admin, but no seat) votes beside the first seat,
        // while the proposal is open (once executed, every vote fails GOV_VOTING_CLOSED first).
        const [outsider, mayorVote] = await Promise.all([
          as("data-steward", "gov", "vote", id, "yes"),
          as("mayor", "gov", "vote", id, "yes"),
        ]);
        expectExit(outsider, 2);
        assert.match(outsider.stdout, /: failed \[GOV_NOT_COMMITTEE_MEMBER\] /);
        expectExit(mayorVote, 0);
        assert.match(mayorVote.stdout, /^proposal 4: open$/m);
        const healthVote = await as("health-director", "gov", "vote", id, "yes");
        expectExit(healthVote, 0);
        assert.match(healthVote.stdout, /^proposal 4: executed$/m);

        const executed = await client.proposal(4n);
        assert.equal(executed.status, "executed");
        assert.equal(executed.errorCode, null);
        assert.deepEqual(executed.tally, { yes: "2", no: "0", abstain: "0", total: "3" });
        assert.deepEqual(
          (executed.votes as Array<{ voter: string }>).map((vote) => vote.voter).sort(),
          [person("mayor").keyIdHex, person("health-director").keyIdHex].sort(),
        );
        // A second vote by the same seat, signed with the SDK: included, and failed.
        const again = await sendWithSdk("health-director", "governance", "vote", {
          proposalId: 4n,
          choice: "no",
        });
        assert.equal(again.result.ok, false);
        assert.match(String(again.result.errorCode), /^(GOV_ALREADY_VOTED|GOV_VOTING_CLOSED)$/);
        assert.equal((await client.proposal(4n)).status, "executed");
      });

      it("contract call increments by 3; contract query gets 3 with the gas it used", async () => {
        const called = await as(
          "data-steward",
          "contract",
          "call",
          "counter",
          "increment",
          "--args",
          '{"by": 3}',
          "--json",
        );
        expectExit(called, 0);
        const committed = JSON.parse(called.stdout) as { status: string; result: { ok: boolean } };
        assert.equal(committed.status, "committed");
        assert.equal(committed.result.ok, true);

        const queried = await cli("contract", "query", "counter", "get", "--json");
        expectExit(queried, 0);
        const result = JSON.parse(queried.stdout) as { value: unknown; gasUsed: string };
        assert.equal(result.value, 3);
        assert.match(result.gasUsed, /^[1-9][0-9]*$/);
        assert.ok(BigInt(result.gasUsed) >= 1_000n, "a call costs at least callBase");
        const viaSdk = await client.queryContract("counter", "get", {});
        assert.equal(viaSdk.value, 3n);
        assert.equal(viaSdk.gasUsed, BigInt(result.gasUsed));

        const { events } = await client.events({ contract: "counter", type: "incremented" });
        assert.equal(events.length, 1);
        assert.deepEqual(
          {
            by: (events[0]!.value as { by: unknown }).by,
            value: (events[0]!.value as { value: unknown }).value,
          },
          { by: 3, value: 3 },
        );
      });

      it("upgrade: version 1 stays active without votes; after two votes version 2 is, with both listed", async () => {
        const upgraded = await as(
          "mayor",
          "contract",
          "upgrade",
          "counter",
          COUNTER_V2,
          "--title",
          "Counter version 2",
          "--json",
        );
        expectExit(upgraded, 0);
        const outcome = JSON.parse(upgraded.stdout) as {
          codeHash: string;
          upload: { result: { ok: boolean } };
          proposal: { proposalId: string; status: string; result: { ok: boolean } };
        };
        assert.match(outcome.codeHash, /^[0-9a-f]{64}$/);
        assert.notEqual(outcome.codeHash, v1CodeHash);
        assert.equal(outcome.upload.result.ok, true);
        assert.equal(outcome.proposal.result.ok, true);
        assert.equal(outcome.proposal.proposalId, "5");
        const v2CodeHash = outcome.codeHash;

        const before = await client.contract("counter");
        assert.equal(before.active.version, "1");
        assert.equal(before.active.codeHash, v1CodeHash);
        assert.equal(before.versions.length, 1);
        await rejectsWith(client.queryContract("counter", "version", {}), "EXEC_METHOD_UNKNOWN", 422);

        // Two seats vote, through the SDK this time.
        const votes = await Promise.all(
          ["mayor", "emergency-chief"].map((name) =>
            sendWithSdk(name, "governance", "vote", { proposalId: 5n, choice: "yes" }),
          ),
        );
        assert.deepEqual(
          votes.map((vote) => vote.result.ok),
          [true, true],
        );
        assert.equal((await client.proposal(5n)).status, "executed");

        const shownContract = await cli("contract", "show", "counter", "--json");
        expectExit(shownContract, 0);
        const record = JSON.parse(shownContract.stdout) as {
          active: Record<string, unknown>;
          versions: Array<Record<string, unknown>>;
        };
        assert.deepEqual(record.active, {
          name: "counter",
          version: "2",
          codeHash: v2CodeHash,
          frozen: false,
        });
        assert.deepEqual(
          record.versions.map(({ version, codeHash, proposalId, deployer }) => ({
            version,
            codeHash,
            proposalId,
            deployer,
          })),
          [
            { version: "1", codeHash: v1CodeHash, proposalId: "4", deployer: person("mayor").keyIdHex },
            { version: "2", codeHash: v2CodeHash, proposalId: "5", deployer: person("mayor").keyIdHex },
          ],
        );
        // Version 2 runs, on version 1's state.
        assert.equal((await client.queryContract("counter", "version", {})).value, 2n);
        assert.equal((await client.queryContract("counter", "get", {})).value, 3n);
      });
    });

    describe("a service request, found by key and proved offline", { concurrency: 1 }, () => {
      const requestId = `${COMMUNITY}/00000002`;
      let openedHash = "";

      it("the community worker defines a service; the resident opens a request; events by key find it", async () => {
        const defined = await as(
          "community-worker",
          "contract",
          "call",
          "service-requests",
          "defineService",
          "--args",
          JSON.stringify({ community: COMMUNITY, serviceCode: "graffiti", name: "Graffiti removal" }),
        );
        expectExit(defined, 0);
        assert.match(defined.stdout, /^committed [0-9a-f]{64} at height \d+: ok$/m);

        const opened = await as(
          "resident",
          "contract",
          "call",
          "service-requests",
          "openRequest",
          "--args",
          JSON.stringify({
            community: COMMUNITY,
            serviceCode: "graffiti",
            description: "Paint on the bus shelter",
          }),
          "--json",
        );
        expectExit(opened, 0);
        const committed = JSON.parse(opened.stdout) as { hash: string; result: { ok: boolean } };
        assert.equal(committed.result.ok, true);
        openedHash = committed.hash;

        const request = (await client.queryContract("service-requests", "get", { requestId }))
          .value as Record<string, unknown>;
        assert.equal(request.status, "open");
        assert.equal(request.serviceCode, "graffiti");
        assert.equal(request.openedBy, person("resident").keyIdHex);

        const ours = await client.events({ key: requestId });
        assert.deepEqual(
          ours.events.map((event) => [event.contract, event.type, event.key]),
          [["service-requests", "request.opened", requestId]],
        );
        assert.equal((ours.events[0]!.value as { by: string }).by, person("resident").keyIdHex);
        // The demo's request has its whole history under its key.
        const demo = await client.events({ key: DEMO_REQUEST });
        assert.deepEqual(
          demo.events.map((event) => event.type),
          ["request.opened", "request.assigned"],
        );
      });

      it("receipt get, then verify --checkpoint genesis.json reports the proved outcome and catches forged gas", async () => {
        assert.notEqual(openedHash, "");
        const file = join(directory, "request-receipt.json");
        const fetched = await cli("receipt", "get", openedHash, "--out", file);
        expectExit(fetched, 0);
        const receipt = JSON.parse(readFileSync(file, "utf8")) as { execution: { receipt: string } | null };
        assert.ok(receipt.execution !== null, "the node holds the block's execution receipts");
        const checkpoint = join(directory, "dev", "genesis.json");
        const verified = await cli("verify", file, "--checkpoint", checkpoint);
        expectExit(verified, 0);
        assert.match(
          verified.stdout,
          new RegExp(`^receipt OK: transaction ${openedHash} is entry \\d+ of the log`, "m"),
        );
        const outcome =
          /^outcome proved by the block's receipt root: ok, (\d+) gas, 1 event\(s\): service-requests\.request\.opened$/m.exec(
            verified.stdout,
          );
        assert.ok(outcome !== null, shown(verified));
        // Execution receipt = 02 ‖ txHash(32) ‖ status(1) ‖ u32 0 (no code) ‖ u64 gasUsed ‖ … (PROTOCOL 13.5).
        const gasEnd = (1 + 32 + 1 + 4 + 8) * 2;
        const gasHex = receipt.execution.receipt.slice(gasEnd - 16, gasEnd);
        assert.equal(BigInt(outcome[1]!), BigInt(`0x${gasHex}`), "the gas printed is the receipt's");

        // The same check, in process, refuses a receipt whose gas was forged.
        const { genesis } = parseGenesisFile(JSON.parse(readFileSync(checkpoint, "utf8")));
        const trust = { chainId: genesis.chainId, validatorSet: genesis.validatorSet };
        const forgedGas = (BigInt(`0x${gasHex}`) - 1n).toString(16).padStart(16, "0");
        const forged = {
          ...receipt,
          execution: {
            ...receipt.execution,
            receipt: `${receipt.execution.receipt.slice(0, gasEnd - 16)}${forgedGas}${receipt.execution.receipt.slice(gasEnd)}`,
          },
        };
        assert.deepEqual(verifyReceipt(receiptFromJson(receipt), trust), { ok: true });
        const verdict = verifyReceipt(receiptFromJson(forged), trust);
        assert.equal(verdict.ok, false);
        assert.equal(verdict.ok === false && verdict.code, "RECEIPT_EXECUTION_INVALID");
      });
    });

    describe("refusals by identity and permission", { concurrency: 1 }, () => {
      it("a non-admin's member add fails with MEMBER_NOT_ADMIN", async () => {
        const newcomer = "ab".repeat(32);
        const added = await as(
          "auditor",
          "member",
          "add",
          newcomer,
          "--org",
          "city-hall",
          "--department",
          "audit-office",
          "--roles",
          "auditor",
        );
        expectExit(added, 2);
        assert.match(added.stdout, /: failed \[MEMBER_NOT_ADMIN\] /);
        await rejectsWith(client.member(newcomer), "NOT_FOUND", 404);
      });

      it("a proposal by a key without a seat fails with GOV_NOT_COMMITTEE_MEMBER and opens nothing", async () => {
        const proposed = await as(
          "records-clerk",
          "gov",
          "propose",
          "parameter.set",
          "--payload",
          JSON.stringify({ name: "txGasMax", value: 20_000_000 }),
          "--title",
          "More gas",
        );
        expectExit(proposed, 2);
        assert.match(proposed.stdout, /: failed \[GOV_NOT_COMMITTEE_MEMBER\] /);
        assert.doesNotMatch(proposed.stdout, /is open/);
      });

      it("an official without a role the permission rule lists is refused with PERMISSION_DENIED", async () => {
        const rule = await client.permission("service-requests", "assign");
        assert.deepEqual(rule.roles, ["community-worker"]);
        assert.deepEqual((await client.member(person("records-clerk").keyIdHex)).roles, ["official"]);
        const refused = await as(
          "records-clerk",
          "contract",
          "call",
          "service-requests",
          "assign",
          "--args",
          JSON.stringify({ requestId: DEMO_REQUEST, assigneeKeyIdHex: person("records-clerk").keyIdHex }),
        );
        expectExit(refused, 1);
        assert.match(refused.stderr, /^error: service-requests\.assign: .*\[PERMISSION_DENIED\]$/m);
        // Refused at submission: nothing was included, the request is still the worker's.
        const request = (await client.queryContract("service-requests", "get", { requestId: DEMO_REQUEST }))
          .value as Record<string, unknown>;
        assert.equal(request.assignee, person("community-worker").keyIdHex);
      });
    });
  });

  it("member revoke by the city hall admin: the resident's next transaction is refused at submission", async () => {
    const resident = person("resident").keyIdHex;
    const revoked = await as("mayor", "member", "revoke", resident, "--reason", "moved out of the city");
    expectExit(revoked, 0);
    assert.match(revoked.stdout, /^committed [0-9a-f]{64} at height \d+: ok$/m);

    const [refused, shownMember] = await Promise.all([
      as(
        "resident",
        "contract",
        "call",
        "service-requests",
        "openRequest",
        "--args",
        JSON.stringify({ community: COMMUNITY, serviceCode: "pothole", description: "A hole by the school" }),
      ),
      cli("member", "show", resident, "--json"),
    ]);
    expectExit(refused, 1);
    assert.match(refused.stderr, /^error: the signer's membership was revoked \[IDENTITY_MEMBER_REVOKED\]$/m);
    assert.doesNotMatch(refused.stdout, /committed/);

    expectExit(shownMember, 0);
    const record = JSON.parse(shownMember.stdout) as {
      status: string;
      revoked: { by: string; signer: string; reason: string };
    };
    assert.equal(record.status, "revoked");
    assert.equal(record.revoked.by, "admin");
    assert.equal(record.revoked.signer, person("mayor").keyIdHex);
    assert.equal(record.revoked.reason, "moved out of the city");
    // Queries run with the same identity check.
    await rejectsWith(
      client.queryContract("service-requests", "get", { requestId: DEMO_REQUEST }, resident),
      "IDENTITY_MEMBER_REVOKED",
      422,
    );
  });
});
