// A FeathersJS 5 app (Koa transport) on 127.0.0.1 for tests/test_peers.py, counting the requests it answers.
//
//   node feathers.mjs DB.json
//
// Serves DB.json's "items" as a memory service at /items, paginated as Feathers' docs show it
// (paginate: {default: 10, max: 50}): GET /items?$limit=25&$skip=50 answers {total, limit, skip, data}.
// Any other query key is a filter on a field (GET /items?skip=10 answers total 0). Prints {"port": N}
// on its first line once it listens (port chosen by the system); GET /__requests answers
// {"requests": N} (not counted).
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { feathers } from '@feathersjs/feathers';
import { koa, rest, bodyParser, errorHandler } from '@feathersjs/koa';
import { MemoryService } from '@feathersjs/memory';

const [file] = process.argv.slice(2);
const { items } = JSON.parse(readFileSync(file, 'utf-8'));

let requests = 0;
const app = koa(feathers());
app.use(async (ctx, next) => {
  if (ctx.path === '/__requests') {
    ctx.body = { requests };
    return;
  }
  requests += 1;
  await next();
});
app.use(errorHandler());
app.use(bodyParser());
app.configure(rest());
// The records keep their ids (the memory service's store is keyed by id, served in key order).
const store = Object.fromEntries(items.map((item) => [item.id, item]));
app.use('items', new MemoryService({ id: 'id', store, paginate: { default: 10, max: 50 } }));

const server = await app.listen(0, '127.0.0.1');
if (!server.listening) {
  await once(server, 'listening');
}
console.log(JSON.stringify({ port: server.address().port }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
