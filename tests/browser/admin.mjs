// The responder's flow through the admin UI in Debian's Chromium, driven by playwright-core.
//
//   node tests/browser/admin.mjs <base-url> <artifacts-dir> <setup-path>
//
// Run by tests/browser_admin.rs against a real `pharos serve` on a fresh data folder with two
// declared components ("API" and "Website" in the group "Core"), one declared, paused monitor
// ("Payments gateway") and no account yet;
// <setup-path> is the one-time set-up link the server logged.
//
// The steps run in order, each depending on the one before: create the first admin, sign out,
// sign in, open an incident on both components, switch to a 360 px wide viewport, post two
// updates with the status tiles (identified, then monitoring keeping its standard message),
// resolve, write a postmortem (previewed without JavaScript's help, then published), visit the
// operator's screens at 360 px (dashboard, components, monitors and one monitor, vendors,
// notification channels and outbox, users, tokens, audit, account: no horizontal scrolling,
// one h1, one main landmark each), sign out.
// After each change the public page (`/` and `/incidents/{id}`) must show it. Every admin page
// visited must label each form control; the run fails on any console error, uncaught page
// error, failed request or CSP violation. Screenshots of each step go to <artifacts-dir>. The
// browser is always closed, also on a timeout.

import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const WATCHDOG_MS = 130_000;
const STEP_TIMEOUT_MS = 15_000;
// How long the public page may take to show a change (the snapshot follows the event log).
const PUBLIC_DEADLINE_MS = 10_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };

const EMAIL = "ops@example.com";
const PASSWORD = "correct horse battery staple";
const INCIDENT = "Checkout errors";
// The monitor the configuration declares (paused, so it probes nothing).
const MONITOR = "Payments gateway";
const FIRST_TEXT = "We are seeing **errors** at checkout.";
const IDENTIFIED_TEXT = "Identified: a bad deploy of the payment client.";
const MONITORING_DEFAULT = "A fix has been implemented and we are monitoring the results.";
const CLOSING_TEXT = "Checkout works again for everyone.";
const POSTMORTEM_TEXT =
  "## What happened\n\nA deploy of the payment client sent requests to a retired endpoint.\n\n- Detected after 4 minutes";

const [baseArg, artifactsDir, setupPath] = process.argv.slice(2);
if (!baseArg || !artifactsDir || !setupPath) {
  console.error("usage: node admin.mjs <base-url> <artifacts-dir> <setup-path>");
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, "");

let browser;
const watchdog = setTimeout(async () => {
  console.error(`FAIL: the browser checks did not finish within ${WATCHDOG_MS / 1000} s`);
  try {
    await browser?.close();
  } finally {
    process.exit(1);
  }
}, WATCHDOG_MS);
watchdog.unref();
process.once("SIGTERM", async () => {
  console.error("FAIL: stopped by SIGTERM (the caller's deadline passed)");
  try {
    await browser?.close();
  } finally {
    process.exit(1);
  }
});

const problems = [];
let shot = 0;

async function screenshot(page, name) {
  shot += 1;
  const file = path.join(artifactsDir, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

/// Every visible form control has an accessible name from a label (or aria-label/-labelledby).
async function assertLabelled(page, where) {
  const unlabelled = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll("input, select, textarea")) {
      if (el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
      // Not rendered (the `hidden` attribute, as on a username field kept for password
      // managers): outside the accessibility tree, so no label is needed.
      if (el.closest("[hidden]") || el.getClientRects().length === 0) continue;
      const named =
        (el.labels && el.labels.length > 0 && [...el.labels].some((l) => l.textContent.trim() !== "")) ||
        (el.getAttribute("aria-label") || "").trim() !== "" ||
        (el.getAttribute("aria-labelledby") || "").trim() !== "";
      if (!named) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
  assert.deepEqual(unlabelled, [], `${where}: form controls without a label`);
}

/// No horizontal scrolling at the phone's width.
async function assertFits(page, where) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `${where}: the page is ${width} px wide at ${PHONE.width} px`);
}

/// One operator screen at the phone's width: it loads (200), fits without horizontal
/// scrolling, has exactly one h1 and one main landmark, labels its controls; a screenshot.
async function operatorScreen(page, pathname, name) {
  const response = await page.goto(base + pathname);
  assert.equal(response.status(), 200, `GET ${pathname}`);
  const layout = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    h1: document.querySelectorAll("h1").length,
    main: document.querySelectorAll("main, [role=main]").length,
    // What sticks out, to say which element to fix.
    wide: [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .filter((el) => !el.closest(".table-wrap, pre"))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.className ? "." + el.className : ""}`),
  }));
  assert.ok(
    layout.scrollWidth <= layout.innerWidth,
    `${pathname}: ${layout.scrollWidth} px wide at ${layout.innerWidth} px (sticking out: ${layout.wide.join(", ")})`,
  );
  assert.equal(layout.h1, 1, `${pathname}: one h1`);
  assert.equal(layout.main, 1, `${pathname}: one main landmark`);
  await assertLabelled(page, pathname);
  await screenshot(page, `phone-${name}`);
}

async function flash(page, text) {
  await page.locator(".flash", { hasText: text }).waitFor({ timeout: STEP_TIMEOUT_MS });
}

/// Loads a public path until it contains every text (the snapshot follows the log), or fails.
async function publicShows(page, pathname, texts, name) {
  const deadline = Date.now() + PUBLIC_DEADLINE_MS;
  let body = "";
  for (;;) {
    const response = await page.goto(base + pathname);
    assert.equal(response.status(), 200, `GET ${pathname}`);
    body = await page.locator("body").innerText();
    if (texts.every((t) => body.includes(t))) break;
    if (Date.now() > deadline) {
      assert.fail(`${pathname} did not show ${JSON.stringify(texts)} within ${PUBLIC_DEADLINE_MS} ms:\n${body}`);
    }
    await page.waitForTimeout(200);
  }
  await screenshot(page, name);
}

async function main() {
  await mkdir(artifactsDir, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  // CSP violations are reported in the page; pass them to the console, which is watched.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error on ${page.url()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error on ${page.url()}: ${err.message}`));
  page.on("requestfailed", (req) => {
    const error = req.failure()?.errorText;
    // A live preview still in flight when the form is submitted is cancelled by the
    // navigation (the browser aborts it): that is no failure of the page.
    if (error === "net::ERR_ABORTED" && req.url().endsWith("/admin/preview")) {
      return;
    }
    problems.push(`request failed: ${req.method()} ${req.url()} ${error}`);
  });
  page.on("request", (req) => {
    if (!req.url().startsWith(base) && !req.url().startsWith("data:")) {
      problems.push(`request to another site: ${req.url()}`);
    }
  });

  // 1. The first admin, from the one-time link.
  await page.goto(base + setupPath);
  await assertLabelled(page, "set-up");
  await screenshot(page, "setup");
  await page.getByLabel("Email").fill(EMAIL);
  await page.getByLabel("Name").fill("Olivia Ops");
  await page.getByLabel("Password", { exact: false }).first().fill(PASSWORD);
  await page.getByLabel("Password again").fill(PASSWORD);
  await page.getByRole("button", { name: "Create and sign in" }).click();
  await page.waitForURL(`${base}/admin**`);
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await screenshot(page, "dashboard-after-setup");

  // 2. Sign out, then in.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/admin\/login/);
  await screenshot(page, "signed-out");
  await page.goto(`${base}/admin/login`);
  await assertLabelled(page, "sign-in");
  await page.getByLabel("Email").fill(EMAIL);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await screenshot(page, "signed-in");

  // 3. Open an incident on both components, with a live preview of its first update.
  await page.getByRole("link", { name: "Incidents", exact: true }).click();
  await page.getByRole("heading", { name: "Incidents", exact: true }).waitFor();
  await assertLabelled(page, "incident list");
  await page.getByRole("link", { name: "Open an incident" }).click();
  await page.getByRole("heading", { name: "Open an incident" }).waitFor();
  await assertLabelled(page, "new incident");
  await page.getByLabel("Name", { exact: true }).fill(INCIDENT);
  const api = page.locator(".component-pick", { hasText: "API" });
  await api.getByRole("checkbox").check();
  await api.getByRole("combobox").selectOption("major_outage");
  const web = page.locator(".component-pick", { hasText: "Website" });
  await web.getByRole("checkbox").check();
  await web.getByRole("combobox").selectOption("partial_outage");
  await page.getByLabel("First update (Markdown)").fill(FIRST_TEXT);
  // The live preview is the server's sanitised rendering: the bold survives as <strong>.
  await page.locator("#incident-preview strong", { hasText: "errors" }).waitFor();
  await screenshot(page, "new-incident");
  await page.getByRole("button", { name: "Open incident" }).click();
  await flash(page, "The incident is open");
  const publicHref = await page.getByRole("link", { name: "public page" }).getAttribute("href");
  assert.match(publicHref, /^\/incidents\/[a-z0-9]+$/);
  const adminIncident = page.url();
  assert.match(adminIncident, /\/admin\/incidents\/[0-9a-f-]{36}/);
  await screenshot(page, "incident-opened");
  await publicShows(page, "/", [INCIDENT, "Major outage", "Partial outage"], "public-index-opened");
  await publicShows(page, publicHref, [INCIDENT, "Investigating", "We are seeing errors at checkout."], "public-incident-opened");

  // 4. Two updates at 360 px wide, each with the status tiles.
  await page.setViewportSize(PHONE);
  await page.goto(adminIncident);
  await page.getByRole("heading", { name: "Post an update" }).waitFor();
  await assertLabelled(page, "incident");
  await assertFits(page, "incident at 360 px");
  await page.locator("label.tile", { hasText: "Identified" }).click();
  // With the script, the tile puts the status's standard message in the box; it is replaced.
  assert.equal(
    await page.getByLabel(/^Message/).inputValue(),
    "The cause has been identified and a fix is being worked on.",
  );
  await page.getByLabel(/^Message/).fill(IDENTIFIED_TEXT);
  await screenshot(page, "phone-update-identified");
  await page.getByRole("button", { name: "Post update" }).click();
  await flash(page, "The update is posted.");
  await assertFits(page, "incident after an update at 360 px");
  await screenshot(page, "phone-identified-posted");
  await publicShows(page, publicHref, ["Identified", IDENTIFIED_TEXT], "public-identified");

  await page.goto(adminIncident);
  // Two taps: the tile, then "Post update", keeping the standard message.
  await page.locator("label.tile", { hasText: "Monitoring" }).click();
  await page.getByRole("button", { name: "Post update" }).click();
  await flash(page, "The update is posted.");
  await screenshot(page, "phone-monitoring-posted");
  await publicShows(page, publicHref, ["Monitoring", MONITORING_DEFAULT], "public-monitoring");

  // 5. Resolve with a closing message.
  await page.goto(adminIncident);
  await page.getByLabel("Closing message (optional, Markdown)").fill(CLOSING_TEXT);
  await page.getByRole("button", { name: "Resolve incident" }).click();
  await flash(page, "The incident is resolved.");
  await screenshot(page, "phone-resolved");
  await publicShows(page, publicHref, ["Resolved", CLOSING_TEXT], "public-resolved");

  // 6. The postmortem: previewed by the "Preview" button (a server round trip that keeps the
  // text), then published.
  await page.goto(adminIncident);
  await page.getByLabel("Postmortem (Markdown)").fill(POSTMORTEM_TEXT);
  await page.getByRole("button", { name: "Preview" }).last().click();
  await page.locator("#postmortem-preview h3", { hasText: "What happened" }).waitFor();
  assert.equal(await page.getByLabel("Postmortem (Markdown)").inputValue(), POSTMORTEM_TEXT);
  await screenshot(page, "phone-postmortem-preview");
  await page.getByRole("button", { name: "Publish" }).click();
  await flash(page, "The postmortem is published.");
  await screenshot(page, "phone-postmortem-published");
  await publicShows(page, publicHref, ["Postmortem", "What happened", "retired endpoint"], "public-postmortem");

  // 7. The operator's screens at 360 px: each fits the width (no horizontal scrolling), has
  // one h1 and one main landmark, and labels its form controls.
  await page.goto(`${base}/admin/monitors`);
  const monitorHref = await page
    .locator('a[href^="/admin/monitors/"]', { hasText: MONITOR })
    .first()
    .getAttribute("href");
  assert.match(monitorHref, /^\/admin\/monitors\/[0-9a-f-]{36}$/);
  for (const [pathname, name] of [
    ["/admin", "dashboard"],
    ["/admin/components", "components"],
    ["/admin/monitors", "monitors"],
    [monitorHref, "monitor"],
    ["/admin/vendors", "vendors"],
    ["/admin/notifications", "channels"],
    ["/admin/notifications/deliveries", "outbox"],
    ["/admin/users", "users"],
    ["/admin/tokens", "tokens"],
    ["/admin/audit", "audit"],
    ["/admin/account", "account"],
  ]) {
    await operatorScreen(page, pathname, name);
  }

  // 8. Sign out: /admin sends the browser to the sign-in form.
  await page.setViewportSize(DESKTOP);
  await page.goto(`${base}/admin`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/admin\/login/);
  await page.goto(`${base}/admin`);
  assert.match(page.url(), /\/admin\/login/, "a signed-out /admin goes to the sign-in form");
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await screenshot(page, "signed-out-at-the-end");

  assert.deepEqual(problems, [], "console errors, CSP violations or failed requests");
}

try {
  await main();
  console.log(`PASS: the admin flow, ${shot} screenshots`);
  await browser?.close();
  process.exit(0);
} catch (err) {
  console.error(`FAIL: ${err.stack || err}`);
  if (problems.length) console.error(problems.join("\n"));
  await browser?.close();
  process.exit(1);
}
