#!/usr/bin/env node
'use strict'
// Transform rate of Segment's published Actions Amplitude destination (the reference) on one core.
//
//   python bench/corpus.py --n 20000 --seed 1 --out /tmp/corpus.jsonl
//   node bench/reference_transform.js --corpus /tmp/corpus.jsonl [--seconds 10] [--mode onEvent|execute] [--json]
//
// Every event goes through the destination's presets (Track Calls, Order Completed Calls, Page Calls,
// Screen Calls, Identify Calls; "Browser Session Tracking" is a web-only action and is left out):
//   onEvent  (default): Destination.onEvent(event, settings-with-subscriptions), the path Segment runs:
//            FQL parse + match per subscription, mapping-kit, removeEmptyValues, ajv, perform.
//   execute: triggers parsed once up front; per event validate(trigger) then executeAction.
// The HTTP client is replaced by a function that only serialises the body (JSON.stringify /
// URLSearchParams#toString) and returns 200, so only the transform is timed. Needs dev/oracle's
// node_modules (see dev/oracle/README.md).

const fs = require('fs')
const path = require('path')
const { setup } = require(path.join(__dirname, '..', 'dev', 'oracle', 'harness.js'))

function parseArgs(argv) {
  const a = { corpus: null, seconds: 10, warmup: 2, mode: 'onEvent', json: false, now: 1704067200000 }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    if (k === '--corpus') a.corpus = argv[++i]
    else if (k === '--seconds') a.seconds = Number(argv[++i])
    else if (k === '--warmup') a.warmup = Number(argv[++i])
    else if (k === '--mode') a.mode = argv[++i]
    else if (k === '--json') a.json = true
    else if (k === '--now') a.now = Number(argv[++i])
    else throw new Error(`unknown argument ${k}`)
  }
  if (!a.corpus) throw new Error('--corpus FILE.jsonl is required (python bench/corpus.py --out FILE.jsonl)')
  if (!['onEvent', 'execute'].includes(a.mode)) throw new Error('--mode must be onEvent or execute')
  return a
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const { destination, definition, subscriptions: fql } = setup(args.now)
  const events = fs
    .readFileSync(args.corpus, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))

  let requests = 0
  let bodyBytes = 0
  const fakeResponse = { status: 200, ok: true, data: {}, content: '{}' }
  const fakeRequest = async (url, options = {}) => {
    let body = ''
    if (options.json !== undefined) body = JSON.stringify(options.json)
    else if (options.body instanceof URLSearchParams) body = options.body.toString()
    else if (options.body !== undefined) body = String(options.body)
    requests++
    bodyBytes += body.length
    return fakeResponse
  }
  for (const action of Object.values(destination.actions)) {
    action.createRequestClient = () => fakeRequest
  }

  const presets = definition.presets.filter((p) => definition.actions[p.partnerAction])
  const subs = presets.map((p) => ({ subscribe: p.subscribe, partnerAction: p.partnerAction, mapping: p.mapping }))
  const settings = { apiKey: 'bench-api-key', secretKey: 'bench-secret', endpoint: 'north_america', subscriptions: subs }
  const plainSettings = { apiKey: 'bench-api-key', secretKey: 'bench-secret', endpoint: 'north_america' }
  const parsed = subs.map((s) => ({ ...s, ast: fql.parseFql(s.subscribe) }))
  const noop = () => {}
  const logger = { info: noop, error: noop, warn: noop, debug: noop }

  let errors = 0
  let matched = 0
  async function one(event) {
    if (args.mode === 'onEvent') {
      try {
        await destination.onEvent(event, settings)
      } catch (e) {
        errors++
      }
      return
    }
    for (const s of parsed) {
      if (!fql.validate(s.ast, event)) continue
      matched++
      try {
        await destination.executeAction(s.partnerAction, {
          event,
          mapping: s.mapping,
          settings: plainSettings,
          features: {},
          statsContext: {},
          logger,
          transactionContext: {},
          stateContext: {},
          subscriptionMetadata: {}
        })
      } catch (e) {
        errors++
      }
    }
  }

  // warm-up (JIT), then timed passes over the corpus until `seconds` have elapsed
  const hr = () => Number(process.hrtime.bigint()) / 1e9
  let t0 = hr()
  let i = 0
  while (hr() - t0 < args.warmup || i < 500) {
    // events are not mutated by the presets' actions in a way that changes results between passes
    await one(events[i % events.length])
    i++
  }
  requests = 0
  bodyBytes = 0
  errors = 0
  matched = 0
  // The rate is events per CPU second of this process (user + system), so that other load on the
  // machine does not count; the wall-clock rate is reported too.
  const cpu = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1e6
  }
  let n = 0
  t0 = hr()
  const c0 = cpu()
  let elapsed = 0
  let cpuElapsed = 0
  do {
    for (let k = 0; k < events.length; k++) {
      await one(events[k])
    }
    n += events.length
    elapsed = hr() - t0
    cpuElapsed = cpu() - c0
  } while (cpuElapsed < args.seconds)
  const out = {
    engine: 'reference',
    mode: args.mode,
    node: process.version,
    corpus_events: events.length,
    events: n,
    seconds: Number(elapsed.toFixed(3)),
    cpu_seconds: Number(cpuElapsed.toFixed(3)),
    events_per_s: Math.round(n / cpuElapsed),
    events_per_wall_s: Math.round(n / elapsed),
    requests,
    requests_per_event: Number((requests / n).toFixed(4)),
    body_bytes: bodyBytes,
    errors
  }
  if (args.json) process.stdout.write(JSON.stringify(out) + '\n')
  else {
    process.stdout.write(
      `reference (${args.mode}, node ${process.version}): ${out.events} events in ${out.cpu_seconds} CPU s = ` +
        `${out.events_per_s} events/s on one core (wall clock: ${out.events_per_wall_s}/s); ` +
        `${out.requests} requests, ${out.errors} errors\n`
    )
  }
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n')
  process.exit(1)
})
