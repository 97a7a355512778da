'use strict'
// Prints the reference Amplitude actions' field declarations as JSON (functions dropped).
const { setup } = require('../oracle/harness.js')
const { definition } = setup(1704067200000)
const out = {}
for (const [k, a] of Object.entries(definition.actions)) out[k] = a.fields
console.log(JSON.stringify(out))
