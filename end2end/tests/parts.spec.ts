import { expect, test, type Browser } from '@playwright/test';
import { ADMIN } from '../playwright.config';
import { hydrated, signedInState, signIn } from './helpers';

// The browser build is split (`cargo leptos build --split`, src/app.rs): a
// shared part (vizora.*.wasm) that every page loads, and the parts of the
// login page, the player and the console, each with the chunks of code it
// shares with another part. A page must load its own part and never another's.

type Loaded = { parts: Set<string>; chunks: number; main: number; files: string[] };

/** The wasm a first visit of `path` fetches, with an empty cache. */
async function firstVisit(browser: Browser, path: string, storageState?: any): Promise<Loaded> {
  const context = await browser.newContext({ storageState, serviceWorkers: 'block' });
  const page = await context.newPage();
  const files: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/pkg/') && url.pathname.endsWith('.wasm')) files.push(url.pathname);
  });
  await page.goto(path);
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  await context.close();
  const parts = new Set<string>();
  let chunks = 0;
  let main = 0;
  for (const f of files) {
    const name = f.slice('/pkg/'.length);
    const part = /^split_([a-z]+)_part_\d+\./.exec(name);
    if (part) parts.add(part[1]);
    else if (/^chunk_\d+\./.test(name)) chunks += 1;
    else if (/^vizora\./.test(name)) main += 1;
    else throw new Error(`a wasm file of no known kind: ${f}`);
  }
  return { parts, chunks, main, files };
}

test('each page loads the shared part and its own, and never another page\'s', async ({ browser }) => {
  const signedIn = await signedInState(browser);

  const seen: Record<string, Loaded> = {};
  for (const [path, state, part] of [
    ['/login', undefined, 'login'],
    ['/player', undefined, 'player'],
    ['/devices', signedIn, 'console'],
    ['/schedules', signedIn, 'console'],
    ['/', signedIn, 'console'],
  ] as const) {
    const loaded = await firstVisit(browser, path, state);
    seen[path] = loaded;
    expect(loaded.main, `${path}: the shared part, once`).toBe(1);
    expect([...loaded.parts], `${path}: its own part only (${loaded.files.join(', ')})`).toEqual([part]);
  }
  // Console pages share one part, so they fetch the same files.
  expect(seen['/schedules'].files.sort()).toEqual(seen['/devices'].files.sort());
  console.log(
    Object.entries(seen)
      .map(([p, l]) => `${p}: ${l.files.length} wasm files (${l.chunks} shared chunks)`)
      .join('\n'),
  );
});

test('moving between console pages fetches no code, and the console opens from the login page with its part', async ({ page }) => {
  const fetched: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/pkg/') && url.pathname.endsWith('.wasm')) fetched.push(url.pathname);
  });
  await signIn(page, ADMIN, '/devices');
  await hydrated(page);
  expect(fetched.some((f) => f.includes('console_part')), 'the console part loaded').toBe(true);
  fetched.length = 0;
  for (const name of ['Schedules', 'Analytics', 'Content', 'Overview']) {
    const started = Date.now();
    await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    console.log(`${name}: shown ${Date.now() - started} ms after the click`);
  }
  expect(fetched, 'no code fetched between console pages').toEqual([]);
});
