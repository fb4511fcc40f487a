import base from './playwright.config';
import { defineConfig } from '@playwright/test';

// Benchmarks: same server and browser as the suite, one worker, figures printed
// rather than asserted (timings are measured here, never in tests).
export default defineConfig({ ...base, testDir: './bench', workers: 1, fullyParallel: false, timeout: 300_000 });
