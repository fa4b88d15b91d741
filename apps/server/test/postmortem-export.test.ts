import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeVerifierKey, verifierKeyOf } from "@databook/tlog";
import { authSettingsFromEnv } from "../src/auth/config.ts";
import { closeChartRenderer } from "../src/export/charts/index.ts";
import { parseRunsChoice } from "../src/export/document.ts";
import { createSigningKeyFile } from "../src/log/signing-key.ts";
import { cliEnvFor } from "./app-storage.ts";
import { databook, startApp, tempDir, waitFor } from "./helpers.ts";
import { seedIncident } from "./incident-fixture.ts";

// The postmortem export carries its own proof: exported from a running server, it is verified
// with the public key alone after the data folder is gone; one changed number fails, naming the
// entry. Markdown ships its proof beside it.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await closeChartRenderer();
});

const PAYLOAD = `<img src=x onerror=alert(1)><script>alert(2)</script>"'&`;
let out: string;
let publicKey: string;
let keyFile: string;
let nb: string;
let html: string;
let htmlResponse: Response;
let keptFile: string;

before(async () => {
  const data = tempDir();
  const files = tempDir("databook-export-");
  cleanups.push(files.cleanup, data.cleanup);
  out = files.dir;
  keyFile = join(out, "signing-key");
  const key = createSigningKeyFile(keyFile, "databook.test");
  publicKey = encodeVerifierKey(verifierKeyOf(key));
  const app = await startApp(data.dir, {
    signingKey: key,
    auth: authSettingsFromEnv({ DATABOOK_PUBLIC_URL: "http://databook.test" }),
  });
  const seeded = await seedIncident(app.services, { runs: 8, charts: 2, payload: PAYLOAD });
  nb = seeded.notebookId;
  const vic = await app.user("vic");
  await app.grant(nb, vic, "viewer");
  // a checkpoint kept by a reader before the last runs
  const early = await vic.api(`/api/notebooks/${nb}/checkpoint`, "GET");
  keptFile = join(out, "kept");
  writeFileSync(keptFile, early.body.checkpoint);
  await seedIncident(app.services, { runs: 1, title: "another notebook" });
  htmlResponse = await fetch(`${app.url}/api/notebooks/${nb}/export.html`, { headers: vic.headers });
  html = await htmlResponse.text();
  writeFileSync(join(out, "postmortem.html"), html);
  const md = await vic.api(`/api/notebooks/${nb}/export?format=md&runs=all`, "GET");
  assert.equal(md.status, 200, JSON.stringify(md.body));
  for (const f of md.body.files as { name: string; text: string }[])
    writeFileSync(join(out, f.name.replace(`postmortem-${nb}`, "postmortem")), f.text);
  await waitFor(() => app.services.checkpoints.backlog().entries === 0, "the checkpoint writer");
  await app.stop();
  // the CLI exports from the stopped folder, signing with the key it is given
  const cli = await databook(
    ["export", nb, "--format", "html", "--data", data.dir, "--out", join(out, "cli.html")],
    undefined,
    { DATABOOK_SIGNING_KEY_FILE: keyFile, ...cliEnvFor(data.dir) },
  );
  assert.equal(cli.code, 0, cli.stderr);
  const cliMd = await databook(
    ["export", nb, "--data", data.dir, "--runs", "last", "--out", join(out, "cli.md")],
    undefined,
    { DATABOOK_SIGNING_KEY_FILE: keyFile, ...cliEnvFor(data.dir) },
  );
  assert.equal(cliMd.code, 0, cliMd.stderr);
  rmSync(data.dir, { recursive: true, force: true });
});

const verifyFile = (file: string, ...extra: string[]) =>
  databook(["log", "verify", "--export", join(out, file), "--key", publicKey, ...extra]);

/** A copy of export `file` with `change` applied, under a new name. */
function edited(file: string, name: string, change: (text: string) => string): string {
  const text = readFileSync(join(out, file), "utf8");
  const next = change(text);
  assert.notEqual(next, text, "the edit changed something");
  writeFileSync(join(out, name), next);
  return name;
}

describe("the postmortem export", () => {
  it("is served as a download with a sandboxing CSP, and the HTML has its own CSP without scripts", () => {
    assert.equal(htmlResponse.status, 200);
    assert.match(htmlResponse.headers.get("content-disposition") ?? "", /^attachment; filename="postmortem-.+\.html"$/);
    assert.match(htmlResponse.headers.get("content-security-policy") ?? "", /^sandbox; default-src 'none'/);
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? "";
    assert.match(meta, /^default-src 'none'; img-src data:; style-src 'sha256-[A-Za-z0-9+/=]+'; base-uri 'none'/);
    assert.doesNotMatch(
      html,
      /<script(?! type="application\/json" id="databook-proof")/,
      "no script but the JSON proof",
    );
    assert.doesNotMatch(html, /<img src=x|<script>alert|<[a-z]+[^>]*\sonerror=/i, "the payload is text, never markup");
    assert.match(html, /&#60;img src=x onerror=alert\(1\)&#62;/);
    assert.equal((html.match(/<figure class="chart"/g) ?? []).length, 2, "one chart per time-series cell's latest run");
    assert.match(
      html,
      /<ul class="legend"><li data-colour="#[0-9a-f]{6}" title="\{code=&#34;200&#34;\}"><span class="swatch c-[0-9a-f]{6}"><\/span>/,
    );
  });

  it("an HTML export verifies offline after the data folder is deleted, also against a checkpoint kept from before", async () => {
    for (const file of ["postmortem.html", "cli.html"]) {
      const r = await verifyFile(file, "--checkpoint", keptFile);
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
      assert.match(
        r.stdout,
        /shows exactly what its proof holds: the whole log of databook\.test\/n\/.* extends your checkpoint/,
      );
    }
  });

  it("the same export with one changed number fails, naming the entry", async () => {
    const f = edited("postmortem.html", "number.html", (t) =>
      t.replace(/<td>0\.42\d*<\/td>|<td>(\d+\.42)<\/td>/, "<td>0.01</td>"),
    );
    const r = await verifyFile(f);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /entry seq \d+ \(run run-\d+ of cell alerts\): the file shows something other than what its proof holds: line \d+ reads "0\.01/,
    );
  });

  it("a number changed inside the embedded proof fails, naming the output or entry", async () => {
    const f = edited("postmortem.html", "proof.html", (t) =>
      t.replace(/(id="databook-proof">[^<]*?)\\"value\\"/, '$1\\"valuE\\"'),
    );
    const r = await verifyFile(f);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /output [0-9a-f]{64}.*: its body hashes to/);
    const g = edited("postmortem.html", "entry.html", (t) => t.replace(/\\"pluginMs\\":38/, '\\"pluginMs\\":1'));
    const e = await verifyFile(g);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /entry seq \d+: leaf \d+ with this proof gives root/);
  });

  it("an entry removed from the export (proof and page alike) fails", async () => {
    const doc = JSON.parse(readFileSync(join(out, "postmortem.md.proof.json"), "utf8"));
    doc.bundle.entries.splice(3, 1);
    writeFileSync(join(out, "cut.md.proof.json"), JSON.stringify(doc));
    writeFileSync(join(out, "cut.md"), readFileSync(join(out, "postmortem.md")));
    const r = await verifyFile("cut.md");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /entry seq 4: the proof leaves it out/);
  });

  it("a Markdown export verifies with its proof beside it; one changed number fails naming the entry", async () => {
    for (const file of ["postmortem.md", "cli.md"]) {
      const r = await verifyFile(file);
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
    }
    const md = readFileSync(join(out, "postmortem.md"), "utf8");
    assert.match(md, /^# API 5xx spike /);
    assert.match(md, /## Key events\n\n_No key events marked\._/);
    assert.match(md, /\| happened \(UTC\) \| written \(UTC\) \| who \| what \| cell \| entries \|/);
    writeFileSync(join(out, "changed.md.proof.json"), readFileSync(join(out, "postmortem.md.proof.json")));
    const f = edited("postmortem.md", "changed.md", (t) => t.replace('| {code="200"} | 61 |', '| {code="200"} | 62 |'));
    const r = await verifyFile(f);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /entry seq \d+ \(run run-\d+ of cell chart\d\): the file shows something other than what its proof holds/,
    );
    const noProof = edited("postmortem.md", "alone.md", (t) => `${t} `);
    const alone = await verifyFile(noProof);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /checked with its proof file/);
  });

  it("--runs picks the runs: last by default, all on request; pinned is none until pins exist", () => {
    const last = readFileSync(join(out, "cli.md"), "utf8");
    const all = readFileSync(join(out, "postmortem.md"), "utf8");
    assert.equal((last.match(/\*\*Run `run-/g) ?? []).length, 4, "one per query cell");
    assert.equal((all.match(/\*\*Run `run-/g) ?? []).length, 8, "every run");
    assert.equal(parseRunsChoice("last,pinned"), "pinned,last");
    assert.throws(() => parseRunsChoice("newest"), { message: /runs must be pinned,last/ });
  });

  it("refuses a wrong key and an export without a proof", async () => {
    const r = await databook(["log", "verify", "--export", join(out, "postmortem.html"), "--key", "nope"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /neither a public key/);
    writeFileSync(join(out, "plain.html"), "<!doctype html><p>hello</p>");
    const p = await verifyFile("plain.html");
    assert.equal(p.code, 1);
    assert.match(p.stderr, /holds no Databook proof/);
  });
});
