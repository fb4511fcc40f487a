import { defineConfig } from '@playwright/test';

// The suite runs against the release build (`make e2e` builds it first), on a
// fresh SQLite data directory, in Debian's Chromium: Playwright's own browser
// download cannot work on these machines.
// E2E_PORT lets two checkouts run the suite side by side.
export const PORT = Number(process.env.E2E_PORT ?? 3100);
export const DATA_DIR = 'target/e2e-data';
export const ADMIN = { email: 'admin@vizora.test', password: 'e2e-admin-password' };

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: true,
  workers: 2,
  // One retry, so a single timing flake does not block everything else; the
  // list reporter still names every spec that needed it ("flaky"). Seen
  // flaky on these 2-core machines: player (offline within three intervals),
  // cause not found yet; api-tokens (Settings' hydration ids taken in server
  // task order), sync (offline reload, the service worker) and accounts (a
  // deactivation sent with the version from before the role change) were
  // product defects, since fixed. Defects to fix, not to live with.
  retries: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `rm -rf ${DATA_DIR} && ./target/release/vizora serve --demo --bind 127.0.0.1:${PORT} --data-dir ${DATA_DIR} --config end2end/vizora.e2e.toml`,
    cwd: '..',
    url: `http://127.0.0.1:${PORT}/readyz`,
    reuseExistingServer: !!process.env.E2E_REUSE_SERVER,
    timeout: 60_000,
    stdout: 'pipe',
    env: {
      VIZORA_ADMIN_EMAIL: ADMIN.email,
      VIZORA_ADMIN_PASSWORD: ADMIN.password,
      VIZORA_LOG: 'warn',
      // The demo fleet keeps its seeded statuses here; specs pair their own players.
      VIZORA_SIMULATE: 'off',
    },
  },
});
