'use strict'
// Shared setup for the dev-time oracle (run.js) and the reference benchmark (bench/reference_transform.js).
//
// Loads Segment's published Actions Amplitude destination with:
//   * TZ=UTC and a frozen clock (new Date() / Date.now() return `nowMs`),
//   * the HTTP client's fetch replaced by an in-memory stub: every request is recorded (method, url,
//     decoded body) and answered with 200 {}; nothing touches the network.
// Call setup(nowMs) before anything else requires @segment/*.

process.env.TZ = 'UTC'

const path = require('path')
const Module = require('module')

const FORM_JSON_FIELDS = new Set(['identification', 'mapping', 'options'])

let installed = null

function freezeClock(nowMs) {
  const RealDate = Date
  class FrozenDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(nowMs)
      else super(...args)
    }
    static now() {
      return nowMs
    }
  }
  global.Date = FrozenDate
  return RealDate
}

function decodeBody(text, contentType) {
  if (text === null || text === undefined || text === '') return null
  const ct = String(contentType || '')
  if (ct.includes('application/json')) {
    try {
      return JSON.parse(text)
    } catch (e) {
      return text
    }
  }
  if (ct.includes('application/x-www-form-urlencoded')) {
    const out = {}
    for (const [k, v] of new URLSearchParams(text)) {
      if (FORM_JSON_FIELDS.has(k)) {
        try {
          out[k] = JSON.parse(v)
        } catch (e) {
          out[k] = v // e.g. options: "undefined"
        }
      } else {
        out[k] = v
      }
    }
    return out
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    return text
  }
}

/**
 * Install the stubs and load the destination. Returns
 *   { destination, definition, core, subscriptions, recorder }
 * recorder.requests collects {method, url, body} (decoded) when recorder.decode is true,
 * or just counts them when it is false (benchmark mode: the stub does not read the body).
 */
function setup(nowMs = 1704067200000) {
  if (installed) return installed
  const oracleDir = __dirname
  const coreMain = require.resolve('@segment/actions-core', { paths: [oracleDir] })
  const crossFetchPath = require.resolve('cross-fetch', { paths: [path.dirname(coreMain)] })
  const nodeFetch = require(require.resolve('node-fetch', { paths: [path.dirname(crossFetchPath)] }))
  const NF = nodeFetch.default || nodeFetch

  const recorder = { requests: [], decode: true, raw: false, count: 0 }
  const okBody = '{}'
  async function stubFetch(input, init) {
    const req = input instanceof NF.Request ? input : new NF.Request(input, init)
    recorder.count++
    if (recorder.decode) {
      const text = await req.text()
      const entry = {
        method: req.method,
        url: req.url,
        body: decodeBody(text, req.headers.get('content-type'))
      }
      if (recorder.raw) {
        // the exact bytes and content type sent (for byte-for-byte checks)
        entry.raw = text
        entry.contentType = req.headers.get('content-type')
      }
      recorder.requests.push(entry)
    }
    return new NF.Response(okBody, { status: 200, headers: { 'content-type': 'application/json' } })
  }
  stubFetch.ponyfill = true
  stubFetch.fetch = stubFetch
  stubFetch.Headers = NF.Headers
  stubFetch.Request = NF.Request
  stubFetch.Response = NF.Response
  stubFetch.default = stubFetch
  // Pre-populate the require cache so actions-core's `require('cross-fetch')` gets the stub.
  const fake = new Module(crossFetchPath)
  fake.filename = crossFetchPath
  fake.loaded = true
  fake.exports = stubFetch
  require.cache[crossFetchPath] = fake

  const RealDate = freezeClock(nowMs)

  const core = require(coreMain)
  const subscriptions = require(require.resolve('@segment/destination-subscriptions', { paths: [oracleDir] }))
  const ampPath = path.join(
    path.dirname(require.resolve('@segment/action-destinations/package.json', { paths: [oracleDir] })),
    'dist/destinations/amplitude'
  )
  const definition = require(ampPath).default
  const destination = new core.Destination(definition)
  installed = { destination, definition, core, subscriptions, recorder, RealDate }
  return installed
}

// AggregateError (mapping validation) carries its ValidationErrors in `errors`; the recorded answers show
// their messages joined by a space (`withName`: as "ValidationError: ..." for mapping cases).
function errorMessage(err, withName) {
  const inner = err && err.name === 'AggregateError' ? err.errors || (err[Symbol.iterator] && err) : null
  if (inner && typeof inner[Symbol.iterator] === 'function') {
    const parts = []
    for (const e of inner) parts.push(withName ? String(e) : String(e && e.message))
    if (parts.length) return parts.join(' ')
  }
  return String(err && err.message !== undefined ? err.message : err)
}

function errorObject(err, withName = false) {
  if (err === null || err === undefined) return { name: 'Error', message: String(err) }
  const out = { name: err.name || 'Error', message: errorMessage(err, withName) }
  if (err.status !== undefined) out.status = err.status
  else if (out.name === 'AggregateAjvError') out.status = 400 // payload validation errors are reported as 400
  return out
}

module.exports = { setup, decodeBody, errorObject, errorMessage }
