// Loads the addon native/build.mjs built (npm install); null when it is missing (no compiler on
// this machine) or switched off with CITYLEDGER_NATIVE_SHA256=off. src/crypto/native-sha256.ts
// checks a known answer before the node uses it.
"use strict";

let addon = null;
if (process.env.CITYLEDGER_NATIVE_SHA256 !== "off") {
  try {
    addon = require("./build/Release/cityledger_sha256.node");
  } catch {
    addon = null;
  }
}
module.exports = addon;
