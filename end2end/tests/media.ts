import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { expect, type Browser, type Page } from '@playwright/test';
import { ADMIN, DATA_DIR } from '../playwright.config';
import { hydrated, row, signIn } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');
export const MEDIA_DIR = path.join(ROOT, DATA_DIR, 'media');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A real PNG (RGB, 8 bit) of the given size; `seed` changes its pixels and so its sha256. */
export function png(width: number, height: number, seed: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3;
      raw[at] = (x * 4 + seed) & 0xff;
      raw[at + 1] = (y * 4 + seed * 7) & 0xff;
      raw[at + 2] = (seed * 13) & 0xff;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Files in the media directory named by this hash (any extension). */
export function storedFiles(sha: string): string[] {
  if (!existsSync(MEDIA_DIR)) return [];
  return readdirSync(MEDIA_DIR).filter((f) => f.startsWith(sha));
}

/** A signed-in, hydrated, live page at `path`. */
export async function livePage(browser: Browser, path: string, who = ADMIN): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[${who.email}] page error: ${e.message}`));
  await signIn(page, who, path);
  await hydrated(page);
  await expect(page.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  return page;
}

/** A content card (grid view) by the item's name. */
export function card(page: Page, name: string) {
  return page.locator('.content-card').filter({ has: page.locator('.name', { hasText: name }) });
}

/** The names of a playlist editor's items, in order. */
export async function itemNames(page: Page): Promise<string[]> {
  return page.locator('.editor .items .item-name').allTextContents();
}

/** Pairs the /player page `screen` (showing its code) from Devices as `name`. */
export async function pairScreen(operator: Page, screen: Page, name: string): Promise<void> {
  const code = (await screen.getByLabel('Pairing code').textContent({ timeout: 15_000 }))!.trim();
  await operator.getByRole('button', { name: 'Pair display' }).click();
  const pair = operator.getByRole('dialog', { name: 'Pair display' });
  await pair.getByLabel('Code').fill(code);
  await pair.getByLabel('Name').fill(name);
  await pair.getByRole('button', { name: 'Pair' }).click();
  await expect(row(operator, name)).toContainText('paired');
}
