// Browser test of the built book, the way a reader sees it: Debian's headless
// Chromium driven by playwright-core, the site served under a sub-path as on
// GitHub Pages. Prints TAP, its plan first: the tests each page gets are
// known from the built HTML before any page is opened, so a page that never
// loads fails its own tests by name, and a run that dies leaves a short
// stream. Saves a screenshot of every page it checks. tests/book-checks runs
// it in the harness chroot.
//
//   node tests/browser/book.mjs BUILT_HTML_DIR TRANSCRIPTS_DIR SCREENSHOT_DIR [PAGE_TIMEOUT_MS]
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFile, readdir, mkdir, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const [site, transcripts, shots, pageTimeout = '30000'] = process.argv.slice(2);
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
  for (const line of String(err).replace(/\x1b\[[0-9;]*m/g, '').split('\n').slice(0, 12)) console.log(`#   ${line}`);
}
async function test(name, fn) {
  try { await fn(); report(name); } catch (e) { report(name, e.message || e); }
}

const pages = (await readdir(site)).filter((f) => f.endsWith('.html') && !['print.html', '404.html', 'toc.html'].includes(f)).sort();

// The plan: each page's tests, from its HTML as built. A page that is not a
// regular file (it cannot be read up front) gets the tests every page has.
const planned = [];
for (const file of pages) {
  const html = (await stat(join(site, file))).isFile() ? await readFile(join(site, file), 'utf8') : '';
  planned.push({
    file,
    name: file.replace(/\.html$/, ''),
    casts: (html.match(/<div class="asciicast" data-cast="/g) || []).length,
    diagrams: (html.match(/<pre class="mermaid">/g) || []).length,
  });
}
// Each page's tests by name, in the order they run.
const testsOf = ({ file, name, casts, diagrams }) => [
  `${name}: loads`,
  ...(casts > 0 ? [`${name}: ${casts} cast player(s) play to the recorded end`] : []),
  ...(diagrams > 0 ? [`${name}: ${diagrams} mermaid diagram(s) render as SVG`] : []),
  ...(file === 'index.html' ? ['search finds global_lock'] : []),
  `${name}: no console errors`,
];
console.log(`1..${planned.reduce((k, p) => k + testsOf(p).length, 0)}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
await mkdir(shots, { recursive: true });

// The last lines of a recorded session must be on the player's screen at its end.
async function expectedTail(cast) {
  const text = await readFile(join(transcripts, `${cast}.txt`), 'utf8');
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-2);
}

for (const planEntry of planned) {
  const { file, name, casts, diagrams } = planEntry;
  const names = testsOf(planEntry);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultNavigationTimeout(Number(pageTimeout));
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url}:${m.location().lineNumber})`);
  });
  page.on('pageerror', (e) => errors.push(e.message));
  let bytes = 0;
  page.on('response', async (r) => { try { bytes += (await r.body()).length; } catch { /* redirects */ } });
  let loaded = false;
  await test(names[0], async () => {
    await page.goto(root + file, { waitUntil: 'networkidle' });
    loaded = true;
  });
  if (!loaded) {
    // Its other planned tests fail too: nothing of the page was seen.
    for (const other of names.slice(1)) report(other, 'the page did not load');
    await page.close().catch(() => {});
    continue;
  }

  if (casts > 0) {
    await test(names[1], async () => {
      const onPage = await page.locator('.asciicast[data-cast]').count();
      if (onPage !== casts) throw new Error(`${casts} cast elements in the HTML, ${onPage} on the page`);
      await page.waitForFunction((k) => (window.rustguessPlayers || []).length >= k, casts, { timeout: 10000 })
        .catch(() => {});
      const players = await page.evaluate(() => (window.rustguessPlayers || []).map((p) => p.name));
      if (players.length !== casts) throw new Error(`${casts} cast elements but ${players.length} players (is the player script loaded?)`);
      for (let i = 0; i < players.length; i++) {
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
        for (const line of await expectedTail(players[i])) {
          if (!shown.includes(line.replace(/\s+/g, ''))) {
            throw new Error(`cast ${players[i]}: terminal does not show ${JSON.stringify(line)}; it shows: ${shown.slice(-300)}`);
          }
        }
      }
    });
  }

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
console.log(`# ${n - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
