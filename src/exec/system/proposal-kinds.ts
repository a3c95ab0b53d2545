/**
 * The kinds of governance proposal (src/exec/system/governance.ts decides what each does). A module
 * of its own, without imports, so the portal names the same list without bundling the contract.
 * @module
 */
export const PROPOSAL_KINDS = [
  "org.add",
  "org.suspend",
  "org.reinstate",
  "org.remove",
  "org.setAdmins",
  "validator.set",
  "contract.deploy",
  "contract.upgrade",
  "contract.freeze",
  "contract.unfreeze",
  "parameter.set",
  "permission.set",
  "permission.clear",
  "committee.set",
] as const;
export type ProposalKind = (typeof PROPOSAL_KINDS)[number];
