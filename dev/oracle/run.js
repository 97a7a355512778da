#!/usr/bin/env node
'use strict'
// Dev-time oracle: answers conformance cases (/work/shared/conformance/README.md format) with Segment's
// published Actions Amplitude destination.
//
//   node dev/oracle/run.js [--now 1704067200000] < cases.jsonl > answers.jsonl
//
// One answer line per case, in input order, in the shape of /work/shared/conformance/expected/*.jsonl.

const readline = require('readline')
const { setup, errorObject } = require('./harness')

function parseArgs(argv) {
  const out = { now: 1704067200000, dumpActions: false, raw: false }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--now') out.now = Number(argv[++i])
    else if (argv[i] === '--dump-actions') out.dumpActions = true
    else if (argv[i] === '--raw') out.raw = true
    else if (argv[i].startsWith('--now=')) out.now = Number(argv[i].slice(6))
    else if (argv[i] === '-h' || argv[i] === '--help') {
      process.stdout.write('usage: node run.js [--now MS] [--raw] < cases.jsonl > answers.jsonl\n       (--raw: each request also has raw (body text as sent) and contentType)\n       node run.js --dump-actions   (fields, defaults and presets as JSON)\n')
      process.exit(0)
    } else {
      process.stderr.write(`unknown argument: ${argv[i]}\n`)
      process.exit(2)
    }
  }
  if (!Number.isFinite(out.now)) {
    process.stderr.write('--now must be a number of milliseconds\n')
    process.exit(2)
  }
  return out
}

const args = parseArgs(process.argv.slice(2))
const { destination, definition, core, subscriptions, recorder } = setup(args.now)
recorder.raw = args.raw
const noop = () => {}
const logger = { info: noop, error: noop, warn: noop, debug: noop, crit: noop, log: noop, withTags: () => logger }

function jsonSafe(value) {
  const s = JSON.stringify(value)
  return s === undefined ? null : JSON.parse(s)
}

async function runAction(c) {
  const action = definition.actions[c.action]
  if (!action) {
    return { id: c.id, requests: [], error: { name: 'UnknownAction', message: `Unknown action: ${c.action}` } }
  }
  const mapping = c.mapping === null || c.mapping === undefined ? core.defaultValues(action.fields) : c.mapping
  recorder.requests = []
  destination.responses = []
  let error = null
  try {
    await destination.executeAction(c.action, {
      event: c.event,
      mapping,
      settings: c.settings ?? {},
      auth: undefined,
      features: {},
      statsContext: {},
      logger,
      transactionContext: {},
      stateContext: {},
      subscriptionMetadata: {}
    })
  } catch (err) {
    error = errorObject(err)
  }
  const requests = jsonSafe(recorder.requests)
  recorder.requests = []
  destination.responses = []
  return { id: c.id, requests, error }
}

function runTrigger(c) {
  const trigger = c.trigger
  if (typeof trigger !== 'string') {
    return { id: c.id, match: false, error: 'Failed to validate subscription' }
  }
  let parsed
  try {
    parsed = subscriptions.parseFql(trigger)
  } catch (err) {
    return { id: c.id, match: false, error: String(err && err.message) }
  }
  if (parsed.error) {
    return { id: c.id, match: false, error: String(parsed.error.message) }
  }
  try {
    return { id: c.id, match: Boolean(subscriptions.validate(parsed, c.event)), error: null }
  } catch (err) {
    return { id: c.id, match: false, error: `validate threw: ${err && err.message}` }
  }
}

function runMapping(c) {
  try {
    const result = core.transform(c.mapping, c.event)
    return { id: c.id, result: jsonSafe(result), error: null }
  } catch (err) {
    const { name, message } = errorObject(err, true)
    return { id: c.id, result: null, error: { name, message } }
  }
}

async function answer(c) {
  switch (c.kind) {
    case 'action':
      return runAction(c)
    case 'trigger':
      return runTrigger(c)
    case 'mapping':
      return runMapping(c)
    default:
      return { id: c.id, error: { name: 'Error', message: `unknown case kind: ${c.kind}` } }
  }
}

// Field definitions (as JSON) for generators such as dev/difffuzz.py.
function dumpActions() {
  const actions = {}
  for (const [key, action] of Object.entries(definition.actions)) {
    const fields = {}
    for (const [name, f] of Object.entries(action.fields)) {
      fields[name] = {
        label: f.label,
        type: f.type,
        required: Boolean(f.required),
        multiple: Boolean(f.multiple),
        allowNull: Boolean(f.allowNull),
        default: f.default,
        choices: f.choices ? f.choices.map((c) => (typeof c === 'object' ? c.value : c)) : undefined,
        properties: f.properties
          ? Object.fromEntries(
              Object.entries(f.properties).map(([k, p]) => [k, { type: p.type, allowNull: Boolean(p.allowNull), required: Boolean(p.required) }])
            )
          : undefined,
        additionalProperties: f.additionalProperties,
        format: f.format
      }
    }
    actions[key] = { title: action.title, defaultSubscription: action.defaultSubscription, fields }
  }
  const presets = definition.presets.map((p) => ({ name: p.name, subscribe: p.subscribe, partnerAction: p.partnerAction, mapping: p.mapping }))
  process.stdout.write(JSON.stringify({ actions, presets }) + '\n')
}

async function main() {
  if (args.dumpActions) return dumpActions()
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  let buf = []
  const flush = () => {
    if (buf.length) {
      process.stdout.write(buf.join(''))
      buf = []
    }
  }
  for await (const line of rl) {
    if (!line.trim()) continue
    let c
    try {
      c = JSON.parse(line)
    } catch (err) {
      process.stderr.write(`skipping unparseable line: ${err.message}\n`)
      continue
    }
    let out
    try {
      out = await answer(c)
    } catch (err) {
      out = { id: c && c.id, error: errorObject(err) }
    }
    buf.push(JSON.stringify(out) + '\n')
    if (buf.length >= 200) flush()
  }
  flush()
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\n')
  process.exit(1)
})
