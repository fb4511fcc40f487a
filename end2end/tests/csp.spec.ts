import { expect, test, type Page } from '@playwright/test';
import { hydrated, row, unique } from './helpers';
import { livePage, pairScreen, png } from './media';

/** Collects every CSP violation the page reports, from its first script on. */
async function watchViolations(page: Page): Promise<string[]> {
  const seen: string[] = [];
  await page.exposeFunction('__cspViolation', (what: string) => seen.push(what));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { __cspViolation: (w: string) => void }).__cspViolation(
        `${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`,
      ),
    );
  });
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) seen.push(m.text());
  });
  return seen;
}

test('every console page runs under its strict Content-Security-Policy, hydration and the stream included', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = await watchViolations(page);
  const first = await page.goto('/login');
  const policy = first!.headers()['content-security-policy'];
  expect(policy).toContain("script-src 'self' 'nonce-");
  expect(policy).toContain("frame-ancestors 'none'");
  expect(first!.headers()['x-content-type-options']).toBe('nosniff');
  expect(first!.headers()['referrer-policy']).toBe('same-origin');
  // Each response has its own nonce, and the page's inline scripts carry it.
  const again = await page.request.get('/login');
  expect(again.headers()['content-security-policy']).not.toEqual(policy);

  const console = await livePage(browser, '/devices');
  const consoleViolations = await watchViolations(console);
  for (const path of ['/', '/devices', '/content', '/playlists', '/schedules', '/health', '/analytics', '/settings']) {
    await console.goto(path);
    await hydrated(console);
    await expect(console.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  }
  // A change goes out and comes back over the stream under the policy.
  const name = unique('CSP');
  await console.goto('/devices');
  await hydrated(console);
  await console.getByRole('button', { name: 'Add display' }).click();
  const dialog = console.getByRole('dialog', { name: 'Add display' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(row(console, name)).toBeVisible();
  await expect(console.locator('.sync .pending')).toHaveAttribute('data-count', '0');
  expect(violations).toEqual([]);
  expect(consoleViolations).toEqual([]);
});

test('the player runs under its policy: it pairs, plays an image and frames a web page', async ({ browser }) => {
  const screenContext = await browser.newContext({ viewport: { width: 960, height: 540 } });
  const screen = await screenContext.newPage();
  const violations = await watchViolations(screen);
  const response = await screen.goto('/player');
  expect(response!.headers()['content-security-policy']).toContain('frame-src http: https:');

  const operator = await livePage(browser, '/devices');
  const name = unique('CSP kiosk');
  await pairScreen(operator, screen, name);

  const tag = name.split(' ')[2];
  const [image] = await (
    await operator.request.post('/api/v1/content', {
      multipart: { file: { name: `CSP art ${tag}.png`, mimeType: 'image/png', buffer: png(64, 36, 77) } },
    })
  ).json();
  const page = await (
    await operator.request.post('/api/v1/content/web-pages', {
      data: { name: `CSP page ${tag}`, url: 'https://example.com/', reload_seconds: 60 },
    })
  ).json();
  const list = await (await operator.request.post('/api/v1/playlists', { data: { name: `CSP loop ${tag}` } })).json();
  await operator.request.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: image.id, duration_ms: 1500 } });
  await operator.request.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: page.id, duration_ms: 1500 } });
  await row(operator, name).getByRole('button', { name: 'Edit' }).click();
  const edit = operator.getByRole('dialog', { name: 'Edit display' });
  await edit.getByLabel('Playlist').selectOption({ label: `CSP loop ${tag}` });
  await edit.getByRole('button', { name: 'Save' }).click();

  await expect(screen.locator('img.slide')).toHaveAttribute('src', `/media/${image.sha256}.png`, { timeout: 10_000 });
  await expect(screen.locator('iframe.slide')).toHaveAttribute('src', 'https://example.com/', { timeout: 10_000 });
  expect(violations).toEqual([]);
});
