import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { suite } from "../test-fixtures.ts";
import { bureauAdmin, CityChain, cityAdmin, official, resident, stranger } from "./identity-fixtures.ts";
import { readMember } from "./member.ts";
import {
  decodeOrganization,
  departmentPlacementAllowed,
  encodeOrganization,
  readDepartment,
  readDepartmentIds,
  readOrganization,
  readOrganizationIds,
} from "./org.ts";

describe("org: genesis", () => {
  it("block 1 applies the organizations and their department trees before its transactions", () => {
    const chain = new CityChain();
    const { codes } = chain.run([]);
    assert.deepEqual(codes, []);
    assert.deepEqual(readOrganizationIds(chain.tree, suite.hash), ["city-hall", "water-bureau"]);
    const cityHall = readOrganization(chain.tree, suite.hash, "city-hall");
    assert.ok(cityHall !== undefined);
    assert.equal(cityHall.status, "active");
    assert.deepEqual(cityHall.admins, [cityAdmin.keyId]);
    assert.equal(cityHall.created.height, 1n);
    assert.deepEqual(readDepartmentIds(chain.tree, suite.hash, "city-hall"), ["city", "donghu", "records"]);
    const donghu = readDepartment(chain.tree, suite.hash, "city-hall", "donghu");
    assert.equal(donghu?.level, "district");
    assert.equal(donghu?.parent, "city");
    assert.equal(readMember(chain.tree, suite.hash, official.keyId)?.organization, "city-hall");
  });
});

describe("org: governance-only methods", () => {
  it("add, suspend, reinstate, remove and setAdmins called directly: PERMISSION_DENIED", () => {
    const chain = new CityChain();
    const { codes } = chain.run([
      chain.tx(cityAdmin, "org", "add", { id: "parks", name: "Parks", admins: [cityAdmin.keyId] }),
      chain.tx(cityAdmin, "org", "suspend", { id: "water-bureau" }),
      chain.tx(cityAdmin, "org", "reinstate", { id: "water-bureau" }),
      chain.tx(cityAdmin, "org", "remove", { id: "water-bureau" }),
      chain.tx(cityAdmin, "org", "setAdmins", { id: "city-hall", admins: [stranger.keyId] }),
    ]);
    assert.deepEqual(codes, Array(5).fill("PERMISSION_DENIED"));
    assert.deepEqual(readOrganizationIds(chain.tree, suite.hash), ["city-hall", "water-bureau"]);
  });

  it("through governance: add, then the status moves and their refusals", () => {
    const chain = new CityChain();
    const { codes, outcome } = chain.run([
      chain.governance("org", "add", {
        id: "parks",
        name: "Parks Department",
        admins: [stranger.keyId],
        departments: [{ id: "east", name: "East parks", level: "department" }],
      }),
      chain.governance("org", "add", { id: "parks", name: "Parks again", admins: [stranger.keyId] }),
      chain.governance("org", "reinstate", { id: "parks" }),
      chain.governance("org", "suspend", { id: "parks", reason: "audit" }),
      chain.governance("org", "suspend", { id: "parks" }),
      chain.governance("org", "reinstate", { id: "parks" }),
      chain.governance("org", "remove", { id: "parks", reason: "merged" }),
      chain.governance("org", "reinstate", { id: "parks" }),
      chain.governance("org", "remove", { id: "parks" }),
      chain.governance("org", "suspend", { id: "nowhere" }),
    ]);
    assert.deepEqual(codes, [
      "ok",
      "ORG_EXISTS",
      "ORG_STATUS_INVALID",
      "ok",
      "ORG_STATUS_INVALID",
      "ok",
      "ok",
      "ORG_STATUS_INVALID",
      "ORG_STATUS_INVALID",
      "ORG_NOT_FOUND",
    ]);
    const parks = readOrganization(chain.tree, suite.hash, "parks");
    assert.equal(parks?.status, "removed");
    assert.equal(parks?.statusChanged?.reason, "merged");
    assert.deepEqual(readOrganizationIds(chain.tree, suite.hash), ["city-hall", "parks", "water-bureau"]);
    assert.deepEqual(
      outcome.events.filter((event) => event.contract === "org").map((event) => event.type),
      ["added", "department-added", "suspended", "reinstated", "removed"],
    );
  });

  it("setAdmins replaces the admins; a removed organization refuses it", () => {
    const chain = new CityChain();
    const { codes } = chain.run([
      chain.governance("org", "setAdmins", {
        id: "water-bureau",
        admins: [stranger.keyId, bureauAdmin.keyId],
      }),
      chain.governance("org", "setAdmins", { id: "water-bureau", admins: [] }),
      chain.governance("org", "setAdmins", { id: "water-bureau", admins: [stranger.keyId, stranger.keyId] }),
    ]);
    assert.deepEqual(codes, ["ok", "EXEC_ARGS_FIELD_INVALID", "EXEC_ARGS_FIELD_INVALID"]);
    const admins = readOrganization(chain.tree, suite.hash, "water-bureau")?.admins ?? [];
    assert.equal(admins.length, 2);
    assert.ok(Buffer.compare(admins[0]!, admins[1]!) < 0, "admins are kept sorted");
    const removed = chain.run([
      chain.governance("org", "remove", { id: "water-bureau" }),
      chain.governance("org", "setAdmins", { id: "water-bureau", admins: [stranger.keyId] }),
    ]);
    assert.deepEqual(removed.codes, ["ok", "ORG_STATUS_INVALID"]);
  });
});

describe("org: departments", () => {
  it("an admin adds and renames departments; others get ORG_NOT_ADMIN", () => {
    const chain = new CityChain();
    const { codes } = chain.run([
      chain.tx(cityAdmin, "org", "addDepartment", {
        organization: "city-hall",
        id: "zhongnan",
        name: "Zhongnan Street",
        level: "street",
        parent: "donghu",
      }),
      chain.tx(cityAdmin, "org", "addDepartment", {
        organization: "city-hall",
        id: "block-7",
        name: "Block 7 community",
        level: "community",
        parent: "zhongnan",
      }),
      chain.tx(cityAdmin, "org", "updateDepartment", {
        organization: "city-hall",
        id: "block-7",
        name: "Block 7",
      }),
      chain.tx(bureauAdmin, "org", "addDepartment", {
        organization: "city-hall",
        id: "x",
        name: "X",
        level: "agency",
      }),
      chain.tx(official, "org", "updateDepartment", {
        organization: "city-hall",
        id: "records",
        name: "Archive",
      }),
    ]);
    assert.deepEqual(codes, ["ok", "ok", "ok", "ORG_NOT_ADMIN", "ORG_NOT_ADMIN"]);
    assert.equal(readDepartment(chain.tree, suite.hash, "city-hall", "block-7")?.name, "Block 7");
    assert.deepEqual(readDepartmentIds(chain.tree, suite.hash, "city-hall"), [
      "block-7",
      "city",
      "donghu",
      "records",
      "zhongnan",
    ]);
  });

  it("the tree's rules: levels, parents, unique ids", () => {
    const chain = new CityChain();
    const add = (id: string, level: string, parent?: string) =>
      chain.tx(cityAdmin, "org", "addDepartment", {
        organization: "city-hall",
        id,
        name: id,
        level,
        ...(parent === undefined ? {} : { parent }),
      });
    const { codes } = chain.run([
      add("donghu", "district", "city"),
      add("wuchang", "district", "donghu"),
      add("lane", "street", "records"),
      add("lane", "street", "missing"),
      add("lane", "avenue", "city"),
      add("Lane", "street", "city"),
      add("archive", "department", "records"),
    ]);
    assert.deepEqual(codes, [
      "ORG_DEPARTMENT_EXISTS",
      "ORG_DEPARTMENT_LEVEL_INVALID",
      "ORG_DEPARTMENT_LEVEL_INVALID",
      "ORG_DEPARTMENT_NOT_FOUND",
      "ORG_DEPARTMENT_LEVEL_INVALID",
      "EXEC_ARGS_FIELD_INVALID",
      "ok",
    ]);
    assert.equal(departmentPlacementAllowed("community", "city"), true);
    assert.equal(departmentPlacementAllowed("city", "community"), false);
    assert.equal(departmentPlacementAllowed("agency", "community"), true);
    assert.equal(departmentPlacementAllowed("district", "agency"), false);
    assert.equal(departmentPlacementAllowed("city", null), true);
  });

  it("a suspended organization's admin can change nothing (ORG_NOT_ACTIVE)", () => {
    const chain = new CityChain();
    chain.run([chain.governance("org", "suspend", { id: "city-hall" })]);
    const { codes } = chain.run([
      chain.tx(cityAdmin, "org", "updateDepartment", { organization: "city-hall", id: "city", name: "Town" }),
    ]);
    assert.deepEqual(codes, ["ORG_NOT_ACTIVE"]);
  });
});

describe("org: reads", () => {
  it("get, getDepartment and list return records, null for unknown ids", () => {
    const chain = new CityChain();
    chain.run([]);
    const { codes } = chain.run([
      chain.tx(resident, "org", "get", { id: "city-hall" }),
      chain.tx(resident, "org", "getDepartment", { organization: "city-hall", id: "nowhere" }),
      chain.tx(resident, "org", "list", null),
      chain.tx(resident, "org", "get", { id: 7n }),
    ]);
    assert.deepEqual(codes, ["ok", "ok", "ok", "EXEC_ARGS_FIELD_WRONG_TYPE"]);
    const bytes = encodeOrganization(readOrganization(chain.tree, suite.hash, "water-bureau")!);
    assert.deepEqual(decodeOrganization(bytes), readOrganization(chain.tree, suite.hash, "water-bureau"));
  });
});
