// Reads GGUF files with the npm package @huggingface/gguf (an independent parser) and checks
// that qlinear's reader (io_gguf_dump's JSON) sees the same header, metadata and tensor table.
// Usage: node gguf_independent_check.js NODE_MODULES_PARENT IO_GGUF_DUMP FILE.gguf...
"use strict";
const path = require("path");
const { execFileSync } = require("child_process");
const { gguf } = require(path.join(process.argv[2], "node_modules", "@huggingface", "gguf"));

const hex = (s) => Buffer.from(s, "utf8").toString("hex");
// A value as qlinear's dump writes it: strings hex, 64-bit integers decimal strings.
function norm(v, type) {
  if (type === 8) return withoutBom(hex(v));
  if (type === 10 || type === 11) return String(v);
  if (type === 6) return Math.fround(Number(v));
  return typeof v === "bigint" ? Number(v) : v;
}
// TextDecoder drops a leading byte-order mark, so the package reads "\ufeffx" as "x".
const withoutBom = (h) => (h.startsWith("efbbbf") ? h.slice(6) : h);
function ours(v, type) {
  if (type === 8) return withoutBom(v);
  if (type === 6) return Math.fround(Number(v));
  return v;
}
function sameValue(theirs, mine, type, subType, where, problems) {
  if (type !== 9) {
    if (norm(theirs, type) !== ours(mine, type)) problems.push(`${where}: ${norm(theirs, type)} != ${mine}`);
    return;
  }
  if (mine.type !== subType && subType !== undefined) problems.push(`${where}: element type ${subType} != ${mine.type}`);
  if (theirs.length !== mine.values.length) {
    problems.push(`${where}: ${theirs.length} elements != ${mine.values.length}`);
    return;
  }
  for (let i = 0; i < theirs.length; i++) {
    if (mine.type === 9) {
      // @huggingface/gguf keeps no element type for nested arrays: compare lengths and strings.
      const inner = mine.values[i];
      if (theirs[i].length !== inner.values.length) problems.push(`${where}[${i}]: length differs`);
      else if (inner.type === 8)
        theirs[i].forEach((s, j) => { if (norm(s, 8) !== ours(inner.values[j], 8)) problems.push(`${where}[${i}][${j}] differs`); });
    } else if (mine.type === 8 && theirs[i].includes("\ufffd")) {
      // not UTF-8: a TextDecoder cannot give the bytes back; qlinear keeps them raw
    } else if (norm(theirs[i], mine.type) !== ours(mine.values[i], mine.type)) {
      problems.push(`${where}[${i}]: ${norm(theirs[i], mine.type)} != ${mine.values[i]}`);
      if (problems.length > 20) return;
    }
  }
}

async function check(dump, file) {
  const mine = JSON.parse(execFileSync(dump, [file], { maxBuffer: 1 << 28 }).toString());
  const r = await gguf(file, { allowLocalFile: true, typedMetadata: true });
  const problems = [];
  if (Number(r.metadata.version) !== mine.version) problems.push(`version ${r.metadata.version} != ${mine.version}`);
  if (String(r.tensorDataOffset) !== mine.data_offset) problems.push(`data offset ${r.tensorDataOffset} != ${mine.data_offset}`);
  const keys = Object.keys(r.typedMetadata).filter((k) => !["version", "tensor_count", "kv_count"].includes(k));
  if (keys.length !== mine.metadata.length) problems.push(`${keys.length} metadata keys != ${mine.metadata.length}`);
  for (const kv of mine.metadata) {
    const key = Buffer.from(kv.key, "hex").toString("utf8");
    const t = r.typedMetadata[key];
    if (!t) { problems.push(`key ${key} missing`); continue; }
    if (t.type !== kv.value.type) { problems.push(`${key}: type ${t.type} != ${kv.value.type}`); continue; }
    sameValue(t.value, kv.value.value, t.type, t.subType, key, problems);
  }
  if (r.tensorInfos.length !== mine.tensors.length) problems.push(`${r.tensorInfos.length} tensors != ${mine.tensors.length}`);
  r.tensorInfos.forEach((ti, i) => {
    const m = mine.tensors[i];
    if (!m) return;
    const name = Buffer.from(m.name, "hex").toString("utf8");
    if (ti.name !== name) problems.push(`tensor ${i}: name ${ti.name} != ${name}`);
    if (ti.dtype !== m.type) problems.push(`${name}: type ${ti.dtype} != ${m.type}`);
    if (String(ti.offset) !== m.offset) problems.push(`${name}: offset ${ti.offset} != ${m.offset}`);
    if (ti.shape.map(String).join(",") !== m.dims.join(",")) problems.push(`${name}: dims ${ti.shape} != ${m.dims}`);
  });
  const summary = `${path.basename(file)}: v${mine.version}, ${mine.metadata.length} keys, ${mine.tensors.length} tensors`;
  if (problems.length) {
    console.log(`MISMATCH ${summary}\n  ` + problems.slice(0, 20).join("\n  "));
    return false;
  }
  console.log(`same     ${summary}`);
  return true;
}

(async () => {
  const [, , , dump, ...files] = process.argv;
  let ok = true;
  for (const f of files) ok = (await check(dump, f)) && ok;
  process.exit(ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(1); });
