// Browser test of the built book, the way a reader sees it: Debian's headless
// Chromium driven by playwright-core, the site served under a sub-path as on
// GitHub Pages. Prints TAP; saves a screenshot of every page it checks.
//
//   node tests/browser/book.mjs BUILT_HTML_DIR TRANSCRIPTS_DIR SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFile, readdir, mkdir } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const [site, transcripts, shots] = process.argv.slice(2);
const BASE = '/rustguess/';
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml',
  '.json': 'application/json', '.png': 'image/png', '.woff2': 'font/woff2', '.cast': 'text/plain' };

// A static server for the built book at BASE, like GitHub Pages.
const server = createServer(async (req, res) => {
  const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (!url.startsWith(BASE)) { res.writeHead(404).end(); return; }
  let path = normalize(join(site, url.slice(BASE.length)));
  if (url.endsWith('/')) path = join(path, 'index.html');
  try {
    const body = await readFile(path);
    res.writeHead(200, { 'content-type': TYPES[extname(path)] || 'application/octet-stream' }).end(body);
  } catch { res.writeHead(404).end('not found'); }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const root = `http://127.0.0.1:${server.address().port}${BASE}`;

let n = 0, failed = 0;
function report(name, err) {
  n += 1;
  if (!err) { console.log(`ok ${n} - browser/${name}`); return; }
  failed += 1;
  console.log(`not ok ${n} - browser/${name}`);
  for (const line of String(err).split('\n').slice(0, 12)) console.log(`#   ${line}`);
}
async function test(name, fn) {
  try { await fn(); report(name); } catch (e) { report(name, e.message || e); }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
await mkdir(shots, { recursive: true });
const pages = (await readdir(site)).filter((f) => f.endsWith('.html') && !['print.html', '404.html', 'toc.html'].includes(f));

// The last lines of a recorded session must be on the player's screen at its end.
async function expectedTail(cast) {
  const text = await readFile(join(transcripts, `${cast}.txt`), 'utf8');
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-2);
}

for (const file of pages.sort()) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url}:${m.location().lineNumber})`);
  });
  page.on('pageerror', (e) => errors.push(e.message));
  let bytes = 0;
  page.on('response', async (r) => { try { bytes += (await r.body()).length; } catch { /* redirects */ } });
  await page.goto(root + file, { waitUntil: 'networkidle' });
  const name = file.replace(/\.html$/, '');

  const casts = await page.locator('.asciicast[data-cast]').count();
  if (casts > 0) {
    await test(`${name}: ${casts} cast player(s) play to the recorded end`, async () => {
      await page.waitForFunction((k) => (window.rustguessPlayers || []).length >= k, casts, { timeout: 10000 })
        .catch(() => {});
      const names = await page.evaluate(() => (window.rustguessPlayers || []).map((p) => p.name));
      if (names.length !== casts) throw new Error(`${casts} cast elements but ${names.length} players (is the player script loaded?)`);
      for (let i = 0; i < names.length; i++) {
        // Play at full speed by seeking to the end, then read the terminal.
        await page.evaluate(async (i) => {
          const p = window.rustguessPlayers[i].player;
          await p.seek(p.getDuration ? await p.getDuration() : 1e6);
        }, i);
        const term = page.locator('.asciicast').nth(i).locator('.ap-term');
        await term.waitFor({ timeout: 15000 });
        await page.waitForTimeout(300);
        // Long lines wrap in the terminal, so compare without any whitespace.
        const shown = (await term.innerText()).replace(/\s+/g, '');
        for (const line of await expectedTail(names[i])) {
          if (!shown.includes(line.replace(/\s+/g, ''))) {
            throw new Error(`cast ${names[i]}: terminal does not show ${JSON.stringify(line)}; it shows: ${shown.slice(-300)}`);
          }
        }
      }
    });
  }

  const diagrams = await page.locator('pre.mermaid').count();
  if (diagrams > 0) {
    await test(`${name}: ${diagrams} mermaid diagram(s) render as SVG`, async () => {
      await page.waitForFunction((k) => document.querySelectorAll('pre.mermaid svg').length >= k, diagrams, { timeout: 15000 });
    });
  }

  if (file === 'index.html') {
    console.log(`# first page weight: ${Math.round(bytes / 1024)} KiB (${file}, all resources)`);
    await test('search finds global_lock', async () => {
      await page.click('#mdbook-search-toggle');
      await page.locator('#mdbook-searchbar').pressSequentially('global_lock', { delay: 20 });
      await page.waitForSelector('#mdbook-searchresults li', { timeout: 10000 });
    });
  }
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
  await test(`${name}: no console errors`, async () => {
    if (errors.length) throw new Error(errors.join('\n'));
  });
  await page.close();
}

await browser.close();
server.close();
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
