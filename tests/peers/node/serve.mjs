// A json-server on 127.0.0.1 for tests/test_peers.py, counting the requests it answers.
//
//   node serve.mjs 0.17|1 DB.json
//
// Prints {"port": N} on its first line once it listens (port chosen by the system); GET /__requests
// answers {"requests": N} (not counted). "0.17" is json-server 0.17 (_page/_limit, _start/_limit,
// Link and X-Total-Count headers); "1" is json-server 1.x (_page/_per_page, {first, prev, next,
// last, pages, items, data}).
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [line, file] = process.argv.slice(2);
const data = JSON.parse(readFileSync(file, 'utf-8'));
let handle;
if (line === '0.17') {
  const jsonServer = createRequire(import.meta.url)('json-server');
  const app = jsonServer.create();
  app.use(jsonServer.defaults({ logger: false }));
  app.use(jsonServer.router(data));
  handle = app;
} else if (line === '1') {
  // json-server 1.x's own lowdb (7.x), nested under it; the top-level lowdb is 0.17's (1.x).
  const { Low, Memory } = await import(new URL('node_modules/lowdb/lib/index.js', import.meta.resolve('json-server-1/package.json')));
  const { createApp } = await import('json-server-1/lib/app.js');
  const app = createApp(new Low(new Memory(), data), { logger: false });
  handle = (req, res) => app.handler(req, res);
} else {
  console.error(`unknown json-server line ${line}: use 0.17 or 1`);
  process.exit(2);
}

let requests = 0;
const server = createServer((req, res) => {
  if (req.url === '/__requests') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ requests }));
    return;
  }
  requests += 1;
  handle(req, res);
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
