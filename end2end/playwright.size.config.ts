import base from './playwright.config';
import { defineConfig } from '@playwright/test';

// `make size`: what a first visit of each page transfers, against its budget
// (end2end/size/budget.json). Same server and browser as the suite.
export default defineConfig({ ...base, testDir: './size', workers: 1, fullyParallel: false, timeout: 120_000 });
