// Records Node's answers for the JavaScript rules amprelay.js reproduces.
// Input (stdin, JSON): {numbers: [hex64 bit patterns], strings: [...], values: [...], objects: [...]}
// Output (stdout, JSON): the same inputs with Node's answers. Run through dev/js_record.py.
"use strict";
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));

function fromBits(hex) {
  const buf = Buffer.from(hex, "hex");
  return buf.readDoubleBE(0);
}
function bits(x) {
  const buf = Buffer.alloc(8);
  buf.writeDoubleBE(x, 0);
  return buf.toString("hex");
}
function realTypeOf(v) {
  return Object.prototype.toString.call(v).slice(8, -1).toLowerCase();
}

const out = {node: process.version};
out.number_to_string = input.numbers.map((h) => [h, String(fromBits(h))]);
out.string_to_number = input.strings.map((s) => [s, bits(Number(s))]);
out.string_trim = input.strings.map((s) => [s, s.trim()]);
out.utf16_length = input.strings.map((s) => [s, s.length]);
out.truthy = input.values.map((v) => [v, !!v]);
out.to_string = input.values.map((v) => [v, String(v)]);
out.real_type_of = input.values.map((v) => [v, realTypeOf(v)]);
out.stringify = input.values.map((v) => [v, JSON.stringify(v)]);
// objects arrive as [key, value] pairs so that their insertion order survives JSON.parse
out.keys_in_order = input.objects.map((pairs) => {
  const obj = {};
  for (const [k, v] of pairs) obj[k] = v;
  return [pairs, Object.keys(obj)];
});
out.round_half_up = input.numbers.map((h) => [h, bits(Math.round(fromBits(h)))]);
const protos = {
  Object: Object.prototype, Array: Array.prototype, String: String.prototype,
  Number: Number.prototype, Boolean: Boolean.prototype, Function: Function.prototype,
};
out.prototypes = {};
out.function_names = {};
for (const [ctor, proto] of Object.entries(protos)) {
  const own = Object.create(null);
  let p = proto;
  while (p) {
    for (const name of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, name);
      if (typeof d.value === "function" && !Object.prototype.hasOwnProperty.call(own, name)) {
        own[name] = d.value.length;
        if (d.value.name !== name && name !== "constructor") out.function_names[name] = d.value.name;
      }
    }
    p = Object.getPrototypeOf(p);
  }
  out.prototypes[ctor] = own;
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
