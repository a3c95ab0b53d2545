/**
 * The demo city of `cityledger dev` (and so `npm start`): organizations with a department tree
 * (city, district, street, community), officials and residents attested as members with roles,
 * and a three-seat governance committee. Its people's keys are real key files in the dev data
 * directory (`keys/<name>.key`, sealed with the passphrase in `keys/passphrase`), so the CLI
 * and the portal can act as any of them. Development only: a real city writes its genesis
 * initial state from its own registry of departments and officials.
 * @module
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SignatureSuite } from "../crypto/suite.ts";
import type { ValueMap } from "../encoding/value.ts";
import { governanceInitialSection } from "../exec/system/governance.ts";
import { registryInitialSection } from "../exec/system/registry.ts";
import { loadKeyFile, saveKeyFile } from "../keystore/index.ts";
import { keyIdOf } from "../ledger/key-id.ts";
import type { ValidatorSet } from "../ledger/validator-set.ts";

/** Seven days: how long the demo committee's proposals stay open. */
export const DEMO_VOTING_PERIOD_MS = 7n * 24n * 60n * 60n * 1000n;

export interface DemoPerson {
  readonly name: string;
  readonly label: string;
  readonly organization: string;
  readonly department: string;
  readonly roles: readonly string[];
  /** Holds a seat on the governance committee. */
  readonly committee: boolean;
  /** Administers its organization (attests members). */
  readonly admin: boolean;
}

export const DEMO_PEOPLE: readonly DemoPerson[] = [
  {
    name: "mayor",
    label: "Mayor's office",
    organization: "city-hall",
    department: "city",
    roles: ["admin", "official"],
    committee: true,
    admin: true,
  },
  {
    name: "health-director",
    label: "Director, Health Commission",
    organization: "health-commission",
    department: "hq",
    roles: ["admin", "official"],
    committee: true,
    admin: true,
  },
  {
    name: "emergency-chief",
    label: "Chief, Emergency Management Bureau",
    organization: "emergency-bureau",
    department: "hq",
    roles: ["admin", "emergency-officer", "official"],
    committee: true,
    admin: true,
  },
  {
    name: "data-steward",
    label: "Data steward, Big Data Bureau",
    organization: "data-bureau",
    department: "hq",
    roles: ["admin", "data-steward", "official"],
    committee: false,
    admin: true,
  },
  {
    name: "records-clerk",
    label: "Records clerk, City Hall",
    organization: "city-hall",
    department: "records-office",
    roles: ["official"],
    committee: false,
    admin: false,
  },
  {
    name: "community-worker",
    label: "Community worker, Willow Community",
    organization: "city-hall",
    department: "willow-community",
    roles: ["community-worker"],
    committee: false,
    admin: false,
  },
  {
    name: "auditor",
    label: "City auditor",
    organization: "city-hall",
    department: "audit-office",
    roles: ["auditor"],
    committee: false,
    admin: false,
  },
  {
    name: "resident",
    label: "Resident, Willow Community",
    organization: "city-hall",
    department: "willow-community",
    roles: ["resident"],
    committee: false,
    admin: false,
  },
];

const ORGANIZATIONS = [
  {
    id: "city-hall",
    name: "City Hall",
    departments: [
      { id: "city", name: "City government", level: "city" },
      { id: "records-office", name: "Records Office", level: "agency", parent: "city" },
      { id: "audit-office", name: "Audit Office", level: "agency", parent: "city" },
      { id: "eastgate-district", name: "Eastgate District", level: "district", parent: "city" },
      { id: "riverside-street", name: "Riverside Street", level: "street", parent: "eastgate-district" },
      { id: "willow-community", name: "Willow Community", level: "community", parent: "riverside-street" },
    ],
  },
  {
    id: "health-commission",
    name: "Health Commission",
    departments: [
      { id: "hq", name: "Headquarters", level: "agency" },
      {
        id: "eastgate-health-station",
        name: "Eastgate Community Health Station",
        level: "department",
        parent: "hq",
      },
    ],
  },
  {
    id: "emergency-bureau",
    name: "Emergency Management Bureau",
    departments: [
      { id: "hq", name: "Headquarters", level: "agency" },
      { id: "north-depot", name: "North Emergency Supplies Depot", level: "department", parent: "hq" },
    ],
  },
  {
    id: "data-bureau",
    name: "Big Data Bureau",
    departments: [{ id: "hq", name: "Headquarters", level: "agency" }],
  },
] as const;

export interface DemoKey {
  readonly person: DemoPerson;
  readonly file: string;
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly keyId: Uint8Array;
}

export interface DemoCity {
  readonly keys: readonly DemoKey[];
  /** The file holding the passphrase of every demo key. */
  readonly passphraseFile: string;
  keyOf(name: string): DemoKey;
}

/** The demo people's keys in `directory/keys`, created on first use and read afterwards. */
export function demoCityKeys(directory: string, suite: SignatureSuite): DemoCity {
  const folder = join(directory, "keys");
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const passphraseFile = join(folder, "passphrase");
  if (!existsSync(passphraseFile)) {
    writeFileSync(passphraseFile, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
  }
  const passphrase = readFileSync(passphraseFile, "utf8").trim();
  const keys = DEMO_PEOPLE.map((person) => {
    const file = join(folder, `${person.name}.key`);
    if (!existsSync(file))
      saveKeyFile(file, suite, suite.keyPairFromSeed(randomBytes(32)).privateKey, passphrase);
    const opened = loadKeyFile(file, passphrase, suite);
    return {
      person,
      file,
      privateKey: opened.privateKey,
      publicKey: opened.publicKey,
      keyId: keyIdOf(suite, opened.publicKey),
    };
  });
  return {
    keys,
    passphraseFile,
    keyOf: (name) => {
      const key = keys.find((candidate) => candidate.person.name === name);
      if (key === undefined) throw new Error(`no demo person named ${name}`);
      return key;
    },
  };
}

/** The genesis initial state of the demo city (sections of PROTOCOL 13.9–13.10). */
export function demoCityInitialState(city: DemoCity, validatorSet: ValidatorSet): ValueMap {
  const adminsOf = (organization: string) =>
    city.keys
      .filter((key) => key.person.admin && key.person.organization === organization)
      .map((key) => key.keyId);
  return {
    org: {
      organizations: ORGANIZATIONS.map((organization) => ({
        id: organization.id,
        name: organization.name,
        admins: adminsOf(organization.id),
        departments: organization.departments.map((department) => ({ ...department })),
      })),
    },
    member: {
      members: city.keys.map((key) => ({
        keyId: key.keyId,
        organization: key.person.organization,
        department: key.person.department,
        roles: [...key.person.roles].sort(),
        label: key.person.label,
      })),
    },
    permission: {
      rules: [
        // Uploading contract code is for officials; deploying it takes a committee vote anyway.
        { contract: "registry", name: "upload", roles: ["official"] },
      ],
    },
    governance: governanceInitialSection({
      committee: {
        seats: city.keys
          .filter((key) => key.person.committee)
          .map((key) => ({ keyId: key.keyId, weight: 1n }))
          .sort((left, right) => Buffer.compare(left.keyId, right.keyId)),
        quorumPercent: 50n,
        thresholdPercent: 60n,
        votingPeriodMs: DEMO_VOTING_PERIOD_MS,
      },
      validatorSet,
    }),
    registry: registryInitialSection(validatorSet.suite),
  };
}
