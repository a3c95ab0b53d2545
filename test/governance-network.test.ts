/**
 * Governance changes the validator set of a running network: four validator processes on
 * loopback, and a fifth department's node that the genesis document does not admit: the four
 * refuse its connections. The committee (one seat, held by this test) proposes and accepts
 * `validator.set` for the fifth node's key together with its node key; the four then admit it,
 * it syncs the chain, and from two heights after the deciding block
 * the fifth node's precommits are in the certificates, headers name the new set, and with one of
 * the original validators killed the chain still commits — which needs the fifth node's vote
 * (4 of 5 equal powers is the smallest quorum above 2/3).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts, TESTNET_CONSENSUS } from "../src/cli/node-commands.ts";
import { ed25519Suite } from "../src/crypto/index.ts";
import { governanceInitialSection } from "../src/exec/system/governance.ts";
import { encodeTransaction, keyIdOf, signTransaction } from "../src/ledger/index.ts";
import { writeNetworkLayout } from "../src/node/network-layout.ts";
import { CityLedgerClient } from "../src/sdk/client.ts";
import type { BlockJson, ValidatorsJson } from "../src/sdk/wire.ts";
import { eventually, getJson, heightOf, NodeProcess } from "./helpers/node-process.ts";

const VALIDATORS = 4;
const suite = ed25519Suite;

describe("governance adds a fifth validator to a four-validator network", { timeout: 240_000 }, () => {
  let directory: string;
  let nodes: NodeProcess[] = [];
  let fifth: NodeProcess;
  let fifthPublicKeyHex: string;
  let chainId: string;
  const committee = suite.keyPairFromSeed(randomBytes(32));
  let committeeNonce = 0n;

  async function sendAsCommittee(
    client: CityLedgerClient,
    method: string,
    args: Parameters<typeof signTransaction>[2]["args"],
  ) {
    const transaction = signTransaction(suite, committee.privateKey, {
      chainId,
      nonce: committeeNonce,
      expiryHeight: 1_000_000n,
      contract: "governance",
      method,
      args,
    });
    committeeNonce += 1n;
    const submitted = await client.submit(encodeTransaction(transaction));
    const committed = await client.waitForCommit(submitted.hash, { timeoutMs: 60_000, pollIntervalMs: 100 });
    assert.equal(committed.status, "committed");
    assert.ok(committed.result.ok, `governance.${method} failed: ${committed.result.errorCode}`);
    return committed;
  }

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "cityledger-governance-network-"));
    const ports = await freePorts((VALIDATORS + 1) * 2);
    const layout = writeNetworkLayout({
      out: directory,
      validators: VALIDATORS,
      observers: 1,
      chainId: "governance-network-test",
      suite: "ed25519",
      host: "127.0.0.1",
      p2pPortBase: 1,
      apiPortBase: 1,
      p2pPorts: ports.slice(0, VALIDATORS + 1),
      apiPorts: ports.slice(VALIDATORS + 1),
      genesisTimeMs: BigInt(Date.now()),
      consensus: TESTNET_CONSENSUS,
      initialState: (validatorSet) => ({
        governance: governanceInitialSection({
          committee: {
            seats: [{ keyId: keyIdOf(suite, committee.publicKey), weight: 1n }],
            quorumPercent: 100n,
            thresholdPercent: 100n,
            votingPeriodMs: 3_600_000n,
          },
          validatorSet,
        }),
      }),
    });
    chainId = layout.genesis.chainId;
    // The fifth department's node is not in the genesis document: only governance can admit it.
    const fifthNode = layout.nodes[VALIDATORS]!;
    const genesis = JSON.parse(readFileSync(join(directory, "genesis.json"), "utf8")) as {
      nodes: Array<{ name: string; nodeKey: string }>;
    };
    genesis.nodes = genesis.nodes.filter((node) => node.nodeKey !== fifthNode.nodeKey);
    for (const folder of [directory, ...layout.nodes.map((node) => node.directory)]) {
      writeFileSync(join(folder, "genesis.json"), `${JSON.stringify(genesis, null, 2)}\n`);
    }
    const processes = layout.nodes.map((node) => new NodeProcess(node.name, node.directory, node.apiUrl));
    nodes = processes.slice(0, VALIDATORS);
    fifth = processes[VALIDATORS]!;
    // Ed25519 chains sign blocks with the node key.
    fifthPublicKeyHex = layout.nodes[VALIDATORS]!.nodeKey;
    await Promise.all(processes.map((node) => node.start()));
  });

  after(async () => {
    await Promise.all([...nodes, fifth].map((node) => node?.kill("SIGKILL")));
    if (process.env.KEEP_TEST_DIRECTORIES === undefined) rmSync(directory, { recursive: true, force: true });
    else console.log(`# kept ${directory}`);
  });

  it("a committee vote admits the fifth node and adds its key; it signs from two heights after the decision", async () => {
    assert.equal(await heightOf(fifth), 0n, "a node the genesis does not admit gets no blocks");
    const client = new CityLedgerClient({ baseUrl: nodes[0]!.apiUrl, webSocket: null });
    const before = await getJson<ValidatorsJson>(`${nodes[0]!.apiUrl}/v1/validators`);
    assert.equal(before.validatorSet.validators.length, VALIDATORS);
    assert.ok(!before.validatorSet.validators.some((validator) => validator.publicKey === fifthPublicKeyHex));

    await sendAsCommittee(client, "propose", {
      kind: "validator.set",
      payload: {
        publicKey: Buffer.from(fifthPublicKeyHex, "hex"),
        power: 10n,
        nodeName: "node-5",
        nodeKey: Buffer.from(fifthPublicKeyHex, "hex"),
      },
      title: "Admit the fifth department's node as a validator",
    });
    const decided = await sendAsCommittee(client, "vote", { proposalId: 1n, choice: "yes" });
    const decidedHeight = BigInt(decided.height);
    const proposal = await client.proposal(1n);
    assert.equal(proposal.status, "executed");

    // Header H+1 announces the new set; H+2 is the first height it signs.
    const firstSigned = decidedHeight + 2n;
    await eventually("the chain passes the first height the new set signs", 60_000, async () => {
      return (await heightOf(nodes[0]!)) >= firstSigned + 1n;
    });
    const atDecision = await getJson<ValidatorsJson>(
      `${nodes[0]!.apiUrl}/v1/validators?height=${decidedHeight + 1n}`,
    );
    const afterChange = await getJson<ValidatorsJson>(
      `${nodes[0]!.apiUrl}/v1/validators?height=${firstSigned}`,
    );
    assert.equal(atDecision.validatorSet.validators.length, VALIDATORS, "the old set still signs H+1");
    assert.equal(afterChange.validatorSet.validators.length, VALIDATORS + 1, "the new set signs H+2");
    const fifthIndex = afterChange.validatorSet.validators.findIndex(
      (validator) => validator.publicKey === fifthPublicKeyHex,
    );
    assert.ok(fifthIndex >= 0);
    const announcing = await getJson<BlockJson>(`${nodes[0]!.apiUrl}/v1/blocks/${decidedHeight + 1n}`);
    assert.equal(announcing.header.nextValidatorSetHash, afterChange.validatorSetHash);
    assert.equal(announcing.header.validatorSetHash, atDecision.validatorSetHash);

    // Every node, the fifth included, agrees on the new set.
    for (const node of [...nodes, fifth]) {
      const set = await getJson<ValidatorsJson>(`${node.apiUrl}/v1/validators?height=${firstSigned}`);
      assert.equal(set.validatorSetHash, afterChange.validatorSetHash, `${node.name} disagrees on the set`);
    }

    // The fifth node's precommits appear in certificates of the new set's heights.
    await eventually("a certificate carries the fifth validator's precommit", 60_000, async () => {
      const height = await heightOf(nodes[0]!);
      for (let probe = firstSigned; probe <= height; probe++) {
        const block = await getJson<BlockJson>(`${nodes[0]!.apiUrl}/v1/blocks/${probe}`);
        if (block.certificate.signatures.some((entry) => entry.validatorIndex === fifthIndex)) return true;
      }
      return false;
    });
    const status = await getJson<{ validator: boolean }>(`${fifth.apiUrl}/v1/status`);
    assert.equal(status.validator, true, "the fifth node reports that it validates");
  });

  it("with one original validator killed, the chain commits only thanks to the fifth's vote", async () => {
    await nodes[3]!.kill("SIGKILL");
    const start = await heightOf(nodes[0]!);
    await eventually("the chain keeps committing with 4 of 5 validators", 60_000, async () => {
      return (await heightOf(nodes[0]!)) >= start + 3n;
    });
    const height = await heightOf(nodes[0]!);
    const block = await getJson<BlockJson>(`${nodes[0]!.apiUrl}/v1/blocks/${height}`);
    const set = await getJson<ValidatorsJson>(`${nodes[0]!.apiUrl}/v1/validators?height=${height}`);
    const fifthIndex = set.validatorSet.validators.findIndex(
      (validator) => validator.publicKey === fifthPublicKeyHex,
    );
    assert.equal(set.validatorSet.validators.length, VALIDATORS + 1);
    // Four signers of five: the quorum (> 2/3 of 50 power) needs 40, so the fifth's 10 is in it.
    assert.equal(block.certificate.signatures.length, VALIDATORS);
    assert.ok(block.certificate.signatures.some((entry) => entry.validatorIndex === fifthIndex));
    assert.equal((await heightOf(fifth)) >= height - 1n, true, "the fifth node follows the head");
  });
});
