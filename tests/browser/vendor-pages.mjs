// Browser checks of the vendor pages and of an upstream dependency on the status page, in
// Debian's Chromium driven by playwright-core.
//
//   node tests/browser/vendor-pages.mjs <base-url> <artifacts-dir> <vendor-slug> <incident-id> <fixture.json>
//
// Run by tests/browser_vendors.rs against a real `pharos serve` that follows GitHub (played by
// a local server replaying <fixture.json>, a Statuspage summary with one open incident) and
// has a component "Deployments" depending on GitHub's "Pull Requests", holding a partial
// outage. What the vendor pages must show is read from that fixture, and what `/` must show
// from /api/v2/summary.json, so the HTML is checked against its sources rather than a copy.
//
// Each check runs in its own browser context (viewport, JavaScript on or off) and also fails on
// console errors, uncaught page errors, failed requests, HTTP errors and any request that
// would leave the server under test (the vendor's links are checked, never followed). Every
// check runs even when an earlier one failed; the exit code is 0 only when all passed.
// Screenshots go to <artifacts-dir>. The browser is always closed, also on a timeout.

import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
// Playwright adds a fresh temporary --user-data-dir itself (under $TMPDIR) and removes it on
// close; passing one here is refused.
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
// Everything must be done by then; the caller kills us a little later.
const WATCHDOG_MS = 100_000;
const STEP_TIMEOUT_MS = 15_000;
const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 360, height: 740 };
const MOBILE_CONTEXT = { viewport: MOBILE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

const [baseArg, artifactsDir, slug, incidentId, fixturePath] = process.argv.slice(2);
if (!baseArg || !artifactsDir || !slug || !incidentId || !fixturePath) {
  console.error(
    "usage: node vendor-pages.mjs <base-url> <artifacts-dir> <vendor-slug> <incident-id> <fixture.json>",
  );
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, "");
const vendorPath = `/vendors/${encodeURIComponent(slug)}`;
const incidentPath = `${vendorPath}/incidents/${encodeURIComponent(incidentId)}`;

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

// tests/browser_vendors.rs sends SIGTERM past its deadline: stop at once, closing the browser.
let stopping = false;
process.once("SIGTERM", async () => {
  stopping = true;
  console.error("FAIL: stopped by SIGTERM (the caller's deadline passed)");
  try {
    await browser?.close();
  } finally {
    process.exit(1);
  }
});

// --- what the pages must show -------------------------------------------------------

// The labels the pages give statuses and impacts (src/http/public/html/text.rs).
const STATUS_LABELS = {
  operational: "Operational",
  degraded_performance: "Degraded performance",
  partial_outage: "Partial outage",
  major_outage: "Major outage",
  under_maintenance: "Under maintenance",
};
const IMPACT_LABELS = { none: "No impact", minor: "Minor impact", major: "Major impact", critical: "Critical impact" };
const INCIDENT_STATUS_LABELS = {
  investigating: "Investigating",
  identified: "Identified",
  monitoring: "Monitoring",
  resolved: "Resolved",
};
const SEVERITY = ["operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"];

// Text as a reader sees it: whitespace collapsed.
function squash(text) {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

// A time as the pages write it: UTC, to the second.
function toSecond(iso) {
  return Math.floor(Date.parse(iso) / 1000) * 1000;
}

async function api(pathname) {
  const resp = await fetch(base + pathname);
  assert.equal(resp.status, 200, `GET ${pathname} answered ${resp.status}`);
  return resp.json();
}

// The vendor's side, from the payload its (local) status page serves.
const source = JSON.parse(await readFile(fixturePath, "utf8"));
const vendorName = source.page.name;
const vendorComponents = source.components.filter((c) => !c.group);
const worstStatus = vendorComponents
  .map((c) => c.status)
  .reduce((a, b) => (SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a), "operational");
assert.equal(source.incidents.length, 1, "the fixture should have one open incident");
const vendorIncident = source.incidents[0];
assert.equal(vendorIncident.resolved_at, null, "the fixture's incident should be open");
assert.ok(vendorIncident.shortlink, "the fixture's incident has no shortlink");
// Statuspage lists updates newest first, as the page must; sorted here all the same.
const vendorUpdates = [...vendorIncident.incident_updates]
  .map((u) => ({ body: squash(u.body), at: toSecond(u.display_at ?? u.created_at) }))
  .sort((a, b) => b.at - a.at);
assert.ok(vendorUpdates.length >= 2, "the fixture's incident needs two updates to check their order");
const affectedNames = vendorIncident.components.map((c) => c.name);

// Our side: the component holding a status because of its vendor dependency.
const summary = await api("/api/v2/summary.json");
const dependent = summary.components.find((c) => Array.isArray(c.upstream) && c.upstream.length > 0);
assert.ok(dependent, "no component of /api/v2/summary.json has an upstream entry");
assert.equal(dependent.status, "partial_outage", `${dependent.name} should hold partial_outage`);
const upstream = dependent.upstream[0];
assert.equal(upstream.vendor_slug, slug, "the upstream entry names another vendor");
const upstreamText = `${upstream.vendor} — ${upstream.component}: ${STATUS_LABELS[upstream.status]}`;

// --- harness ----------------------------------------------------------------------

// A context whose console errors, page errors, failed requests, HTTP errors and requests to
// anywhere but the server under test are recorded, to be checked by `assertClean`. Requests
// elsewhere are aborted: the test has no network, and must not need one.
async function openContext(options) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const problems = [];
  await context.route(
    (url) => url.origin !== new URL(base).origin && url.protocol !== "data:",
    (route) => {
      problems.push(`request off the server under test: ${route.request().method()} ${route.request().url()}`);
      return route.abort("blockedbyclient");
    },
  );
  context.on("console", (msg) => {
    if (msg.type() === "error") {
      const where = msg.location();
      problems.push(`console error: ${msg.text()} (${where.url}:${where.lineNumber})`);
    }
  });
  context.on("weberror", (err) => problems.push(`uncaught error: ${err.error().message}`));
  context.on("requestfailed", (req) =>
    problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`),
  );
  context.on("response", (resp) => {
    if (resp.status() >= 400) problems.push(`HTTP ${resp.status()}: ${resp.request().method()} ${resp.url()}`);
  });
  context.problems = problems;
  return context;
}

function assertClean(context) {
  assert.deepEqual(context.problems, [], `the pages had errors:\n  ${context.problems.join("\n  ")}`);
}

async function visit(page, pathname) {
  const resp = await page.goto(base + pathname, { waitUntil: "load" });
  assert.equal(resp?.status(), 200, `GET ${pathname} answered ${resp?.status()}`);
}

async function screenshot(page, name) {
  const file = path.join(artifactsDir, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${file}`);
}

// Runs `body` with a fresh context and page, checks that nothing went wrong on the pages,
// and always closes the context.
async function withPage(options, body) {
  const context = await openContext(options);
  try {
    const page = await context.newPage();
    await body(page, context);
    assertClean(context);
  } finally {
    await context.close();
  }
}

const results = [];

async function check(name, body) {
  if (stopping) return;
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name} (${Date.now() - started} ms)`);
    console.log(`  ${String(err?.stack ?? err).replace(/\n/g, "\n  ")}`);
  }
}

// --- what the pages show ----------------------------------------------------------

// The dependent component on `/`: its held status and one "Upstream:" line linking to the
// vendor's page.
async function assertUpstream(page) {
  const rows = await page.locator("li.component").evaluateAll((lis) =>
    lis.map((li) => ({
      name: li.querySelector(".component-name")?.textContent.trim(),
      badge: li.querySelector(".component-head .badge")?.textContent ?? "",
      upstream: [...li.querySelectorAll("p.upstream")].map((p) => ({
        text: p.textContent,
        links: [...p.querySelectorAll("a")].map((a) => ({ href: a.getAttribute("href"), text: a.textContent })),
        visible: p.getClientRects().length > 0,
      })),
    })),
  );
  const row = rows.find((r) => r.name === dependent.name);
  assert.ok(row, `component "${dependent.name}" missing; the page shows ${JSON.stringify(rows.map((r) => r.name))}`);
  assert.match(
    squash(row.badge),
    new RegExp(`${STATUS_LABELS.partial_outage}$`),
    `"${dependent.name}" shows "${squash(row.badge)}", not the held status`,
  );
  assert.equal(row.upstream.length, 1, `"${dependent.name}" has ${row.upstream.length} upstream lines`);
  const [line] = row.upstream;
  assert.ok(line.visible, "the upstream line is not visible");
  assert.equal(squash(line.text), `Upstream: ${upstreamText}`, "the upstream line");
  assert.deepEqual(
    line.links.map((l) => ({ href: l.href, text: squash(l.text) })),
    [{ href: vendorPath, text: upstreamText }],
    "the upstream line's link",
  );
  for (const other of rows.filter((r) => r.name !== dependent.name)) {
    assert.equal(other.upstream.length, 0, `"${other.name}" has no vendor dependency but shows one`);
  }
}

// The incident page: its facts, the vendor's link, the affected components and the timeline
// newest first. Works with and without JavaScript (which only rewrites the times' text).
async function assertIncidentPage(page) {
  assert.equal(squash(await page.locator("h1").innerText()), vendorIncident.name, "the incident page's heading");
  const kicker = await page.locator(".kicker a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  assert.deepEqual(kicker, ["/vendors", vendorPath], "the breadcrumb links");
  const meta = squash(await page.locator(".incident-page > p.meta").innerText());
  for (const want of [IMPACT_LABELS[vendorIncident.impact], INCIDENT_STATUS_LABELS[vendorIncident.status]]) {
    assert.ok(meta.includes(want), `the incident's badges read "${meta}", without "${want}"`);
  }

  // dt is upper-cased by CSS: read textContent, not innerText.
  const facts = await page.locator("dl.facts > div").evaluateAll((divs) =>
    Object.fromEntries(
      divs.map((d) => [
        d.querySelector("dt")?.textContent.trim(),
        {
          text: d.querySelector("dd")?.textContent.replace(/\s+/g, " ").trim(),
          times: [...d.querySelectorAll("dd time")].map((t) => t.getAttribute("datetime")),
          links: [...d.querySelectorAll("dd a")].map((a) => ({
            href: a.getAttribute("href"),
            text: a.textContent.trim(),
            rel: a.getAttribute("rel") ?? "",
          })),
        },
      ]),
    ),
  );
  const labels = Object.keys(facts);
  for (const want of ["Started", "Resolved", "Duration", "Detected by", "Source"]) {
    assert.ok(labels.includes(want), `the facts have no "${want}": ${JSON.stringify(labels)}`);
  }
  assert.deepEqual(facts.Started.times.map(Date.parse), [toSecond(vendorIncident.started_at)], "Started");
  assert.equal(facts.Resolved.text, "Not yet", "Resolved, for an open incident");

  // Measured from the vendor's start, not from when Pharos first saw it; rounded down, so at
  // most an hour (the unit after days) under the time since the start.
  const duration = facts.Duration.text;
  const m = duration.match(/^(?:under 1 min|(\d+) min|(\d+)h(?: (\d+)m)?|(\d+)d(?: (\d+)h)?) so far$/);
  assert.ok(m, `the open incident's duration reads "${duration}"`);
  const shownMin =
    Number(m[1] ?? 0) + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) + Number(m[4] ?? 0) * 1440 + Number(m[5] ?? 0) * 60;
  const sinceStartMin = (Date.now() - Date.parse(vendorIncident.started_at)) / 60_000;
  assert.ok(
    shownMin <= sinceStartMin + 1 && shownMin >= sinceStartMin - 120,
    `the duration reads "${duration}" (${shownMin} min); the incident started ${Math.round(sinceStartMin)} min ago`,
  );

  const detected = facts["Detected by"];
  assert.match(detected.text, /^Pharos, first seen \S/, `"Detected by" reads "${detected.text}"`);
  assert.equal(detected.times.length, 1, `"Detected by" has ${detected.times.length} <time> elements`);
  const firstSeen = Date.parse(detected.times[0]);
  assert.ok(
    firstSeen >= toSecond(vendorIncident.started_at) && firstSeen <= Date.now(),
    `first seen at ${detected.times[0]}: not between the incident's start and now`,
  );

  const source = facts.Source;
  assert.ok(source.text.startsWith(`Reported by ${vendorName}`), `"Source" reads "${source.text}"`);
  assert.equal(source.links.length, 1, `"Source" has ${source.links.length} links`);
  assert.equal(source.links[0].text, "View vendor source");
  assert.equal(source.links[0].href, vendorIncident.shortlink, "the vendor source link");
  for (const rel of ["noopener", "noreferrer"]) {
    assert.ok(source.links[0].rel.split(/\s+/).includes(rel), `the vendor source link has rel="${source.links[0].rel}"`);
  }

  const chips = (await page.locator("section[aria-labelledby=affected] ul.chips > li").allTextContents()).map(squash);
  assert.deepEqual(chips, affectedNames, "the affected components");

  const timeline = await page.locator("ol.timeline > li.update").evaluateAll((lis) =>
    lis.map((li) => ({
      label: li.querySelector(".update-label")?.textContent.trim(),
      body: li.querySelector(".vendor-text")?.textContent.replace(/\s+/g, " ").trim(),
      at: li.querySelector(".posted time")?.getAttribute("datetime"),
      visible: li.getClientRects().length > 0,
    })),
  );
  assert.equal(timeline.length, vendorUpdates.length, `the timeline shows ${timeline.length} updates`);
  const times = timeline.map((u) => Date.parse(u.at));
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i - 1] > times[i], `the timeline is not newest first: ${timeline.map((u) => u.at).join(", ")}`);
  }
  timeline.forEach((u, i) => {
    assert.ok(u.visible, `timeline entry ${i + 1} is hidden`);
    assert.ok(u.label, `timeline entry ${i + 1} has no label`);
    assert.equal(u.body, vendorUpdates[i].body, `timeline entry ${i + 1} (newest first)`);
    assert.equal(times[i], vendorUpdates[i].at, `the time of timeline entry ${i + 1}`);
  });
}

// When the vendor was last checked, as a reader sees it: "Last checked <date>" without
// JavaScript; with it, the script says it again relative to now ("Checked 2 minutes ago"),
// and the label must not be said twice.
async function assertLastChecked(checked, javaScript) {
  const text = squash(await checked.innerText());
  const at = await checked.locator("time").getAttribute("datetime");
  assert.ok(at && Date.parse(at) <= Date.now(), `"${text}" has the time ${at}`);
  const want = javaScript
    ? /^Checked (just now|1 minute ago|\d+ minutes ago)$/
    : /^Last checked [A-Z][a-z]{2} \d{2}, \d{4} - \d{2}:\d{2} UTC$/;
  assert.match(text, want, "when the vendor was last checked");
}

// Fails, naming the widest elements, when the page scrolls sideways. With mobile emulation
// Chromium zooms out to fit content wider than the screen, and `innerWidth` grows with it, so
// the limit is also the layout viewport's width (`clientWidth`) and the emulated screen's.
async function assertNoHorizontalScroll(page, pathname) {
  const m = await page.evaluate((screen) => {
    const root = document.documentElement;
    const limit = Math.min(window.innerWidth, root.clientWidth, screen);
    const wide = [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`);
    return { scrollWidth: root.scrollWidth, innerWidth: window.innerWidth, limit, wide };
  }, MOBILE.width);
  assert.ok(
    m.scrollWidth <= m.limit,
    `${pathname} scrolls sideways at ${MOBILE.width} px: scrollWidth ${m.scrollWidth} > ${m.limit} ` +
      `(innerWidth ${m.innerWidth}); wider than the screen: ${m.wide.join(", ")}`,
  );
}

// --- the checks -------------------------------------------------------------------

async function main() {
  await mkdir(artifactsDir, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
    handleSIGTERM: false,
  });
  console.log(`chromium ${browser.version()}, ${base}, vendor ${slug}, incident ${incidentId}`);

  await check(`desktop: ${dependent.name} holds a partial outage and shows its upstream problem`, () =>
    withPage({ viewport: DESKTOP }, async (page) => {
      await visit(page, "/");
      await assertUpstream(page);
      await screenshot(page, "status-upstream-desktop.png");
      const link = page.locator("li.component p.upstream a").first();
      await Promise.all([page.waitForURL(base + vendorPath), link.click()]);
      assert.equal(squash(await page.locator("h1").innerText()), vendorName, "the upstream link's target");
    }),
  );

  await check(`mobile ${MOBILE.width}x${MOBILE.height}: the upstream line, no horizontal scrolling`, () =>
    withPage(MOBILE_CONTEXT, async (page) => {
      await visit(page, "/");
      await assertUpstream(page);
      await assertNoHorizontalScroll(page, "/");
      await screenshot(page, "status-upstream-mobile.png");
    }),
  );

  await check("/vendors lists the vendor with its status and when it was last checked", () =>
    withPage({ viewport: DESKTOP }, async (page) => {
      await visit(page, "/vendors");
      const rows = await page.locator("ul.vendors > li.vendor").evaluateAll((lis) =>
        lis.map((li) => ({
          name: li.querySelector(".component-name")?.textContent.trim(),
          href: li.querySelector(".component-name")?.getAttribute("href"),
          badge: li.querySelector(".badge")?.textContent.replace(/\s+/g, " ").trim(),
          text: li.textContent.replace(/\s+/g, " ").trim(),
        })),
      );
      assert.equal(rows.length, 1, `/vendors lists ${JSON.stringify(rows.map((r) => r.name))}`);
      const [row] = rows;
      assert.equal(row.name, vendorName);
      assert.equal(row.href, vendorPath);
      assert.ok(row.badge?.endsWith(STATUS_LABELS[worstStatus]), `the vendor's status reads "${row.badge}"`);
      await assertLastChecked(page.locator("ul.vendors > li.vendor .checked"), true);
      assert.ok(
        row.text.includes(`Open incident: ${vendorIncident.name}`),
        `the open incident is not mentioned: "${row.text}"`,
      );
      await screenshot(page, "vendors.png");
    }),
  );

  await check(`${vendorPath}: components, the open incident, and a link to it`, () =>
    withPage({ viewport: DESKTOP }, async (page) => {
      await visit(page, vendorPath);
      assert.equal(squash(await page.locator("h1").innerText()), vendorName);
      const meta = squash(await page.locator("main > p.meta").innerText());
      assert.ok(meta.includes(STATUS_LABELS[worstStatus]), `the vendor's status reads "${meta}"`);
      await assertLastChecked(page.locator("main > p.checked"), true);

      const shown = await page.locator("table.vendor-components tbody tr").evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent.replace(/\s+/g, " ").trim())),
      );
      const want = vendorComponents.map((c) => [c.name, STATUS_LABELS[c.status]]);
      assert.equal(shown.length, want.length, `the table has ${shown.length} rows, the source ${want.length} components`);
      for (const [name, label] of want) {
        const row = shown.find(([n]) => n === name);
        assert.ok(row, `component "${name}" missing from the table`);
        assert.ok(row[1].endsWith(label), `"${name}" reads "${row[1]}", not "${label}"`);
      }

      const items = page.locator("ul.vendor-incidents > li");
      assert.equal(await items.count(), 1, "the vendor page should list one incident");
      const item = squash(await items.first().innerText());
      for (const wantText of [
        vendorIncident.name,
        IMPACT_LABELS[vendorIncident.impact],
        INCIDENT_STATUS_LABELS[vendorIncident.status],
        "so far",
      ]) {
        assert.ok(item.includes(wantText), `the incident reads "${item}", without "${wantText}"`);
      }
      const link = items.first().getByRole("link", { name: vendorIncident.name });
      assert.equal(await link.getAttribute("href"), incidentPath, "the incident link");
      await Promise.all([page.waitForURL(base + incidentPath), link.click()]);
      assert.equal(squash(await page.locator("h1").innerText()), vendorIncident.name, "the incident link's target");
    }),
  );

  await check("incident page: facts, first seen, the vendor's source link, affected components, timeline", () =>
    withPage({ viewport: DESKTOP }, async (page) => {
      await visit(page, incidentPath);
      await assertIncidentPage(page);
      await screenshot(page, "vendor-incident-desktop.png");
    }),
  );

  await check(`mobile ${MOBILE.width}x${MOBILE.height}: the vendor pages do not scroll sideways`, () =>
    withPage(MOBILE_CONTEXT, async (page) => {
      for (const pathname of ["/vendors", vendorPath, incidentPath]) {
        await visit(page, pathname);
        await assertNoHorizontalScroll(page, pathname);
      }
      // The last page visited is the incident page.
      await assertIncidentPage(page);
      await screenshot(page, "vendor-incident-mobile.png");
    }),
  );

  await check("JavaScript disabled: the incident page still shows all of it; last checked times", () =>
    withPage({ viewport: DESKTOP, javaScriptEnabled: false }, async (page) => {
      await visit(page, incidentPath);
      assert.equal(await page.locator("html.js").count(), 0, "the script ran although JavaScript is disabled");
      await assertIncidentPage(page);
      await visit(page, "/vendors");
      await assertLastChecked(page.locator("ul.vendors > li.vendor .checked"), false);
      await visit(page, vendorPath);
      await assertLastChecked(page.locator("main > p.checked"), false);
    }),
  );

  await check('keyboard: Tab reaches "View vendor source", with visible focus', () =>
    withPage({ viewport: DESKTOP }, async (page) => {
      await visit(page, incidentPath);
      const stops = [];
      for (let i = 0; i < 30 && stops.at(-1)?.text !== "View vendor source"; i++) {
        await page.keyboard.press("Tab");
        stops.push(
          await page.evaluate(() => {
            const el = document.activeElement;
            const s = getComputedStyle(el);
            const box = el.getBoundingClientRect();
            return {
              tag: el.tagName.toLowerCase(),
              text: (el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 40),
              href: el.getAttribute("href"),
              visible: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < window.innerHeight,
              focusRing: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none",
            };
          }),
        );
      }
      const describe = (s) => `<${s.tag}> "${s.text}"`;
      const stop = stops.at(-1);
      assert.equal(stop?.text, "View vendor source", `Tab never reached it: ${stops.map(describe).join(", ")}`);
      assert.equal(stop.href, vendorIncident.shortlink);
      assert.ok(stop.visible, "the focused vendor source link is not on screen");
      assert.ok(stop.focusRing, "the focused vendor source link shows no outline or box-shadow");
      await screenshot(page, "vendor-incident-keyboard.png");
    }),
  );
}

try {
  await main();
} catch (err) {
  results.push({ name: "setup", ok: false });
  console.log(`FAIL setup: ${err?.stack ?? err}`);
} finally {
  await browser?.close().catch((err) => console.log(`closing the browser failed: ${err}`));
  clearTimeout(watchdog);
}

const failed = results.filter((r) => !r.ok);
console.log(`${results.length - failed.length} of ${results.length} browser checks passed`);
process.exitCode = failed.length ? 1 : 0;
