import { expect, test } from '@playwright/test';
import { ADMIN } from '../playwright.config';
import { addDisplay, devicesPage, row, unique } from '../tests/helpers';

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, median: +at(0.5).toFixed(1), p95: +at(0.95).toFixed(1), worst: +s[s.length - 1].toFixed(1) };
}

test('click to DOM and click to server confirmation, 100 edits', async ({ browser }) => {
  const page = await devicesPage(browser);
  const name = unique('Bench');
  await addDisplay(page, name);
  const id = (await row(page, name).getAttribute('data-id'))!;
  const toDom: number[] = [];
  const toServer: number[] = [];
  for (let i = 1; i <= 100; i++) {
    await page.locator(`tr[data-id="${id}"] button`, { hasText: 'Edit' }).click();
    const next = `${name} r${i}`;
    await page.getByRole('dialog', { name: 'Edit display' }).getByLabel('Name').fill(next);
    const [dom, server] = await page.evaluate(
      ({ id, next }) =>
        new Promise<[number, number]>((resolve) => {
          const cell = () => document.querySelector(`tr[data-id="${id}"] th`);
          const pending = document.querySelector('.sync .pending')!;
          let dom = -1;
          performance.mark('click');
          const t0 = performance.now();
          const check = () => {
            if (dom < 0 && cell()?.textContent?.startsWith(next)) dom = performance.now() - t0;
            if (dom >= 0 && pending.getAttribute('data-count') === '0') {
              observer.disconnect();
              performance.mark('confirmed');
              resolve([dom, performance.now() - t0]);
            }
          };
          const observer = new MutationObserver(check);
          observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
          (document.querySelector('form.dialog button[type="submit"]') as HTMLButtonElement).click();
          check();
        }),
      { id, next },
    );
    toDom.push(dom);
    toServer.push(server);
  }
  console.log(`BENCH click→DOM (ms) ${JSON.stringify(stats(toDom))}`);
  console.log(`BENCH click→server confirmation (ms) ${JSON.stringify(stats(toServer))}`);
  expect(toDom.length).toBe(100);
});

test('outbox replay: 1,000 queued ops after a reload', async ({ browser }) => {
  const page = await devicesPage(browser);
  const name = unique('Replay');
  await addDisplay(page, name);
  const id = (await row(page, name).getAttribute('data-id'))!;
  const since = (await (await page.request.get('/api/v1/events?wait=0')).json()).head;
  // 1,000 renames as the outbox stores them, written while the page is away.
  await page.evaluate(
    ({ id, name, email }) => {
      const prefix = `vizora.outbox.v2.Northwind Signage.${email}`;
      const now = Date.now();
      for (let i = 1; i <= 1000; i++) {
        const op_id = crypto.randomUUID();
        const op = { op_id, base_version: 1, change: { kind: 'update_device', device_id: id, patch: { name: `${name} q${i}` } } };
        localStorage.setItem(`${prefix}.${op_id}`, JSON.stringify({ op, queued_at: now, order: i, attempts: 0, last_error: null, base: null }));
      }
    },
    { id, name, email: ADMIN.email },
  );
  const t0 = Date.now();
  await page.reload();
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached({ timeout: 30_000 });
  const restored = Date.now() - t0;
  const shown = Number(await page.locator('.sync .pending').getAttribute('data-count'));
  await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '0', { timeout: 240_000 });
  const total = Date.now() - t0;
  const events = (await (await page.request.get(`/api/v1/events?since=${since}&wait=0&limit=1000`)).json()).events;
  const names = events.filter((e: { body: { device?: { id: string } } }) => e.body.device?.id === id).map((e: { body: { device: { name: string } } }) => e.body.device.name);
  console.log(`BENCH outbox replay: page hydrated with ${shown} of 1000 ops pending ${restored} ms after reload; all 1000 confirmed ${total} ms after reload (${(total / 1000).toFixed(1)} ms per op)`);
  expect(names).toEqual(Array.from({ length: 1000 }, (_, i) => `${name} q${i + 1}`));
});
