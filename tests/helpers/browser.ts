/**
 * Headless Chromium for the browser tests: Debian's `chromium`, driven by
 * playwright-core (its own browser download cannot work here). Tests pass
 * `ignore: !haveChromium`; a missing browser is reported once, not failed.
 */
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!haveChromium) {
  console.warn(`browser test skipped: ${CHROMIUM} not found (apt-get install chromium)`);
}

/** Where screenshots are kept (gitignored). */
export const ARTIFACTS = new URL("../artifacts/", import.meta.url);

/** Launches headless Chromium with `--no-sandbox` and any further `args`. */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", ...args],
  });
}

/**
 * A page at a phone's size; `problems` collects page errors and console
 * errors (a CSP violation shows there).
 */
export async function phonePage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(String(err)));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  return { page, problems };
}

/** Saves a full-page screenshot as tests/artifacts/<name>. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: new URL(name, ARTIFACTS).pathname, fullPage: true });
}
