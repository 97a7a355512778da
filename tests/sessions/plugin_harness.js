// Runs the browser session plugin under Node with a fake clock, storage and analytics, and prints
// what happened as JSON. Used by test_session_plugin.py.
const api = require(process.argv[2])
const script = JSON.parse(process.argv[3])
let now = script.start
const store = script.store || {}
// like analytics.storage over localStorage: values kept as text
const storage = { get: (k) => (k in store ? store[k] : null), set: (k, v) => { store[k] = String(v) } }
const sent = []
const plugin = api.plugin({ ...script.options, now: () => now, storage })
const queue = []
plugin.load(null, { track: (name, props) => { sent.push(name); queue.push({ type: 'track', event: name, properties: props }); return Promise.resolve() } })

function dset(obj, path, value) {
  const [head, ...rest] = path.split('.')
  if (head !== 'integrations') throw new Error('unexpected path ' + path)
  obj.integrations = obj.integrations || {}
  const key = 'Actions Amplitude'
  if (rest.join('.') === key) obj.integrations[key] = value
  else obj.integrations[key][rest.slice(-1)[0]] = value
}

function run(event) {
  const ctx = { event, updateEvent(path, v) { dset(this.event, path, v) } }
  if (plugin[event.type]) plugin[event.type](ctx) // no method: analytics.js passes the event on untouched
  return ctx.event
}

const out = []
for (const step of script.steps) {
  if (step.wait) now += step.wait
  const ev = run(step.event)
  out.push({ event: ev.event || ev.type, session_id: ev.integrations && ev.integrations['Actions Amplitude'] ? ev.integrations['Actions Amplitude'].session_id : null })
  while (queue.length) { const e = queue.shift(); const r = run(e); out.push({ event: r.event, session_id: r.integrations['Actions Amplitude'].session_id, generated: true }) }
}
console.log(JSON.stringify({ out, sent, store }))
