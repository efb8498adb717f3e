// The load generator as a process of its own (bench/load.ts spawns it), so autocannon never shares an event loop
// with the benchmark's bookkeeping or, worse, with a server it measures. Options arrive as JSON in argv[2]; the
// summary leaves as one JSON line on standard output.
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2]);
// `uniqueBody`: every `{unique}` in it becomes a value no other request of any worker uses (unique emails).
let n = 0;
const unique = () => `${process.pid}.${Date.now()}.${n++}`;
const result = await autocannon({
  url: opts.url,
  connections: opts.connections,
  duration: opts.seconds,
  method: opts.method ?? 'GET',
  headers: opts.headers,
  body: opts.body,
  ...(opts.uniqueBody === undefined
    ? {}
    : { requests: [{ setupRequest: (req) => ({ ...req, body: opts.uniqueBody.replaceAll('{unique}', unique()) }) }] }),
});
process.stdout.write(
  JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }) + '\n',
);
