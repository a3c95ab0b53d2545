import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { readNonce } from "../nonce.ts";
import { anchorArgs, signerOf, suite } from "../test-fixtures.ts";
import {
  auditor,
  bureauAdmin,
  CityChain,
  cityAdmin,
  committee,
  official,
  resident,
  stranger,
  timeAt,
} from "./identity-fixtures.ts";
import { decodeMember, encodeMember, type Member, memberStatusAt, readMember } from "./member.ts";

const newcomer = signerOf(20);

describe("member: attestations", () => {
  it("an admin attests a key with roles in a department; the record keeps who and when", () => {
    const chain = new CityChain();
    const { codes } = chain.run([
      chain.tx(cityAdmin, "member", "add", {
        keyId: newcomer.keyId,
        organization: "city-hall",
        department: "donghu",
        roles: ["resident", "community-worker"],
        expiresAtMs: timeAt(100n),
        label: "Community desk",
      }),
    ]);
    assert.deepEqual(codes, ["ok"]);
    const member = readMember(chain.tree, suite.hash, newcomer.keyId);
    assert.ok(member !== undefined);
    assert.deepEqual(member.roles, ["community-worker", "resident"]);
    assert.equal(member.attested.by, "admin");
    assert.deepEqual(member.attested.signer, cityAdmin.keyId);
    assert.equal(member.attested.height, 1n);
    assert.equal(memberStatusAt(member, timeAt(99n)), "active");
    assert.equal(memberStatusAt(member, timeAt(100n)), "expired");
    const genesisMember = readMember(chain.tree, suite.hash, official.keyId);
    assert.equal(genesisMember?.attested.by, "genesis");
    assert.equal(genesisMember?.attested.signer, null);
  });

  it("refusals: not an admin, another org's admin, unknown department, a key already attested, a past expiry", () => {
    const chain = new CityChain();
    const add = (signer: typeof cityAdmin, overrides: Record<string, unknown> = {}) =>
      chain.tx(signer, "member", "add", {
        keyId: newcomer.keyId,
        organization: "city-hall",
        department: "donghu",
        roles: ["resident"],
        ...(overrides as Record<string, never>),
      });
    const { codes } = chain.run([
      add(official),
      add(bureauAdmin),
      add(cityAdmin, { department: "nowhere" }),
      add(cityAdmin, { organization: "nowhere" }),
      add(cityAdmin, { expiresAtMs: timeAt(1n) }),
      add(cityAdmin, { roles: [] }),
      add(cityAdmin, { roles: ["resident", "resident"] }),
      add(cityAdmin, { keyId: resident.keyId }),
      add(bureauAdmin, { keyId: official.keyId, organization: "water-bureau", department: "hq" }),
      add(cityAdmin, { label: "x".repeat(65) }),
    ]);
    assert.deepEqual(codes, [
      "MEMBER_NOT_ADMIN",
      "MEMBER_NOT_ADMIN",
      "ORG_DEPARTMENT_NOT_FOUND",
      "ORG_NOT_FOUND",
      "MEMBER_EXPIRY_INVALID",
      "EXEC_ARGS_FIELD_INVALID",
      "EXEC_ARGS_FIELD_INVALID",
      "MEMBER_EXISTS",
      "MEMBER_EXISTS",
      "EXEC_ARGS_FIELD_TOO_LONG",
    ]);
    assert.equal(readMember(chain.tree, suite.hash, newcomer.keyId), undefined);
  });

  it("a suspended organization's admin cannot attest (ORG_NOT_ACTIVE)", () => {
    const chain = new CityChain();
    const { codes } = chain.run([
      chain.governance("org", "suspend", { id: "water-bureau" }),
      chain.tx(bureauAdmin, "member", "add", {
        keyId: newcomer.keyId,
        organization: "water-bureau",
        department: "hq",
        roles: ["official"],
      }),
    ]);
    assert.deepEqual(codes, ["ok", "ORG_NOT_ACTIVE"]);
  });
});

describe("member: checks before execution", () => {
  it("revocation takes effect at once, in the same block; the nonce is still consumed", () => {
    const chain = new CityChain();
    const { codes, outcome } = chain.run([
      chain.tx(resident, "notary", "anchor", anchorArgs(1)),
      chain.tx(cityAdmin, "member", "revoke", { keyId: resident.keyId, reason: "moved away" }),
      chain.tx(resident, "notary", "anchor", anchorArgs(2)),
    ]);
    assert.deepEqual(codes, ["ok", "ok", "IDENTITY_MEMBER_REVOKED"]);
    assert.equal(readNonce(chain.tree, suite.hash, resident.keyId), 2n);
    assert.ok(outcome.receipts[2]!.gasUsed > 0n, "a refused transaction still reports gas");
    const member = readMember(chain.tree, suite.hash, resident.keyId);
    assert.equal(member?.revoked?.reason, "moved away");
    assert.deepEqual(member?.revoked?.signer, cityAdmin.keyId);
    assert.equal(member?.revoked?.height, 1n);
    const again = chain.run([
      chain.tx(cityAdmin, "member", "revoke", { keyId: resident.keyId }),
      chain.tx(cityAdmin, "member", "update", { keyId: resident.keyId, roles: ["official"] }),
      chain.tx(cityAdmin, "member", "add", {
        keyId: resident.keyId,
        organization: "city-hall",
        department: "donghu",
        roles: ["resident"],
      }),
    ]);
    assert.deepEqual(again.codes, ["MEMBER_REVOKED", "MEMBER_REVOKED", "MEMBER_EXISTS"]);
  });

  it("an expired member's transactions fail with IDENTITY_MEMBER_EXPIRED until an admin extends it", () => {
    const chain = new CityChain();
    assert.deepEqual(chain.run([chain.tx(auditor, "notary", "anchor", anchorArgs(1))]).codes, ["ok"]);
    chain.run([]);
    const expired = chain.run([chain.tx(auditor, "notary", "anchor", anchorArgs(2))]);
    assert.deepEqual(expired.codes, ["IDENTITY_MEMBER_EXPIRED"], "block 3's time is the expiry");
    const extended = chain.run([
      chain.tx(bureauAdmin, "member", "update", { keyId: auditor.keyId, expiresAtMs: timeAt(10n) }),
      chain.tx(auditor, "notary", "anchor", anchorArgs(2)),
    ]);
    assert.deepEqual(extended.codes, ["ok", "ok"]);
    assert.equal(readMember(chain.tree, suite.hash, auditor.keyId)?.updated?.height, 4n);
  });

  it("a member of a suspended organization: IDENTITY_ORG_INACTIVE; reinstated: ok again", () => {
    const chain = new CityChain();
    const { codes } = chain.run([
      chain.governance("org", "suspend", { id: "city-hall" }),
      chain.tx(official, "notary", "anchor", anchorArgs(1)),
      chain.tx(stranger, "notary", "anchor", anchorArgs(2)),
      chain.governance("org", "reinstate", { id: "city-hall" }),
      chain.tx(official, "notary", "anchor", anchorArgs(3)),
    ]);
    assert.deepEqual(codes, ["ok", "IDENTITY_ORG_INACTIVE", "ok", "ok", "ok"]);
  });

  it("governance may revoke, also in a suspended organization; an admin of another org may not", () => {
    const chain = new CityChain();
    const { codes } = chain.run([
      chain.tx(bureauAdmin, "member", "revoke", { keyId: official.keyId }),
      chain.governance("org", "suspend", { id: "city-hall" }),
      chain.governance("member", "revoke", { keyId: official.keyId, reason: "compromised key" }),
      chain.tx(committee, "member", "revoke", { keyId: resident.keyId }),
      chain.tx(cityAdmin, "member", "revoke", { keyId: newcomer.keyId }),
    ]);
    assert.deepEqual(codes, ["MEMBER_NOT_ADMIN", "ok", "ok", "MEMBER_NOT_ADMIN", "MEMBER_NOT_FOUND"]);
    assert.equal(readMember(chain.tree, suite.hash, official.keyId)?.revoked?.by, "governance");
  });

  it("update moves a member to another department of its organization, and checks it exists", () => {
    const chain = new CityChain();
    const { codes } = chain.run([
      chain.tx(cityAdmin, "member", "update", {
        keyId: resident.keyId,
        department: "records",
        roles: ["official"],
      }),
      chain.tx(cityAdmin, "member", "update", { keyId: resident.keyId, department: "hq" }),
      chain.tx(bureauAdmin, "member", "update", { keyId: resident.keyId, label: "x" }),
    ]);
    assert.deepEqual(codes, ["ok", "ORG_DEPARTMENT_NOT_FOUND", "MEMBER_NOT_ADMIN"]);
    const member = readMember(chain.tree, suite.hash, resident.keyId);
    assert.equal(member?.department, "records");
    assert.deepEqual(member?.roles, ["official"]);
  });
});

describe("member: records", () => {
  it("decode(encode(member)) = member for any member", () => {
    const slug = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    const moment = fc.record({
      by: fc.constantFrom("admin" as const, "governance" as const),
      signer: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      txHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      height: fc.bigInt({ min: 0n, max: 1n << 40n }),
      timeMs: fc.bigInt({ min: 0n, max: 1n << 50n }),
    });
    fc.assert(
      fc.property(
        fc.record({
          keyId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          organization: slug,
          department: slug,
          roles: fc.uniqueArray(slug, { minLength: 1, maxLength: 8 }).map((roles) => roles.sort()),
          expiresAtMs: fc.option(fc.bigInt({ min: 0n, max: 1n << 50n })),
          label: fc.option(fc.string({ minLength: 1, maxLength: 20 })),
          attested: moment,
          updated: fc.option(moment),
          revoked: fc.option(moment.map((value) => ({ ...value, reason: null }))),
        }),
        (member: Member) => {
          const encoded = encodeMember(member);
          const decoded = decodeMember(encoded);
          assert.deepEqual(encodeMember(decoded), encoded);
          assert.deepEqual(decoded.roles, [...member.roles]);
          assert.equal(decoded.expiresAtMs, member.expiresAtMs);
          assert.equal(decoded.revoked === null, member.revoked === null);
        },
      ),
      { numRuns: 300 },
    );
  });
});
