#!/usr/bin/env node
/*
 * ua_oracle.js — the reference's user-agent parse, as a command-line oracle.
 *
 * amprelay's Amplitude destination must parse user agents exactly like Segment's
 * destination, which uses @amplitude/ua-parser-js 0.7.25. This script runs that very
 * package so that dev/ua_compare.py can check amprelay's Python port against it.
 * It is a development tool only: nothing in amprelay needs Node at run time.
 *
 * Setup (outside the repo; node_modules is never committed):
 *     mkdir -p /tmp/uaoracle && (cd /tmp/uaoracle && npm init -y && npm install @amplitude/ua-parser-js@0.7.25)
 *
 * Usage:
 *     UA_ORACLE_DIR=/tmp/uaoracle node dev/ua_oracle.js < uas.jsonl > parsed.jsonl
 *     UA_ORACLE_DIR=/tmp/uaoracle node dev/ua_oracle.js --raw < uas.txt > parsed.jsonl
 *
 * Input: one user agent per line, JSON-encoded as a string (lossless: keeps newlines,
 * lone surrogates, ...); with --raw, plain text lines instead.
 * Output: one JSON object per input line, in order:
 *     {"ua": <the input>, "browser": {name, version, major}, "os": {name, version},
 *      "device": {vendor, model, type}, "props": <parseUserAgentProperties(ua)>}
 * Undefined values are left out (JSON.stringify drops them), exactly like the
 * reference's request bodies. "props" follows the reference's
 * parseUserAgentProperties(userAgent) with no userAgentData:
 *     os_name: os.name ?? browser.name, os_version: browser.major,
 *     device_manufacturer: device.vendor, device_model: device.model ?? os.name,
 *     device_type: device.type   (and {} for an empty user agent).
 */
'use strict';
const path = require('path');
const readline = require('readline');

const dir = process.env.UA_ORACLE_DIR || '/tmp/uaoracle';
const UAParser = require(path.join(dir, 'node_modules', '@amplitude', 'ua-parser-js'));
const raw = process.argv.includes('--raw');

function props(ua) {
  if (!ua) return {};
  const parser = new UAParser(ua);
  const device = parser.getDevice();
  const os = parser.getOS();
  const browser = parser.getBrowser();
  return {
    os_name: os.name ?? browser.name,
    os_version: browser.major,
    device_manufacturer: device.vendor,
    device_model: device.model ?? os.name,
    device_type: device.type,
  };
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
rl.on('line', (line) => {
  const ua = raw ? line : JSON.parse(line);
  const parser = new UAParser(ua);
  const b = parser.getBrowser();
  const o = parser.getOS();
  const d = parser.getDevice();
  out.push(JSON.stringify({
    ua,
    browser: { name: b.name, version: b.version, major: b.major },
    os: { name: o.name, version: o.version },
    device: { vendor: d.vendor, model: d.model, type: d.type },
    props: props(ua),
  }));
  if (out.length >= 1000) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
});
rl.on('close', () => { if (out.length) process.stdout.write(out.join('\n') + '\n'); });
