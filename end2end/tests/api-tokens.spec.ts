import { randomUUID } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { hydrated, signIn, unique } from './helpers';

test('an admin makes an API token in Settings: shown once, works as Bearer, and stops when revoked', async ({ page, playwright }) => {
  await signIn(page, undefined, '/settings');
  await hydrated(page);
  const name = unique('CI token');
  const tokens = page.getByRole('region', { name: 'API tokens' });
  await tokens.getByLabel('Token name').fill(name);
  await tokens.getByLabel('Role').selectOption('editor');
  await tokens.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.locator('.token-secret').textContent())!.trim();
  expect(secret).toMatch(/^vz_[0-9a-f]{64}$/);
  const tokenRow = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name }) });
  await expect(tokenRow).toContainText('active');

  // A fresh client with no cookies: only the token.
  const api = await playwright.request.newContext({ baseURL: page.url().replace(/\/settings$/, '') });
  const auth = { authorization: `Bearer ${secret}` };
  const key = `e2e-${randomUUID()}`;
  const created = await api.post('/api/v1/devices', {
    headers: { ...auth, 'idempotency-key': key },
    data: { name: `${name} display`, timezone: 'Europe/Berlin' },
  });
  expect(created.status()).toBe(201);
  const replay = await api.post('/api/v1/devices', {
    headers: { ...auth, 'idempotency-key': key },
    data: { name: `${name} display`, timezone: 'Europe/Berlin' },
  });
  expect(await replay.json()).toEqual(await created.json());
  const badKey = await api.post('/api/v1/devices', { headers: { ...auth, 'idempotency-key': 'has spaces' }, data: { name: 'x' } });
  expect(badKey.status()).toBe(400);
  expect((await badKey.json()).message).toContain('Idempotency-Key must be');
  const doc = await api.get('/api/v1/openapi.json');
  expect((await doc.json()).paths['/api/v1/devices']).toBeTruthy();

  await tokenRow.getByRole('button', { name: 'Revoke' }).click();
  await expect(tokenRow).toContainText('revoked');
  const after = await api.get('/api/v1/devices', { headers: auth });
  expect(after.status()).toBe(401);
  expect((await after.json()).code).toBe('unauthenticated');
  await page.reload();
  await expect(page.locator('.token-secret')).toHaveCount(0);
});
