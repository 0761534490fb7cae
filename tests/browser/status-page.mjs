// Browser checks of the public pages, in Debian's Chromium driven by playwright-core.
//
//   node tests/browser/status-page.mjs <base-url> <artifacts-dir> <incident-short-id>
//
// Run by tests/browser.rs against a real `pharos serve` it has seeded (groups, components, an
// open incident with a Markdown update, a resolved one with a postmortem). What the page must
// show is read from the Statuspage-compatible JSON API of the same server, so the HTML is
// checked against the API rather than against a copy of the seed.
//
// Each check runs in its own browser context (viewport, colour scheme, JavaScript on or off)
// and also fails on console errors, uncaught page errors, failed requests and HTTP errors.
// Every check runs even when an earlier one failed; the exit code is 0 only when all passed.
// Screenshots go to <artifacts-dir>. The browser is always closed, also on a timeout.

import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
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
const BAR_CELLS = 90;

const [baseArg, artifactsDir, incidentId] = process.argv.slice(2);
if (!baseArg || !artifactsDir || !incidentId) {
  console.error("usage: node status-page.mjs <base-url> <artifacts-dir> <incident-short-id>");
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, "");
const incidentPath = `/incidents/${encodeURIComponent(incidentId)}`;

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

// tests/browser.rs sends SIGTERM past its deadline: stop at once, closing the browser.
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

// --- the API: what the pages must show --------------------------------------------------

async function api(pathname) {
  const resp = await fetch(base + pathname);
  assert.equal(resp.status, 200, `GET ${pathname} answered ${resp.status}`);
  return resp.json();
}

// Text as a reader sees it: whitespace collapsed.
function squash(text) {
  return text.replace(/\s+/g, " ").trim();
}

// The pieces of a Markdown body a reader sees: headings, bold text, list items, and the
// first line of plain prose (the phrase that identifies the body on a page).
function markdownParts(body) {
  const lines = body.split("\n").map((l) => l.trim());
  const inline = (s) => s.replace(/\*\*|__|`/g, "").replace(/\\(.)/g, "$1");
  const headings = lines.filter((l) => /^#{1,6}\s/.test(l)).map((l) => inline(l.replace(/^#+\s+/, "")));
  const items = lines.filter((l) => /^([-*+]|\d+\.)\s/.test(l)).map((l) => inline(l.replace(/^([-*+]|\d+\.)\s+/, "")));
  const bold = [...body.matchAll(/\*\*([^*]+)\*\*/g)].map((m) => m[1]);
  const prose = lines.find((l) => l && !/^(#{1,6}|[-*+>]|\d+\.)\s/.test(l));
  return { headings, items, bold, phrase: squash(inline(prose ?? headings[0] ?? body)) };
}

const summary = await api("/api/v2/summary.json");
const status = await api("/api/v2/status.json");
const { incidents } = await api("/api/v2/incidents.json");
const groups = summary.components.filter((c) => c.group);
const components = summary.components.filter((c) => !c.group);
const incident = incidents.find((i) => i.id === incidentId);
assert.ok(incident, `incident ${incidentId} is not in /api/v2/incidents.json`);
assert.equal(incident.resolved_at, null, `incident ${incidentId} should be open`);
// Statuspage lists updates newest first, as the page must.
const updates = incident.incident_updates.map((u) => ({ status: u.status, ...markdownParts(u.body) }));
assert.ok(groups.length > 0 && components.length > 0, "the API lists no groups or components");
assert.ok(updates.length >= 2, "the incident needs at least two updates to check their order");
const rich = updates.find((u) => u.headings.length && u.bold.length && u.items.length);
assert.ok(rich, "no update of the incident has a Markdown heading, bold text and a list");

// --- harness ----------------------------------------------------------------------

// Requests allowed to fail, each reported once as a note. Empty: the pages declare an inline
// icon, so Chromium no longer asks for /favicon.ico.
const KNOWN_GAPS = [];
const notedGaps = new Set();

function isKnownGap(url) {
  let pathname;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return false;
  }
  const gap = KNOWN_GAPS.find((g) => g.path === pathname);
  if (gap && !notedGaps.has(gap.path)) {
    notedGaps.add(gap.path);
    console.log(`note (known gap): ${gap.note}`);
  }
  return Boolean(gap);
}

// A context whose console errors, page errors, failed requests and HTTP errors are recorded,
// to be checked by `assertClean`.
async function openContext(options) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const problems = [];
  context.on("console", (msg) => {
    if (msg.type() === "error" && !isKnownGap(msg.location().url)) {
      const where = msg.location();
      problems.push(`console error: ${msg.text()} (${where.url}:${where.lineNumber})`);
    }
  });
  context.on("weberror", (err) => problems.push(`uncaught error: ${err.error().message}`));
  context.on("requestfailed", (req) =>
    problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`),
  );
  context.on("response", (resp) => {
    if (resp.status() >= 400 && !isKnownGap(resp.url()))
      problems.push(`HTTP ${resp.status()}: ${resp.request().method()} ${resp.url()}`);
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

// The status page shows every group and component, each with one bar of exactly 90 days.
async function assertComponents(page) {
  const groupNames = await page.locator("details.group > summary h3").allInnerTexts();
  for (const g of groups) {
    assert.ok(
      groupNames.map(squash).includes(g.name),
      `group "${g.name}" missing; the page shows ${JSON.stringify(groupNames)}`,
    );
  }
  const rows = await page.locator("li.component").evaluateAll((lis) =>
    lis.map((li) => ({
      name: li.querySelector(".component-name")?.textContent.trim(),
      visible: li.getClientRects().length > 0,
      bars: li.querySelectorAll("svg.bar").length,
      cells: li.querySelectorAll("svg.bar rect").length,
    })),
  );
  for (const c of components) {
    const row = rows.find((r) => r.name === c.name);
    assert.ok(row, `component "${c.name}" missing; the page shows ${JSON.stringify(rows.map((r) => r.name))}`);
    assert.ok(row.visible, `component "${c.name}" is not visible`);
  }
  for (const row of rows) {
    assert.equal(row.bars, 1, `component "${row.name}" has ${row.bars} uptime bars`);
    assert.equal(row.cells, BAR_CELLS, `the uptime bar of "${row.name}" has ${row.cells} cells, not ${BAR_CELLS}`);
  }
}

// The incident page: its whole timeline newest first, with rendered Markdown, and a duration.
async function assertIncidentPage(page) {
  const shown = await page.locator("ol.timeline > li.update .prose").allInnerTexts();
  assert.equal(shown.length, updates.length, `the timeline shows ${shown.length} updates, the API ${updates.length}`);
  updates.forEach((u, i) => {
    assert.ok(
      squash(shown[i]).includes(u.phrase),
      `timeline entry ${i + 1} should be the ${u.status} update ("${u.phrase}"), newest first; it reads "${squash(shown[i])}"`,
    );
  });

  const prose = page.locator("ol.timeline > li.update .prose").nth(updates.indexOf(rich));
  const headings = (await prose.locator("h1, h2, h3, h4, h5, h6").allInnerTexts()).map(squash);
  for (const h of rich.headings)
    assert.ok(headings.includes(h), `heading "${h}" not rendered; headings: ${JSON.stringify(headings)}`);
  const bold = (await prose.locator("strong").allInnerTexts()).map(squash);
  for (const b of rich.bold) assert.ok(bold.includes(b), `bold "${b}" not rendered; bold: ${JSON.stringify(bold)}`);
  const items = (await prose.locator("ul > li, ol > li").allInnerTexts()).map(squash);
  for (const item of rich.items)
    assert.ok(items.includes(item), `list item "${item}" not rendered; items: ${JSON.stringify(items)}`);
  const raw = await prose.innerText();
  assert.ok(!/\*\*|^#{1,6}\s|^[-*]\s/m.test(raw), `Markdown syntax shows as text: "${raw}"`);

  const facts = await page
    .locator("dl.facts > div")
    .evaluateAll((divs) =>
      Object.fromEntries(
        divs.map((d) => [d.querySelector("dt")?.textContent.trim(), d.querySelector("dd")?.textContent.trim()]),
      ),
    );
  assert.match(
    facts.Duration ?? "",
    /^(under 1 min|\d+ min|\d+h( \d+m)?|\d+d( \d+h)?) so far$/,
    `the open incident's duration reads "${facts.Duration}"`,
  );
}

// Fails, naming the widest elements, when the page scrolls sideways. With mobile emulation
// Chromium zooms out to fit content wider than the screen, and `innerWidth` grows with it
// (a 600 px element gives innerWidth 608), so the limit is also the layout viewport's width
// (`clientWidth`) and the emulated screen's.
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

function parseRgb(css) {
  const m = css.match(/rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/);
  assert.ok(m, `not an rgb() colour: ${css}`);
  return { rgb: [m[1], m[2], m[3]].map(Number), alpha: m[4] === undefined ? 1 : Number(m[4]) };
}

// WCAG relative luminance, 0 (black) to 1 (white).
function luminance([r, g, b]) {
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

async function bodyColours(page) {
  const css = await page.evaluate(() => {
    const s = getComputedStyle(document.body);
    return { background: s.backgroundColor, text: s.color };
  });
  const background = parseRgb(css.background);
  assert.equal(background.alpha, 1, `the body background is not opaque: ${css.background}`);
  return { css, background: background.rgb, text: parseRgb(css.text).rgb };
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
  console.log(`chromium ${browser.version()}, ${base}, incident ${incidentId}`);

  let lightBackground;

  await check("desktop: groups, components, 90-day bars and the overall status", () =>
    withPage({ viewport: DESKTOP, colorScheme: "light" }, async (page) => {
      await visit(page, "/");
      await assertComponents(page);
      const banner = squash(await page.locator("section.banner h1").innerText());
      assert.ok(
        banner.includes(status.status.description),
        `the banner reads "${banner}", the API says "${status.status.description}"`,
      );
      const open = await page.locator("article.card.incident h3").allInnerTexts();
      assert.ok(
        open.map(squash).includes(incident.name),
        `active incident "${incident.name}" missing: ${JSON.stringify(open)}`,
      );
      lightBackground = (await bodyColours(page)).background;
      await screenshot(page, "desktop.png");
      // The script shows a day's details under the bar on hover (SVG titles are mouse-only).
      const bar = page.locator("li.component svg.bar").first();
      await bar.locator("rect").last().hover();
      const tip = squash(await page.locator("li.component .bar-tip").first().innerText());
      assert.ok(tip.length > 0, "hovering a day of an uptime bar shows no details");
    }),
  );

  await check("incident page: timeline newest first, Markdown, duration", () =>
    withPage({ viewport: DESKTOP }, async (page) => {
      await visit(page, incidentPath);
      const title = squash(await page.locator("h1").innerText());
      assert.equal(title, incident.name, "the incident page's heading");
      await assertIncidentPage(page);
      await screenshot(page, "incident.png");
    }),
  );

  await check(`mobile ${MOBILE.width}x${MOBILE.height}: no horizontal scrolling`, () =>
    withPage({ viewport: MOBILE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }, async (page) => {
      for (const pathname of ["/history", incidentPath, "/"]) {
        await visit(page, pathname);
        await assertNoHorizontalScroll(page, pathname);
      }
      // The last page visited is the status page.
      await screenshot(page, "mobile.png");
    }),
  );

  await check("dark mode: a dark background, unlike light mode, with readable text", () =>
    withPage({ viewport: DESKTOP, colorScheme: "dark" }, async (page) => {
      await visit(page, "/");
      const dark = await bodyColours(page);
      const lum = luminance(dark.background);
      assert.ok(
        lum < 0.2,
        `the dark body background ${dark.css.background} has luminance ${lum.toFixed(3)}, not < 0.2`,
      );
      if (lightBackground) {
        assert.notDeepEqual(dark.background, lightBackground, "dark and light mode have the same background");
      }
      const ratio = contrast(dark.background, dark.text);
      assert.ok(
        ratio >= 4.5,
        `body text ${dark.css.text} on ${dark.css.background} has contrast ${ratio.toFixed(2)}:1, below 4.5:1`,
      );
      await screenshot(page, "dark.png");
    }),
  );

  await check("JavaScript disabled: components and the incident timeline still show", () =>
    withPage({ viewport: DESKTOP, javaScriptEnabled: false }, async (page) => {
      await visit(page, "/");
      const scripted = await page.locator("html.js").count();
      assert.equal(scripted, 0, "the script ran although JavaScript is disabled");
      await assertComponents(page);
      assert.ok(
        await page.getByText("Times are shown in UTC.").isVisible(),
        "the no-script note on UTC times is hidden",
      );
      await visit(page, incidentPath);
      await assertIncidentPage(page);
    }),
  );

  await check("keyboard: Tab reaches links and summaries, with visible focus", () =>
    withPage({ viewport: DESKTOP }, async (page) => {
      await visit(page, "/");
      const stops = [];
      for (let i = 0; i < 40 && !stops.some((s) => s.tag === "summary"); i++) {
        await page.keyboard.press("Tab");
        // The first stop is the skip link, which appears only while focused.
        if (i === 0) await page.screenshot({ path: path.join(artifactsDir, "keyboard.png") });
        stops.push(
          await page.evaluate(() => {
            const el = document.activeElement;
            const s = getComputedStyle(el);
            const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
            const shadow = s.boxShadow !== "none";
            const box = el.getBoundingClientRect();
            return {
              tag: el.tagName.toLowerCase(),
              text: (el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 40),
              // On screen: the skip link sits off-screen until focused.
              visible:
                box.width > 0 &&
                box.height > 0 &&
                box.right > 0 &&
                box.bottom > 0 &&
                box.left < window.innerWidth &&
                box.top < window.innerHeight,
              focusRing: outline || shadow,
            };
          }),
        );
      }
      const describe = (s) => `<${s.tag}> "${s.text}"`;
      assert.ok(
        stops.length > 0 && ["a", "summary"].includes(stops[0].tag),
        `the first Tab stop is ${describe(stops[0])}`,
      );
      assert.ok(
        stops.some((s) => s.tag === "summary"),
        `Tab never reached a <summary>: ${stops.map(describe).join(", ")}`,
      );
      for (const s of stops.filter((s) => ["a", "summary"].includes(s.tag))) {
        assert.ok(s.visible, `focused ${describe(s)} is not on screen`);
        assert.ok(s.focusRing, `focused ${describe(s)} shows no outline or box-shadow`);
      }
    }),
  );

  await check("history and the postmortem are reachable from the status page", () =>
    withPage({ viewport: DESKTOP }, async (page) => {
      await visit(page, "/");
      const link = page.locator("a", { hasText: "Read the postmortem" }).first();
      assert.ok((await link.count()) > 0, "no 'Read the postmortem' link on the status page");
      await Promise.all([page.waitForURL(/\/incidents\/[^/]+#postmortem$/), link.click()]);
      assert.ok(await page.locator("#postmortem").isVisible(), "the postmortem is not shown");
      await visit(page, "/history");
      const listed = (await page.locator(".history-list h3").allInnerTexts()).map(squash);
      assert.ok(listed.includes(incident.name), `/history does not list "${incident.name}": ${JSON.stringify(listed)}`);
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
