import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { PORT } from '../playwright.config';
import { hydrated, signedInState } from '../tests/helpers';

// What a first visit (empty cache) of each page transfers: its HTML and the
// scripts, wasm and styles it loads, each counted as the server sends it to a
// client that accepts brotli. Every page must stay within its budget in
// budget.json, which is set at what was reached, so it can only go down.

const PAGES = ['/login', '/', '/devices', '/content', '/playlists', '/schedules', '/health', '/analytics', '/settings', '/player'];
const BUDGET_FILE = path.join(__dirname, 'budget.json');

type Kind = 'html' | 'js' | 'wasm' | 'css';

function kindOf(url: URL, type: string): Kind | null {
  if (type === 'document') return 'html';
  if (!url.pathname.startsWith('/pkg/')) return null;
  if (url.pathname.endsWith('.wasm')) return 'wasm';
  if (url.pathname.endsWith('.js')) return 'js';
  if (url.pathname.endsWith('.css')) return 'css';
  return null;
}

/** The bytes the server sends for `url` to a brotli client (undecoded). */
function brotliBytes(url: string, cookie: string): Promise<{ bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': 'br', cookie } }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ bytes, encoding: String(res.headers['content-encoding'] ?? 'none') }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function firstVisit(browser: Browser, storageState: any, pagePath: string) {
  const context = await browser.newContext({ storageState, serviceWorkers: 'block' });
  const page = await context.newPage();
  const loaded: { url: string; kind: Kind }[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    const kind = kindOf(url, r.resourceType());
    if (kind && url.port === String(PORT)) loaded.push({ url: r.url(), kind });
  });
  await page.goto(pagePath);
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const sizes: Record<Kind, number> = { html: 0, js: 0, wasm: 0, css: 0 };
  const files: string[] = [];
  for (const { url, kind } of loaded) {
    const { bytes, encoding } = await brotliBytes(url, cookie);
    sizes[kind] += bytes;
    files.push(`${new URL(url).pathname} ${bytes} ${encoding}`);
  }
  await context.close();
  return { sizes, files, wasmFiles: loaded.filter((l) => l.kind === 'wasm').length };
}

test('a first visit of each page stays within its budget', async ({ browser }) => {
  const budget: Record<string, number> = JSON.parse(fs.readFileSync(BUDGET_FILE, 'utf8'));
  const signedIn = await signedInState(browser);

  const rows: string[] = [];
  const over: string[] = [];
  const reached: Record<string, number> = {};
  const kb = (n: number) => (n / 1024).toFixed(1).padStart(8);
  rows.push(`${'page'.padEnd(12)} ${'html'.padStart(8)} ${'js'.padStart(8)} ${'wasm'.padStart(8)} ${'css'.padStart(8)} ${'total KiB'.padStart(10)} ${'budget'.padStart(8)}  wasm files`);
  for (const p of PAGES) {
    const { sizes, files, wasmFiles } = await firstVisit(browser, p === '/login' || p === '/player' ? undefined : signedIn, p);
    const total = sizes.html + sizes.js + sizes.wasm + sizes.css;
    reached[p] = total;
    const limit = budget[p];
    rows.push(
      `${p.padEnd(12)} ${kb(sizes.html)} ${kb(sizes.js)} ${kb(sizes.wasm)} ${kb(sizes.css)} ${kb(total).padStart(10)} ${limit ? kb(limit) : '    none'}  ${wasmFiles}`,
    );
    if (process.env.SIZE_FILES) rows.push(...files.map((f) => `    ${f}`));
    if (!limit || total > limit) over.push(`${p}: ${total} bytes, budget ${limit ?? 'none'}`);
  }
  console.log(`\nfirst visit, brotli as served (KiB; budgets in end2end/size/budget.json)\n${rows.join('\n')}\n`);
  if (process.env.SIZE_WRITE_BUDGET) {
    // Set each budget at what was reached, plus 1% for the HTML's live data.
    const next = Object.fromEntries(Object.entries(reached).map(([p, n]) => [p, Math.ceil(n * 1.01)]));
    fs.writeFileSync(BUDGET_FILE, JSON.stringify(next, null, 2) + '\n');
    console.log(`budgets written to ${BUDGET_FILE}`);
    return;
  }
  expect(over, 'pages over their budget').toEqual([]);
});
