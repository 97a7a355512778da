// Records mapping-kit's answers for tests/mapping/data/*.cases.jsonl.
// Setup (outside the repo):  mkdir /tmp/mk && cd /tmp/mk && npm init -y &&
//   npm install @segment/actions-core@3.170.0 liquidjs@10.25.7
// Run: MK=/tmp/mk node record_reference.js < edge.cases.jsonl > edge.expected.jsonl
const path = require('path');
const mk = require(path.join(process.env.MK || '/tmp/mk',
  'node_modules/@segment/actions-core/dist/cjs/mapping-kit/index.js'));
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
for (const line of lines) {
  const c = JSON.parse(line);
  let out;
  try {
    out = { id: c.id, result: mk.transform(c.mapping, c.event), error: null };
  } catch (e) {
    out = { id: c.id, result: null, error: { name: e.name, message: String(e.message).slice(0, 300) } };
  }
  console.log(JSON.stringify(out));
}
