import { expect, test } from '@playwright/test';
import { addDisplay, addUser, devicesPage, row, unique } from './helpers';

test('a viewer sees no edit controls, and a forged mutation is refused', async ({ browser }) => {
  const admin = await devicesPage(browser);
  const name = unique('Viewer-proof');
  await addDisplay(admin, name);

  const viewer = await devicesPage(browser, addUser('viewer'));
  await expect(row(viewer, name)).toBeVisible();
  await expect(viewer.getByRole('button', { name: 'Add display' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Edit' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Delete' })).toHaveCount(0);

  // Forge the op the Edit button would send, with the viewer's own session.
  const deviceId = await row(viewer, name).getAttribute('data-id');
  const forged = await viewer.request.post('/api/ops/apply', {
    headers: { 'content-type': 'application/json', origin: 'http://127.0.0.1:3100' },
    data: {
      op: {
        op_id: crypto.randomUUID(),
        base_version: 1,
        change: { kind: 'update_device', device_id: deviceId, patch: { name: 'Hijacked' } },
      },
    },
  });
  expect(forged.status()).toBe(403);
  expect((await forged.json()).code).toBe('forbidden');

  // A cross-site request with an admin's session is refused as well.
  const crossSite = await admin.request.post('/api/ops/apply', {
    headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
    data: { op: { op_id: crypto.randomUUID(), base_version: 1, change: { kind: 'delete_device', device_id: deviceId } } },
  });
  expect(crossSite.status()).toBe(403);

  await admin.reload();
  await expect(row(admin, name)).toBeVisible();
  await expect(row(admin, 'Hijacked')).toHaveCount(0);
});
