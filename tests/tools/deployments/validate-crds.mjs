// Validates Istio resources against Istio's CRD schemas (@kubernetes-models/istio):
// types, enums and required fields. Like the API server's pruning, unknown fields
// pass. Run by `tests/tools/deployment-tools validate-crds FILE... | -`.
// Exits 1 when a document fails or is of an Istio kind it has no schema for.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: validate-crds FILE... (or - for stdin)");
  process.exit(2);
}

let failures = 0;
let checked = 0;
for (const file of files) {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      console.error(`${file}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      failures++;
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;
    const { apiVersion = "", kind = "?" } = object;
    const name = `${file}: ${kind} ${object.metadata?.name ?? "(no name)"}`;
    if (!apiVersion.includes("istio.io/")) continue;
    let model;
    try {
      model = await import(`@kubernetes-models/istio/${apiVersion}/${kind}`);
    } catch {
      console.error(`${name}: no schema for ${apiVersion} ${kind}`);
      failures++;
      continue;
    }
    try {
      new model[kind](object).validate();
      checked++;
    } catch (error) {
      console.error(`${name}: ${error.message}`);
      failures++;
    }
  }
}
console.log(`validate-crds: ${checked} Istio resources valid, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
