'use strict'
// Dev-time oracle for amprelay.fields: the reference's removeEmptyValues + validateSchema (ajv) and dayjs,
// loaded from the pinned packages installed for dev/oracle (see dev/oracle/README.md).
// stdin: JSONL {id, fields, payload} (fields = reference InputField declarations) or {id, date: x}
// stdout: {id, result, error} or {id, value, valid, dateLike, v8} (NaN -> null)
process.env.TZ = 'UTC'
const path = require('path')
const NM = path.join(__dirname, '..', 'oracle', 'node_modules')
const CORE = path.join(NM, '@segment', 'actions-core', 'dist', 'cjs')
const DAYJS = path.join(NM, 'dayjs')
const {removeEmptyValues} = require(CORE + '/remove-empty-values')
const {validateSchema} = require(CORE + '/schema-validation')
const {fieldsToJsonSchema} = require(CORE + '/destination-kit/fields-to-jsonschema')
const dayjs = require(DAYJS); const utc = require(DAYJS + '/plugin/utc'); dayjs.extend(utc)
const readline = require('readline')
const rl = readline.createInterface({input: process.stdin, terminal: false})
const schemas = {}; let nkey = 0; const keys = {}
function dateLike(data) {
  let date = dayjs(data)
  if (String(Number(data)) === data) { if (data.length === 13) date = dayjs(Number(data)); date = dayjs.unix(Number(data)) }
  return date.isValid()
}
rl.on('line', (line) => {
  const c = JSON.parse(line)
  const out = {id: c.id}
  if ('date' in c) {
    const d = dayjs.utc(c.date)
    const v = d.valueOf()
    out.value = Number.isNaN(v) ? null : v
    out.valid = d.isValid()
    out.dateLike = typeof c.date === 'string' ? dateLike(c.date) : null
    out.v8 = typeof c.date === 'string' ? (Number.isNaN(new Date(c.date).getTime()) ? null : new Date(c.date).getTime()) : null
  } else {
    const key = JSON.stringify(c.fields)
    let schema = schemas[key]
    if (!schema) { schema = fieldsToJsonSchema(c.fields); schemas[key] = schema }
    try {
      let p = removeEmptyValues(c.payload, schema, true)
      if(!keys[key]) keys[key]='s'+(nkey++); validateSchema(p, schema, {schemaKey: keys[key]})
      out.result = p; out.error = null
    } catch (e) { out.result = null; out.error = e.message }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
})
