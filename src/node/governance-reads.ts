/**
 * Reads of identity, governance and the contract registry at the committed state, for the API:
 * organizations with their departments, members with their status, the committee, proposals,
 * chain parameters, deployed contracts with every version, permission rules, and read-only
 * contract queries. Each read runs the system contracts' own pure readers through
 * `Chain.readCommittedWith`, so it sees exactly one committed state on any store back end.
 * @module
 */
import type { Result } from "../base/errors.ts";
import type { SignatureSuite } from "../crypto/suite.ts";
import type { Value } from "../encoding/value.ts";
import type { StateReader } from "../exec/index.ts";
import {
  type Department,
  type ExecutionError,
  type Member,
  type MemberStatus,
  memberStatusAt,
  type Organization,
  type PermissionRule,
  queryContract,
  readDepartment,
  readDepartmentIds,
  readMember,
  readOrganization,
  readOrganizationIds,
  readPermissionRule,
  type SandboxEngine,
} from "../exec/index.ts";
import {
  type ChainParameters,
  type Committee,
  listProposals,
  type Proposal,
  type ProposalPage,
  readCommittee,
  readParameters,
  readProposal,
} from "../exec/system/governance.ts";
import {
  type ActiveContract,
  type ContractPage,
  type ContractVersion,
  listContracts,
  readActiveContract,
  readContractCode,
  readContractVersions,
} from "../exec/system/registry.ts";

/** What the reads need of a chain (Chain has it; the API's test service offers it over its tree). */
export interface CommittedStateSource {
  readonly chainId: string;
  readonly suite: SignatureSuite;
  /** Height of the last committed block. */
  readonly height: bigint;
  readonly headTimeMs: bigint;
  readCommittedWith<Result>(reader: (state: StateReader) => Result): Promise<Result>;
}

/** Organizations one page of the directory holds (the org contract bounds their number). */
export const ORGANIZATIONS_PAGE_MAX = 200;

export interface OrganizationRecord {
  readonly organization: Organization;
  readonly departments: readonly Department[];
}

export interface MemberRecord {
  readonly member: Member;
  /** At the head block's time. */
  readonly status: MemberStatus;
}

export interface ContractRecord {
  readonly active: ActiveContract;
  /** Every version, oldest first. */
  readonly versions: readonly ContractVersion[];
}

export interface QueryResult {
  readonly value: Value;
  readonly gasUsed: bigint;
}

export class GovernanceReads {
  readonly #chain: CommittedStateSource;
  readonly #querySandbox: SandboxEngine | undefined;

  /** Without a sandbox, queries reach native contracts only. */
  constructor(chain: CommittedStateSource, querySandbox?: SandboxEngine) {
    this.#chain = chain;
    this.#querySandbox = querySandbox;
  }

  get #hash() {
    return this.#chain.suite.hash;
  }

  /** The head block's time: what statuses (expiry, voting deadlines) are computed at. */
  get nowMs(): bigint {
    return this.#chain.headTimeMs;
  }

  organizations(): Promise<OrganizationRecord[]> {
    return this.#chain.readCommittedWith((state) =>
      readOrganizationIds(state, this.#hash)
        .slice(0, ORGANIZATIONS_PAGE_MAX)
        .flatMap((id) => {
          const record = this.#organizationIn(state, id);
          return record === undefined ? [] : [record];
        }),
    );
  }

  organization(id: string): Promise<OrganizationRecord | undefined> {
    return this.#chain.readCommittedWith((state) => this.#organizationIn(state, id));
  }

  #organizationIn(state: Parameters<typeof readOrganization>[0], id: string): OrganizationRecord | undefined {
    const organization = readOrganization(state, this.#hash, id);
    if (organization === undefined) return undefined;
    const departments = readDepartmentIds(state, this.#hash, id).flatMap((departmentId) => {
      const department = readDepartment(state, this.#hash, id, departmentId);
      return department === undefined ? [] : [department];
    });
    return { organization, departments };
  }

  member(keyId: Uint8Array): Promise<MemberRecord | undefined> {
    const nowMs = this.nowMs;
    return this.#chain.readCommittedWith((state) => {
      const member = readMember(state, this.#hash, keyId);
      return member === undefined ? undefined : { member, status: memberStatusAt(member, nowMs) };
    });
  }

  committee(): Promise<Committee | undefined> {
    return this.#chain.readCommittedWith((state) => readCommittee(state, this.#hash));
  }

  proposals(fromId: bigint, limit: number): Promise<ProposalPage> {
    return this.#chain.readCommittedWith((state) => listProposals(state, this.#hash, fromId, limit));
  }

  proposal(id: bigint): Promise<Proposal | undefined> {
    return this.#chain.readCommittedWith((state) => readProposal(state, this.#hash, id));
  }

  parameters(): Promise<ChainParameters> {
    return this.#chain.readCommittedWith((state) => readParameters(state, this.#hash));
  }

  contracts(fromPosition: bigint, limit: number): Promise<ContractPage> {
    return this.#chain.readCommittedWith((state) => listContracts(state, this.#hash, fromPosition, limit));
  }

  contract(name: string): Promise<ContractRecord | undefined> {
    return this.#chain.readCommittedWith((state) => {
      const active = readActiveContract(state, this.#hash, name);
      if (active === undefined) return undefined;
      return { active, versions: readContractVersions(state, this.#hash, name) };
    });
  }

  contractCode(codeHash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#chain.readCommittedWith((state) => readContractCode(state, this.#hash, codeHash));
  }

  permission(contract: string, name: string): Promise<PermissionRule | undefined> {
    return this.#chain.readCommittedWith((state) => readPermissionRule(state, this.#hash, contract, name));
  }

  /**
   * Runs a contract method read-only at the committed state, as `callerKeyId` (null: anonymous):
   * nothing it writes is kept, gas is bounded by the chain's `txGasMax`.
   */
  query(
    contract: string,
    method: string,
    args: Value,
    callerKeyId: Uint8Array | null,
  ): Promise<Result<QueryResult, ExecutionError>> {
    const chain = this.#chain;
    const block = {
      chainId: chain.chainId,
      height: chain.height + 1n,
      timeMs: chain.headTimeMs,
      suite: chain.suite,
      ...(this.#querySandbox === undefined ? {} : { sandbox: this.#querySandbox }),
    };
    return chain.readCommittedWith((state) =>
      queryContract(block, state, callerKeyId, contract, method, args),
    );
  }
}
