/**
 * The web portal end to end, in Debian's Chromium (playwright-core) against a real one-node chain
 * started here with the built portal and the demo city of `cityledger dev` (organizations with
 * department trees, members with roles, a committee, proposals voted on, the service-requests
 * contract deployed by vote, events): open it, create a key, anchor a file and see it commit
 * live, open its receipt and see it verified in the browser with its proved outcome; tamper one
 * byte of the transaction, or of the execution receipt, and see the reason; verify from the QR
 * code (inclusion only); browse organizations, members, governance, contracts, parameters and
 * events by key; search; import a CLI key file into the wallet and see its roles; switch
 * language; phone-width layout; axe-core finds no serious accessibility issue on the pages.
 * Screenshots (desktop and phone) and the measured figures go to test-output/ (git-ignored).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { startApi } from "../src/api/index.ts";
import { bytesToHex } from "../src/base/bytes.ts";
import { type DemoCitySeedResult, seedDemoCity } from "../src/cli/demo-city-seed.ts";
import { ed25519Suite } from "../src/crypto/index.ts";
import { loadNodeConfig } from "../src/node/config.ts";
import { type DemoCity, demoCityInitialState, demoCityKeys } from "../src/node/demo-city.ts";
import { writeNetworkLayout } from "../src/node/network-layout.ts";
import { CityLedgerNode } from "../src/node/node.ts";
import { ensurePortalBuilt, PORTAL_DIST_DIRECTORY } from "../web/scripts/build-portal.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 375, height: 740 };
const outputDirectory = resolve(import.meta.dirname, "../test-output");
const screenshotDirectory = join(outputDirectory, "screenshots");
const PASSPHRASE = "correct horse battery staple";
/** Verifications timed in the browser for the per-receipt figure. */
const VERIFY_RUNS = 25;

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

const axeSource = readFileSync(resolve(import.meta.dirname, "../node_modules/axe-core/axe.min.js"), "utf8");

/** Runs axe-core in the page; returns the serious and critical violations (WCAG 2.1 A and AA). */
async function seriousAccessibilityIssues(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run: (context: Document, options: object) => Promise<{ violations: AxeViolation[] }> };
      }
    ).axe;
    const result = await axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] });
    return result.violations;
  });
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
    );
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotDirectory, `${name}.png`), fullPage: true });
}

async function waitForHeading(page: Page, text: string | RegExp): Promise<void> {
  await page.locator("main h1").filter({ hasText: text }).waitFor({ timeout: 15_000 });
}

/** Gzip bytes of what the first load fetches: index.html and the assets it links. */
function firstLoadGzipBytes(): { total: number; files: Record<string, number> } {
  const index = readFileSync(join(PORTAL_DIST_DIRECTORY, "index.html"), "utf8");
  const files: Record<string, number> = { "index.html": gzipSync(index, { level: 9 }).length };
  for (const match of index.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)) {
    const path = match[1]!;
    files[path] = gzipSync(readFileSync(join(PORTAL_DIST_DIRECTORY, path)), { level: 9 }).length;
  }
  return { total: Object.values(files).reduce((sum, size) => sum + size, 0), files };
}

describe("the web portal in Chromium", {
  timeout: 180_000,
  skip: !existsSync(CHROMIUM) && "no /usr/bin/chromium",
}, () => {
  let directory: string;
  let node: CityLedgerNode;
  let app: FastifyInstance;
  let baseUrl: string;
  let browser: Browser;
  let desktop: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const figures: Record<string, unknown> = {};
  let receiptText = "";
  let receiptHash = "";
  let qrFile = "";
  let city: DemoCity;
  let seeded: DemoCitySeedResult;

  // Explicit bounds: the build, the seeded city and Chromium's start (≈ 20–40 s here), and the
  // clean-up, each fail by name rather than stalling the run.
  before(
    async () => {
      const buildStarted = performance.now();
      const built = await ensurePortalBuilt();
      figures.portalBuildSeconds = built ? (performance.now() - buildStarted) / 1000 : null;
      mkdirSync(screenshotDirectory, { recursive: true });
      directory = mkdtempSync(join(tmpdir(), "cityledger-portal-"));
      // The demo city of `cityledger dev`: its people's keys, its genesis, then its seeded history.
      city = demoCityKeys(directory, ed25519Suite);
      const layout = writeNetworkLayout({
        initialState: (validatorSet) => demoCityInitialState(city, validatorSet),
        out: directory,
        validators: 1,
        chainId: "portal-city",
        suite: "ed25519",
        host: "127.0.0.1",
        p2pPortBase: 0,
        apiPortBase: 0,
        genesisTimeMs: BigInt(Date.now()),
        consensus: { emptyBlockIntervalMs: 500 },
      });
      node = await CityLedgerNode.start({
        config: loadNodeConfig(layout.nodes[0]!.configFile),
        logger: pino({ level: "silent" }),
      });
      const seedStarted = performance.now();
      seeded = await seedDemoCity(node, city, node.suite, node.chain.chainId);
      figures.demoCitySeedSeconds = (performance.now() - seedStarted) / 1000;
      app = await startApi(node, {
        logger: pino({ level: "silent" }),
        rateLimit: false,
        host: "127.0.0.1",
        port: 0,
        portalDirectory: PORTAL_DIST_DIRECTORY,
      });
      const address = app.server.address();
      assert.ok(typeof address === "object" && address !== null);
      baseUrl = `http://127.0.0.1:${address.port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      desktop = await browser.newContext({ viewport: DESKTOP, locale: "en-US", acceptDownloads: true });
      page = await desktop.newPage();
      page.on("pageerror", (error) => pageErrors.push(error.message));
      page.on("console", (message) => {
        // A 404 is an answer here (no such member, proposal or organization: search and lookups
        // ask), which Chromium logs as a failed resource; anything else is an error.
        const notFound = /Failed to load resource: .* 404/.test(message.text());
        if (message.type() === "error" && !notFound) pageErrors.push(message.text());
      });
    },
    { timeout: 240_000 },
  );

  after(
    async () => {
      await browser?.close();
      await app?.close();
      await node?.stop();
      rmSync(directory, { recursive: true, force: true });
      if (Object.keys(figures).length > 0) {
        mkdirSync(outputDirectory, { recursive: true });
        writeFileSync(join(outputDirectory, "portal-figures.json"), `${JSON.stringify(figures, null, 2)}\n`);
      }
    },
    { timeout: 60_000 },
  );

  it("is served by the node beside the API, with a single-page fallback", async () => {
    const root = await fetch(`${baseUrl}/`);
    assert.equal(root.status, 200);
    assert.match(root.headers.get("content-type") ?? "", /text\/html/);
    assert.match(root.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const html = await root.text();
    const clientRoute = await fetch(`${baseUrl}/blocks/1`, { headers: { accept: "text/html" } });
    assert.equal(clientRoute.status, 200);
    assert.equal(await clientRoute.text(), html);
    const unknownApi = await fetch(`${baseUrl}/v1/no-such-route`, { headers: { accept: "text/html" } });
    assert.equal(unknownApi.status, 404);
    assert.match(unknownApi.headers.get("content-type") ?? "", /application\/problem\+json/);
    const status = await fetch(`${baseUrl}/v1/status`);
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as { chainId: string }).chainId, "portal-city");
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script !== undefined, "index.html loads a script");
    const asset = await fetch(`${baseUrl}${script}`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
    assert.equal(asset.headers.get("content-encoding"), "gzip");

    const size = firstLoadGzipBytes();
    figures.firstLoadGzipBytes = size.total;
    figures.firstLoadFiles = size.files;
    assert.ok(size.total <= 300 * 1024, `first load is ${size.total} bytes gzip, over the 300 KB target`);
  });

  it("opens on the chain status, live, with no accessibility issue", async () => {
    await page.goto(baseUrl, { waitUntil: "commit" });
    await waitForHeading(page, "Chain status");
    const firstRenderMs = await page.evaluate(() => performance.now());
    await page.getByTestId("chain-height").waitFor();
    const statusShownMs = await page.evaluate(() => performance.now());
    const paint = await page.evaluate(
      () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
    );
    figures.timeToFirstRenderMs = Math.round(firstRenderMs);
    figures.firstContentfulPaintMs = paint === null ? null : Math.round(paint);
    figures.timeToStatusShownMs = Math.round(statusShownMs);
    await page.getByText("Live: new blocks appear").waitFor({ timeout: 10_000 });
    // New blocks update the status in place: the height moves on, and "Loading" never comes back.
    const heightBefore = await page.getByTestId("chain-height").textContent();
    await page.evaluate(() => {
      const seen = { loading: 0 };
      (window as unknown as { loadingSeen: typeof seen }).loadingSeen = seen;
      new MutationObserver(() => {
        if (document.querySelector('main [data-testid="loading"]') !== null) seen.loading += 1;
      }).observe(document.querySelector("main")!, { childList: true, subtree: true });
    });
    await page.waitForFunction(
      (before) => document.querySelector('[data-testid="chain-height"]')?.textContent !== before,
      heightBefore,
      { timeout: 15_000 },
    );
    assert.equal(
      await page.evaluate(
        () => (window as unknown as { loadingSeen: { loading: number } }).loadingSeen.loading,
      ),
      0,
      "the status stays on screen while it reloads",
    );
    await screenshot(page, "desktop-status");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);

    await page.getByRole("link", { name: "Blocks", exact: true }).click();
    await waitForHeading(page, "Blocks");
    await page.locator("table tbody tr").first().waitFor();
    await screenshot(page, "desktop-blocks");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);
  });

  it("creates a key in the browser, sealed with a passphrase", async () => {
    await page.getByRole("link", { name: "Wallet", exact: true }).click();
    await waitForHeading(page, "Wallet");
    await page.getByLabel("Name", { exact: true }).fill("Clerk of the council");
    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await page.getByLabel("Passphrase again").fill(PASSPHRASE);
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByTestId("wallet-lock-state").filter({ hasText: "Unlocked" }).waitFor({ timeout: 15_000 });
    await page.getByTestId("wallet-roles").waitFor();
    assert.match((await page.getByTestId("wallet-roles").textContent()) ?? "", /Not a member/);
    await screenshot(page, "desktop-wallet");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);
  });

  it("anchors a file hashed in the browser and sees it commit live", async () => {
    await page.getByRole("link", { name: "Anchor a document" }).click();
    await waitForHeading(page, "Notary");
    const document = Buffer.from(`Minutes of the council meeting, ${new Date().toISOString()}\n`);
    await page
      .getByTestId("notary-file")
      .setInputFiles({ name: "minutes.txt", mimeType: "text/plain", buffer: document });
    const expectedHash = (await import("node:crypto")).createHash("sha256").update(document).digest("hex");
    await page.getByTestId("document-hash").filter({ hasText: expectedHash }).waitFor();
    await page.getByLabel("Type").selectOption("minutes");
    await screenshot(page, "desktop-notary");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);
    await page.getByRole("button", { name: "Sign and anchor" }).click();
    await page
      .getByTestId("notary-progress")
      .getByText(/Anchored: committed in block \d+/)
      .waitFor({ timeout: 30_000 });
  });

  it("opens the receipt and sees it verified in the browser against the checkpoint", async () => {
    await page.getByTestId("open-receipt").click();
    await waitForHeading(page, "Receipt");
    const panel = page.getByTestId("verification");
    await panel.and(page.locator('[data-result="valid"]')).waitFor({ timeout: 15_000 });
    assert.match((await panel.textContent()) ?? "", /Receipt verified/);
    assert.match((await panel.textContent()) ?? "", /checkpoint of chain portal-city/);
    receiptHash = page.url().split("/").pop()!;
    // What it did, proved by the header's receipt root.
    const outcome = page.locator('[data-testid="outcome"][data-proof="proved"]');
    await outcome.waitFor();
    assert.match(
      (await outcome.textContent()) ?? "",
      /Proved: the execution receipt is in the block header's receipt root/,
    );
    assert.match((await page.getByTestId("outcome-status").textContent()) ?? "", /Executed successfully/);
    assert.match((await page.getByTestId("outcome-events").textContent()) ?? "", /notary\.anchored/);
    assert.match((await outcome.textContent()) ?? "", /Gas used\s*[1-9]/);
    await page.getByTestId("receipt-qr").waitFor();
    await screenshot(page, "desktop-receipt");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);

    // The time to verify one receipt in the browser (signatures with WebCrypto, then
    // verifyReceipt), repeated for a median; and its two parts.
    const times: number[] = [];
    const signatureTimes: number[] = [];
    const proofTimes: number[] = [];
    for (let run = 0; run < VERIFY_RUNS; run++) {
      await page.getByRole("button", { name: "Verify again" }).click();
      const time = page.getByTestId("verification-time");
      // The certificate's signature is checked with the browser's own Ed25519.
      assert.equal(await time.getAttribute("data-engine"), "webcrypto");
      const text = (await time.textContent()) ?? "";
      const milliseconds = Number(/([0-9.]+) ms/.exec(text)?.[1]);
      assert.ok(Number.isFinite(milliseconds), text);
      times.push(milliseconds);
      signatureTimes.push(Number(/signatures ([0-9.]+) ms/.exec(text)?.[1]));
      proofTimes.push(Number(/proofs ([0-9.]+) ms/.exec(text)?.[1]));
    }
    const median = (values: number[]) => [...values].sort((left, right) => left - right)[values.length >> 1];
    figures.receiptSignaturesMsMedian = median(signatureTimes);
    figures.receiptVerifyReceiptMsMedian = median(proofTimes);
    times.sort((left, right) => left - right);
    figures.receiptVerificationMsMedian = times[Math.floor(times.length / 2)];
    figures.receiptVerificationMsMin = times[0];
    figures.receiptVerificationMsMax = times[times.length - 1];

    const jsonDownload = page.waitForEvent("download");
    await page.getByTestId("download-receipt-json").click();
    receiptText = readFileSync(await (await jsonDownload).path(), "utf8");
    assert.equal((JSON.parse(receiptText) as { hash: string }).hash, receiptHash);
    writeFileSync(join(outputDirectory, "receipt.json"), receiptText);
    const qrDownload = page.waitForEvent("download");
    await page.getByTestId("download-receipt-qr").click();
    qrFile = join(directory, "receipt-qr.png");
    await (await qrDownload).saveAs(qrFile);
    assert.ok(statSync(qrFile).size > 0);
  });

  it("verifies a pasted receipt offline, and names what fails when one byte is tampered", async () => {
    await page.getByRole("link", { name: "Verify a receipt" }).click();
    await waitForHeading(page, "Verify a receipt");
    const requests: string[] = [];
    const listener = (request: { url(): string }) => requests.push(request.url());
    page.on("request", listener);

    await page.getByLabel("Receipt JSON or QR payload").fill(receiptText);
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    await page.locator('[data-testid="verification"][data-result="valid"]').waitFor();
    await page.locator('[data-testid="outcome"][data-proof="proved"]').waitFor();

    // One byte of the execution receipt (its last, inside the event data) changed: the outcome
    // is no longer the one in the header's receipt root.
    const original = JSON.parse(receiptText) as { execution: { receipt: string } | null };
    assert.ok(original.execution !== null, "the node serves receipts with their execution receipt");
    const executionHex = original.execution.receipt;
    const flipped = (Number.parseInt(executionHex.slice(-2), 16) ^ 0x01).toString(16).padStart(2, "0");
    const executionTampered = {
      ...original,
      execution: { ...original.execution, receipt: executionHex.slice(0, -2) + flipped },
    };
    await page.getByLabel("Receipt JSON or QR payload").fill(JSON.stringify(executionTampered, null, 2));
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    await page.locator('[data-testid="verification"][data-result="invalid"]').waitFor();
    const executionReason = (await page.getByTestId("verification-reason").textContent()) ?? "";
    assert.match(executionReason, /The execution receipt was altered/);
    assert.match(executionReason, /RECEIPT_EXECUTION_INVALID/);
    await page.locator('[data-testid="outcome"][data-proof="invalid"]').waitFor();
    await screenshot(page, "desktop-verify-execution-tampered");

    // One byte of the transaction (the last byte of its signature) changed.
    const receipt = JSON.parse(receiptText) as { transaction: string };
    const lastByte = Number.parseInt(receipt.transaction.slice(-2), 16) ^ 0x01;
    const tampered = {
      ...receipt,
      transaction: receipt.transaction.slice(0, -2) + lastByte.toString(16).padStart(2, "0"),
    };
    await page.getByLabel("Receipt JSON or QR payload").fill(JSON.stringify(tampered, null, 2));
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    await page.locator('[data-testid="verification"][data-result="invalid"]').waitFor();
    const reason = (await page.getByTestId("verification-reason").textContent()) ?? "";
    assert.match(reason, /The transaction was altered/);
    assert.match(reason, /RECEIPT_TX_HASH_MISMATCH/);
    await screenshot(page, "desktop-verify-tampered");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);

    // The QR code downloaded from the receipt page, scanned from its image.
    await page.getByTestId("receipt-file").setInputFiles(qrFile);
    await page.locator('[data-testid="verification"][data-result="valid"]').waitFor({ timeout: 15_000 });
    // The compact QR form leaves the execution receipt out, and the page says so.
    await page.locator('[data-testid="outcome"][data-proof="inclusionOnly"]').waitFor();
    page.off("request", listener);
    assert.deepEqual(
      requests.filter((url) => url.includes("/v1/")),
      [],
      "verification asked the node nothing",
    );
  });

  it("shows organizations with their department tree city → district → street → community", async () => {
    await page.getByRole("link", { name: "Organizations", exact: true }).click();
    await waitForHeading(page, "Organizations");
    const rows = page.getByTestId("organizations").locator("tbody tr");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 4);
    await screenshot(page, "desktop-organizations");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);
    await page.getByRole("link", { name: "City Hall", exact: true }).click();
    await waitForHeading(page, "City Hall");
    const tree = page.getByTestId("department-tree");
    // Willow Community sits under Riverside Street, under Eastgate District, under the city.
    const nested = tree
      .locator("li", { hasText: "City government" })
      .locator("li", { hasText: "Eastgate District" })
      .locator("li", { hasText: "Riverside Street" })
      .locator("li", { hasText: "Willow Community" });
    assert.equal(await nested.count(), 1);
    assert.match((await page.getByTestId("organization-status").textContent()) ?? "", /Active/);
    await screenshot(page, "desktop-organization");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);
  });

  it("looks up a member by key id: organization, department, roles, status", async () => {
    const clerk = bytesToHex(city.keyOf("records-clerk").keyId);
    await page.getByRole("link", { name: "Members", exact: true }).click();
    await waitForHeading(page, "Members");
    await page.locator("main").getByLabel("Key id").fill(clerk);
    await page.getByRole("button", { name: "Look up" }).click();
    const member = page.getByTestId("member");
    await member.waitFor();
    assert.match((await page.getByTestId("member-roles").textContent()) ?? "", /official/);
    assert.match((await page.getByTestId("member-status").textContent()) ?? "", /Active/);
    assert.match((await member.textContent()) ?? "", /city-hall/);
    assert.match((await member.textContent()) ?? "", /records-office/);
    await screenshot(page, "desktop-member");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);
    // A key no organization attested: a resident without attestation.
    await page.goto(`${baseUrl}/members/${"ab".repeat(32)}`);
    await page.getByTestId("member-none").waitFor();
  });

  it("shows the committee, the proposals with status and tally, and a proposal's votes", async () => {
    await page.goto(`${baseUrl}/governance`);
    await waitForHeading(page, "Governance");
    await page.getByTestId("committee").locator("tbody tr").first().waitFor();
    assert.equal(await page.getByTestId("committee").locator("tbody tr").count(), 3);
    const proposals = page.getByTestId("proposals").locator("tbody tr");
    await proposals.first().waitFor();
    assert.equal(await proposals.count(), seeded.proposals);
    assert.match((await proposals.first().textContent()) ?? "", /Executed.*yes 2 · no 0 · abstain 0 of 3/);
    await screenshot(page, "desktop-governance");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);

    await page.getByRole("link", { name: "Deploy community service requests" }).click();
    await waitForHeading(page, /Proposal #1/);
    const votes = page.getByTestId("vote");
    await votes.first().waitFor();
    assert.equal(await votes.count(), 2);
    for (const vote of await votes.all())
      assert.match((await vote.textContent()) ?? "", /yes weight 1 · block \d+/);
    assert.match((await page.getByTestId("proposal-status").textContent()) ?? "", /Executed/);
    assert.match((await page.getByTestId("proposal-result").textContent()) ?? "", /Accepted and executed/);
    assert.match((await page.getByTestId("proposal-payload").textContent()) ?? "", /service-requests/);
    await screenshot(page, "desktop-proposal");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);

    await page.goto(`${baseUrl}/parameters`);
    await page.getByTestId("parameters").getByText("txGasMax").waitFor();
    await screenshot(page, "desktop-parameters");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);
  });

  it("shows contracts and every version with its approving proposal and code", async () => {
    await page.getByRole("link", { name: "Contracts", exact: true }).click();
    await waitForHeading(page, "Contracts");
    await page.getByTestId("contracts").getByRole("link", { name: seeded.contract.name }).click();
    await waitForHeading(page, `Contract ${seeded.contract.name}`);
    const version = page.getByTestId("contract-versions").locator("tbody tr");
    await version.first().waitFor();
    assert.equal(await version.count(), 1);
    assert.match((await version.textContent()) ?? "", /proposal #1/);
    const codeLink = await version.getByRole("link", { name: "code", exact: true }).getAttribute("href");
    assert.equal(codeLink, `/v1/code/${seeded.contract.codeHash}`);
    const code = await fetch(`${baseUrl}${codeLink}`);
    assert.equal(code.status, 200);
    await screenshot(page, "desktop-contract");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);
  });

  it("finds events by key: a service request id, a document hash", async () => {
    await page.getByRole("link", { name: "Events", exact: true }).click();
    await waitForHeading(page, "Events");
    await page.getByLabel("Key", { exact: true }).fill(seeded.serviceRequest);
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/key=/);
    const events = page.getByTestId("event");
    await events.first().waitFor();
    const texts = await events.allTextContents();
    assert.deepEqual(
      texts.map((text) => /request\.(opened|assigned)/.exec(text)?.[0]),
      ["request.opened", "request.assigned"],
    );
    for (const text of texts) assert.ok(text.includes(`key ${seeded.serviceRequest}`), text);
    assert.match(texts[0]!, /"status": "open"/);
    await screenshot(page, "desktop-events-key");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);

    const documentHash = seeded.documentHashes[0]!;
    await page.goto(`${baseUrl}/events?key=${documentHash}`);
    await page.getByTestId("event").first().waitFor();
    assert.equal(await page.getByTestId("event").count(), 1);
    assert.match((await page.getByTestId("event").textContent()) ?? "", /notary anchored/);
  });

  it("searches for an organization id, a contract name, a proposal number and a member key id", async () => {
    const searchFor = async (text: string) => {
      await page.getByLabel(/^Search by height/).fill(text);
      await page.getByLabel(/^Search by height/).press("Enter");
    };
    await searchFor("health-commission");
    await waitForHeading(page, "Health Commission");
    await searchFor(seeded.contract.name);
    await waitForHeading(page, `Contract ${seeded.contract.name}`);
    await searchFor("#2");
    await waitForHeading(page, /Proposal #2/);
    await searchFor(bytesToHex(city.keyOf("mayor").keyId));
    await waitForHeading(page, "Members");
    await page.getByTestId("member-roles").filter({ hasText: "official" }).waitFor();
    // A number that is both a block and a proposal: the reader picks.
    await searchFor("3");
    await page.getByTestId("search-hits").getByRole("link", { name: "Proposal #3" }).waitFor();
  });

  it("imports a CLI key file into the wallet and shows the key's roles", async () => {
    const clerk = city.keyOf("records-clerk");
    await page.goto(`${baseUrl}/wallet`);
    await waitForHeading(page, "Wallet");
    // The form to add a key (the page also offers to unlock the key made earlier).
    const form = page.getByRole("form", { name: "Add a key" });
    await form.getByLabel("Import a key file").check();
    await form.getByTestId("key-file").setInputFiles(clerk.file);
    await form.getByLabel("Key file passphrase").fill(readFileSync(city.passphraseFile, "utf8").trim());
    await form.getByLabel("Name", { exact: true }).fill("Records clerk");
    await form.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    await form.getByLabel("Passphrase again").fill(PASSPHRASE);
    await form.getByRole("button", { name: "Import key" }).click();
    await page.getByTestId("wallet-membership").waitFor({ timeout: 30_000 });
    assert.match((await page.getByTestId("wallet-roles").textContent()) ?? "", /official/);
    assert.match(
      (await page.getByTestId("wallet-membership").textContent()) ?? "",
      /city-hall.*records-office/s,
    );
    assert.match((await page.getByTestId("wallet-member-status").textContent()) ?? "", /Active/);
    assert.match((await page.locator("main").textContent()) ?? "", new RegExp(bytesToHex(clerk.keyId)));
    await screenshot(page, "desktop-wallet-member");
    assert.deepEqual(await seriousAccessibilityIssues(page), []);
  });

  it("switches to Simplified Chinese and back", async () => {
    await page.goto(`${baseUrl}/transactions/${receiptHash}`);
    await page.getByTestId("transaction-status").filter({ hasText: "Committed" }).waitFor();
    await page.getByTestId("language-switch").click();
    await page.getByRole("link", { name: "区块", exact: true }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
    await page.getByTestId("transaction-status").filter({ hasText: "已提交于区块" }).waitFor();
    await screenshot(page, "desktop-transaction-zh");
    await page.goto(`${baseUrl}/`);
    await waitForHeading(page, "链状态");
    await screenshot(page, "desktop-status-zh");
    await page.getByTestId("language-switch").click();
    await waitForHeading(page, "Chain status");
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
  });

  it("fits a phone's width, with the navigation behind a menu button", async () => {
    const phone = await browser.newContext({
      viewport: PHONE,
      locale: "en-US",
      isMobile: true,
      hasTouch: true,
    });
    try {
      const phonePage = await phone.newPage();
      const routes: readonly [string, string][] = [
        ["status", "/"],
        ["blocks", "/blocks"],
        ["receipt", `/receipts/${receiptHash}`],
        ["verify", "/verify"],
        ["wallet", "/wallet"],
        ["organizations", "/organizations"],
        ["organization", "/organizations/city-hall"],
        ["member", `/members/${bytesToHex(city.keyOf("records-clerk").keyId)}`],
        ["governance", "/governance"],
        ["proposal", "/proposals/1"],
        ["contracts", "/contracts"],
        ["contract", `/contracts/${seeded.contract.name}`],
        ["events-key", `/events?key=${encodeURIComponent(seeded.serviceRequest)}`],
        ["parameters", "/parameters"],
      ];
      for (const [name, path] of routes) {
        await phonePage.goto(`${baseUrl}${path}`);
        await phonePage.locator("main h1").waitFor();
        // Every part of the page has loaded ("networkidle" never comes on the status page: it
        // reloads the status at each block, every 500 ms on this chain).
        await phonePage.waitForFunction(
          () => document.querySelector('main [data-testid="loading"]') === null,
        );
        const overflow = await phonePage.evaluate(
          () => document.documentElement.scrollWidth - window.innerWidth,
        );
        assert.ok(overflow <= 0, `${name} is ${overflow} px wider than the phone`);
        await screenshot(phonePage, `phone-${name}`);
        if (name === "proposal" || name === "organization") {
          assert.deepEqual(await seriousAccessibilityIssues(phonePage), [], name);
        }
      }
      await phonePage.goto(`${baseUrl}/`);
      const menu = phonePage.getByRole("button", { name: "Menu" });
      assert.equal(await phonePage.getByRole("link", { name: "Blocks", exact: true }).isVisible(), false);
      await menu.click();
      assert.equal(await menu.getAttribute("aria-expanded"), "true");
      await phonePage.getByRole("link", { name: "Blocks", exact: true }).click();
      await waitForHeading(phonePage, "Blocks");
      assert.deepEqual(await seriousAccessibilityIssues(phonePage), []);
    } finally {
      await phone.close();
    }
  });

  it("logged no script error", () => {
    assert.deepEqual(pageErrors, []);
  });
});
