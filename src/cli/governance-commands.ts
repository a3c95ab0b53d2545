/**
 * Commands for contracts, governance and identity, through a node's API:
 *   contract bundle|upload|deploy|upgrade|call|query|show|list
 *   gov propose|vote|close|list|show|committee
 *   org list|show|add-department
 *   member add|revoke|show
 * Changes are signed transactions (deploying and upgrading are proposals the committee votes
 * on); reads are the API's views of the committed state.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import type { Command } from "commander";
import { bytesToHex, hexToBytesOrNull } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { type Value, valueToJson } from "../encoding/index.ts";
import { codeHashFunctionOf } from "../exec/system/registry.ts";
import {
  API_DEFAULT,
  type ApiOption,
  argsOfJson,
  clientOf,
  type SendOptions,
  type SendOutcome,
  send,
  withSendOptions,
} from "./client-commands.ts";
import { bundleContract } from "./contract-bundle.ts";
import { parseInteger, printJson } from "./ui.ts";

const withApi = (command: Command) =>
  command.option("--api <url>", "the node's API", API_DEFAULT).option("--json", "print JSON");

function keyIdOf(text: string): Uint8Array {
  const bytes = /^[0-9a-f]{64}$/.test(text) ? hexToBytesOrNull(text) : null;
  if (bytes === null) throw new CityLedgerError("CLI_ARGS_INVALID", "a key id is 64 lower-case hex digits");
  return bytes;
}

function print(options: { json?: boolean }, value: unknown): void {
  if (options.json === true) printJson(value);
  else console.log(JSON.stringify(value, null, 2));
}

/** The code to upload: a contract's TypeScript entry (bundled here) or an already bundled .js file. */
async function codeOf(
  entry: string,
  suiteName: "ed25519" | "sm2-sm3",
): Promise<{ code: Uint8Array; codeHash: Uint8Array }> {
  const path = resolve(entry);
  if (!existsSync(path)) throw new CityLedgerError("CLI_ARGS_INVALID", `no such file: ${entry}`);
  if (extname(path) === ".js") {
    const code = new Uint8Array(readFileSync(path));
    // The registry's own rule names code (bundleContract uses it too).
    return { code, codeHash: codeHashFunctionOf(suiteName)(code) };
  }
  const bundled = await bundleContract(path, { suite: suiteName });
  return { code: bundled.code, codeHash: hexToBytesOrNull(bundled.codeHashHex)! };
}

async function suiteNameOf(options: ApiOption): Promise<"ed25519" | "sm2-sm3"> {
  return (await clientOf(options).status()).suite as "ed25519" | "sm2-sm3";
}

interface ProposeOptions extends SendOptions {
  readonly title: string;
  readonly description?: string;
}

/** A proposal id argument: a positive decimal (not a crash on `abc`). */
function proposalIdOf(text: string): bigint {
  if (!/^[1-9][0-9]{0,18}$/.test(text))
    throw new CityLedgerError("CLI_ARGS_INVALID", "a proposal id is a number");
  return BigInt(text);
}

/** Proposal pages scanned back from the newest when looking for a proposal by its transaction. */
const PROPOSAL_PAGES_SCANNED_MAX = 10;
const PROPOSAL_PAGE_LIMIT = 100;

/**
 * The id of the proposal a committed `governance.propose` transaction opened: the proposal whose
 * `txHash` is that transaction's (not "the newest one", which another proposer may have made
 * meanwhile). Null when it is not among the newest PROPOSAL_PAGES_SCANNED_MAX pages.
 */
async function proposalIdOfTransaction(options: ApiOption, hash: string): Promise<string | null> {
  const client = clientOf(options);
  const total = BigInt((await client.proposals({ limit: 1 })).total);
  for (let page = 0, last = total; page < PROPOSAL_PAGES_SCANNED_MAX && last >= 1n; page++) {
    const first = last > BigInt(PROPOSAL_PAGE_LIMIT) ? last - BigInt(PROPOSAL_PAGE_LIMIT) + 1n : 1n;
    const { proposals } = await client.proposals({ from: first, limit: PROPOSAL_PAGE_LIMIT });
    const found = proposals.find((proposal) => proposal.txHash === hash);
    if (found !== undefined) return String(found.id);
    last = first - 1n;
  }
  return null;
}

/**
 * Opens a proposal and says which: `proposal N is open` (or, with --json, one document with the
 * transaction's outcome and `proposalId`). A failed or pending propose names no proposal.
 */
async function propose(
  options: ProposeOptions,
  kind: string,
  payload: Value,
  upload?: { readonly codeHash: string; readonly committed: unknown },
): Promise<void> {
  const outcome = await send(
    options,
    "governance",
    "propose",
    {
      kind,
      payload,
      title: options.title,
      ...(options.description === undefined ? {} : { description: options.description }),
    },
    { quiet: options.json === true },
  );
  const proposalId =
    outcome.committed?.result.ok === true ? await proposalIdOfTransaction(options, outcome.hash) : null;
  if (options.json === true) {
    const proposal = { ...(outcome.committed ?? { hash: outcome.hash, status: "pending" }), proposalId };
    printJson(
      upload === undefined ? proposal : { codeHash: upload.codeHash, upload: upload.committed, proposal },
    );
  } else if (proposalId !== null) {
    console.log(
      `proposal ${proposalId} is open; seats vote with: cityledger gov vote ${proposalId} yes --key <seat key>`,
    );
  }
}

export function registerGovernanceCommands(program: Command): void {
  const contract = program
    .command("contract")
    .description("deployed contracts: bundle, upload, deploy by vote, call, query");

  contract
    .command("bundle")
    .description(
      "bundle a contract's TypeScript entry with esbuild and print its code hash (nothing is sent)",
    )
    .argument("<entry>", "e.g. contracts/service-requests/index.ts")
    .option("--suite <suite>", "the chain's suite (names the code hash)", "ed25519")
    .action(async (entry: string, options: { suite: "ed25519" | "sm2-sm3" }) => {
      const bundled = await codeOf(entry, options.suite);
      console.log(`${bundled.code.length} bytes, code hash ${bytesToHex(bundled.codeHash)}`);
    });

  withSendOptions(
    contract
      .command("upload")
      .description(
        "upload contract code (a TypeScript entry, bundled here, or a bundled .js) to the registry",
      )
      .argument("<entry>", "the contract's index.ts or bundled .js"),
  ).action(async (entry: string, options: SendOptions) => {
    const { code, codeHash } = await codeOf(entry, await suiteNameOf(options));
    if (options.json !== true)
      console.log(`uploading ${code.length} bytes, code hash ${bytesToHex(codeHash)}`);
    await send(options, "registry", "upload", { code });
  });

  for (const [verb, kind] of [
    ["deploy", "contract.deploy"],
    ["upgrade", "contract.upgrade"],
  ] as const) {
    withSendOptions(
      contract
        .command(verb)
        .description(
          `propose to ${verb} a contract: uploads the code (if it is new), then opens a proposal for the committee`,
        )
        .argument("<name>", "the contract's name, e.g. service-requests")
        .argument("<entry>", "the contract's index.ts or bundled .js")
        .requiredOption("--title <text>", "the proposal's title")
        .option("--description <text>", "why"),
    ).action(async (name: string, entry: string, options: ProposeOptions) => {
      const { code, codeHash } = await codeOf(entry, await suiteNameOf(options));
      const codeHashHex = bytesToHex(codeHash);
      // Upload unless this exact code is in the registry already (the proposal names it by hash).
      let uploaded: SendOutcome | null = null;
      if ((await clientOf(options).contractCode(codeHash)) === null) {
        if (options.json !== true) console.log(`uploading ${code.length} bytes, code hash ${codeHashHex}`);
        // The proposal names the code, so the upload is waited for even with --no-wait.
        uploaded = await send(
          { ...options, wait: true },
          "registry",
          "upload",
          { code },
          { quiet: options.json === true },
        );
        if (uploaded.committed?.result.ok !== true) {
          if (options.json === true) printJson({ codeHash: codeHashHex, upload: uploaded.committed });
          return; // send set the exit code 2 and, without --json, printed why
        }
      } else if (options.json !== true) console.log(`code ${codeHashHex} is uploaded already`);
      await propose(
        options,
        kind,
        { name, codeHash },
        { codeHash: codeHashHex, committed: uploaded?.committed ?? null },
      );
    });
  }

  withSendOptions(
    contract
      .command("call")
      .description("call a contract method in a signed transaction")
      .argument("<name>", "contract")
      .argument("<method>", "method")
      .option("--args <json>", 'arguments in the value JSON form; bytes as {"$bytes": "<hex>"}', "{}"),
  ).action(async (name: string, method: string, options: SendOptions & { args: string }) => {
    await send(options, name, method, argsOfJson(options.args));
  });

  withApi(
    contract
      .command("query")
      .description("run a contract method read-only at the committed state (nothing is written)")
      .argument("<name>", "contract")
      .argument("<method>", "method")
      .option("--args <json>", "arguments in the value JSON form", "{}")
      .option("--caller <keyId>", "run as this key id (default: anonymous)"),
  ).action(async (name: string, method: string, options: ApiOption & { args: string; caller?: string }) => {
    const result = await clientOf(options).queryContract(
      name,
      method,
      argsOfJson(options.args),
      options.caller === undefined ? undefined : keyIdOf(options.caller),
    );
    print(options, { value: valueToJson(result.value), gasUsed: result.gasUsed.toString() });
  });

  withApi(
    contract.command("show").description("a contract's active version and every version").argument("<name>"),
  ).action(async (name: string, options: ApiOption) =>
    print(options, await clientOf(options).contract(name)),
  );
  withApi(contract.command("list").description("deployed contracts")).action(async (options: ApiOption) =>
    print(options, await clientOf(options).contracts()),
  );

  const gov = program.command("gov").description("the governance committee: proposals and votes");
  withSendOptions(
    gov
      .command("propose")
      .description(
        "open a proposal: org.add|suspend|reinstate|remove|setAdmins, validator.set, contract.deploy|upgrade|freeze|unfreeze, parameter.set, permission.set|clear, committee.set",
      )
      .argument("<kind>", "e.g. validator.set")
      .requiredOption(
        "--payload <json>",
        "the kind's payload in the value JSON form (docs/PROTOCOL.md 13.10)",
      )
      .requiredOption("--title <text>", "the proposal's title")
      .option("--description <text>", "why"),
  ).action(async (kind: string, options: ProposeOptions & { payload: string }) => {
    await propose(options, kind, argsOfJson(options.payload, "--payload"));
  });
  withSendOptions(
    gov
      .command("vote")
      .description("vote on a proposal with a committee seat's key (an accepting vote executes it)")
      .argument("<id>", "proposal id")
      .argument("<choice>", "yes, no or abstain"),
  ).action(async (id: string, choice: string, options: SendOptions) => {
    const proposalId = proposalIdOf(id);
    if (!["yes", "no", "abstain"].includes(choice)) {
      throw new CityLedgerError("CLI_ARGS_INVALID", "the choice is yes, no or abstain");
    }
    const outcome = await send(options, "governance", "vote", { proposalId, choice });
    if (options.json !== true && outcome.committed !== null) {
      const proposal = await clientOf(options).proposal(proposalId);
      console.log(
        `proposal ${id}: ${String(proposal.status)}${proposal.errorCode === null || proposal.errorCode === undefined ? "" : ` [${String(proposal.errorCode)}]`}`,
      );
    }
  });
  withSendOptions(
    gov
      .command("close")
      .description("record a proposal past its deadline as expired")
      .argument("<id>", "proposal id"),
  ).action(async (id: string, options: SendOptions) => {
    await send(options, "governance", "close", { proposalId: proposalIdOf(id) });
  });
  withApi(
    gov
      .command("list")
      .description("proposals, oldest first")
      .option("--from <id>", "first proposal id", "1")
      .option("--limit <n>", "at most this many (1 to 100)", parseInteger("limit", 1, 100), 50),
  ).action(async (options: ApiOption & { from: string; limit: number }) => {
    const page = await clientOf(options).proposals({
      from: proposalIdOf(options.from),
      limit: options.limit,
    });
    if (options.json === true) printJson(page);
    else {
      for (const proposal of page.proposals) {
        const tally = proposal.tally as { yes: string; no: string; abstain: string; total: string };
        console.log(
          `#${proposal.id} ${String(proposal.status).padEnd(8)} ${String(proposal.kind).padEnd(18)} yes ${tally.yes}/${tally.total}  ${String(proposal.title)}`,
        );
      }
      console.log(`${page.total} proposal(s)${page.next === null ? "" : `; next page: --from ${page.next}`}`);
    }
  });
  withApi(gov.command("show").description("a proposal with its votes").argument("<id>")).action(
    async (id: string, options: ApiOption) =>
      print(options, await clientOf(options).proposal(proposalIdOf(id))),
  );
  withApi(gov.command("committee").description("the committee in office")).action(
    async (options: ApiOption) => print(options, await clientOf(options).committee()),
  );

  const org = program.command("org").description("organizations and their departments");
  withApi(org.command("list").description("every organization with its departments")).action(
    async (options: ApiOption) => {
      const { organizations } = await clientOf(options).organizations();
      if (options.json === true) printJson(organizations);
      else
        for (const organization of organizations) {
          const departments = organization.departments as Array<{ id: string }>;
          console.log(
            `${String(organization.id).padEnd(24)} ${String(organization.status).padEnd(10)} ${String(organization.name)} (${departments.length} departments)`,
          );
        }
    },
  );
  withApi(org.command("show").description("one organization").argument("<id>")).action(
    async (id: string, options: ApiOption) => print(options, await clientOf(options).organization(id)),
  );
  withSendOptions(
    org
      .command("add-department")
      .description("add a department to your organization (as one of its admins)")
      .argument("<organization>")
      .argument("<id>", "the department's id, e.g. willow-community")
      .requiredOption("--name <text>", "its name")
      .requiredOption("--level <level>", "city, district, street, community, agency or department")
      .option("--parent <id>", "the department above it"),
  ).action(
    async (
      organization: string,
      id: string,
      options: SendOptions & { name: string; level: string; parent?: string },
    ) => {
      await send(options, "org", "addDepartment", {
        organization,
        id,
        name: options.name,
        level: options.level,
        ...(options.parent === undefined ? {} : { parent: options.parent }),
      });
    },
  );

  const member = program.command("member").description("members: keys attested by an organization's admin");
  withSendOptions(
    member
      .command("add")
      .description("attest (as an admin of the organization) that a key has roles in a department")
      .argument("<keyId>", "the member's key id (cityledger keys show)")
      .requiredOption("--org <id>", "organization")
      .requiredOption("--department <id>", "department")
      .requiredOption("--roles <list>", "comma-separated, e.g. official,data-steward")
      .option("--expires <date>", "when the membership ends (ISO 8601)")
      .option("--label <text>", "a display name (no personal data)"),
  ).action(
    async (
      keyId: string,
      options: SendOptions & {
        org: string;
        department: string;
        roles: string;
        expires?: string;
        label?: string;
      },
    ) => {
      let expiresAtMs: bigint | undefined;
      if (options.expires !== undefined) {
        const time = Date.parse(options.expires);
        if (Number.isNaN(time)) throw new CityLedgerError("CLI_ARGS_INVALID", "--expires is not a date");
        expiresAtMs = BigInt(time);
      }
      await send(options, "member", "add", {
        keyId: keyIdOf(keyId),
        organization: options.org,
        department: options.department,
        roles: options.roles
          .split(",")
          .map((role) => role.trim())
          .filter((role) => role !== "")
          .sort(),
        ...(expiresAtMs === undefined ? {} : { expiresAtMs }),
        ...(options.label === undefined ? {} : { label: options.label }),
      });
    },
  );
  withSendOptions(
    member
      .command("revoke")
      .description("revoke a membership at once (its key's transactions are refused from the next one on)")
      .argument("<keyId>")
      .option("--reason <text>", "why"),
  ).action(async (keyId: string, options: SendOptions & { reason?: string }) => {
    await send(options, "member", "revoke", {
      keyId: keyIdOf(keyId),
      ...(options.reason === undefined ? {} : { reason: options.reason }),
    });
  });
  withApi(member.command("show").description("a key's membership and its status").argument("<keyId>")).action(
    async (keyId: string, options: ApiOption) =>
      print(options, await clientOf(options).member(keyIdOf(keyId))),
  );
}
