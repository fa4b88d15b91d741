import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { inCliWords, parseGetArgs, parseStep } from "../src/cli/get-args.ts";

const BIN = fileURLToPath(new URL("../bin/databook.js", import.meta.url));
const PLUGINS = fileURLToPath(new URL("../../../plugins", import.meta.url));

/** `databook …` as a child process; never rejects. */
const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 }).then(
    (r) => ({ status: 0, stdout: r.stdout, stderr: r.stderr }),
    (e) => ({ status: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );

describe("databook get arguments", () => {
  it("takes an input that starts with '-' as the input, before or after the flags", async () => {
    assert.deepEqual(await cli(["get", "echo", "-1 / 0", "--plugins", PLUGINS]), {
      status: 0,
      stdout: "-1 / 0\n",
      stderr: "",
    });
    assert.deepEqual(await cli(["get", "--plugins", PLUGINS, "echo", "-rate(x[5m])"]), {
      status: 0,
      stdout: "-rate(x[5m])\n",
      stderr: "",
    });
    // After --, even a word that looks like one of the flags is input.
    assert.equal((await cli(["get", "--plugins", PLUGINS, "echo", "--", "--verbose"])).stdout, "--verbose\n");
  });

  it("accepts --step as Prometheus does: seconds, decimal seconds, durations", async () => {
    for (const step of ["60", "0.5", "0.5s", "1m", "1m30s", "500ms"]) {
      const r = await cli(["get", "echo", "up", "--range", "1h", "--step", step, "--plugins", PLUGINS]);
      assert.deepEqual(r, { status: 0, stdout: "up\n", stderr: "" }, `--step ${step}`);
    }
    assert.equal(parseStep("60"), 60_000);
    assert.equal(parseStep("0.5"), 500);
    assert.equal(parseStep("1e1"), 10_000);
    assert.equal(parseStep("0.5s"), 500);
    assert.equal(parseStep("1.5m"), 90_000);
    assert.equal(parseStep("1h30m"), 5_400_000);
    assert.equal(parseStep("250ms"), 250);
  });

  it("refuses a step it cannot read, naming --step and the forms it takes", async () => {
    const r = await cli(["get", "echo", "up", "--range", "1h", "--step", "soon", "--plugins", PLUGINS]);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /^databook get: --step soon is not a step: give seconds \(60, 0\.5\) or a duration \(30s, 0\.5s, 1m, 1h30m, 500ms\)\n/,
    );
    assert.throws(() => parseStep("30m1h"), { kind: "bad-input", message: /--step 30m1h is not a step/ });
    assert.throws(() => parseStep("0.0001"), { kind: "bad-input", message: /--step 0\.0001 is below 1 ms/ });
    const noRange = await cli(["get", "echo", "up", "--step", "1m", "--plugins", PLUGINS]);
    assert.equal(noRange.status, 2);
    assert.match(noRange.stderr, /^databook get: --step needs a time range; add --range 1h or --start\/--end\n/);
  });

  it("names the flags the user typed in plugin errors and warnings", async () => {
    const bad = await cli(["get", "echo", "hi", "--option", "repeat=many", "--plugins", PLUGINS]);
    assert.equal(bad.status, 1);
    assert.equal(
      bad.stderr,
      "databook get: Bad input: --option repeat=many is not valid: use a whole number from 1 to 100\n",
    );
    const warned = await cli(["get", "echo", "hi", "--option", "colour=red", "--plugins", PLUGINS]);
    assert.deepEqual(warned, { status: 0, stdout: "hi\n", stderr: "warning: echo ignores --option colour\n" });
    assert.equal(
      inCliWords("@time sets the time of an instant query; remove it or use @type=instant"),
      "--option time sets the time of an instant query; remove it or use --option type=instant",
    );
    assert.equal(
      inCliWords("a range of 1d at @step=1s gives 86,401 points. Increase @step to at least 10s, or set @range=1h"),
      "a range of 1d at --step 1s gives 86,401 points. Increase --step to at least 10s, or set --range 1h",
    );
    assert.equal(inCliWords("@plugin=nope is unknown"), "the <plugin> argument (nope) is unknown");
    // An @ inside a word is not a cell key.
    assert.equal(
      inCliWords("login as ops@example.com at https://u@host/"),
      "login as ops@example.com at https://u@host/",
    );
  });

  it("says which flag is unknown and how to pass an input that looks like one", async () => {
    const r = await cli(["get", "echo", "--colour", "red", "--plugins", PLUGINS]);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /^databook get: unknown flag --colour \(flags: --option, --range, .*\); to pass an input that looks like a flag, put it after --, as in: databook get <plugin> -- --colour\n/,
    );
    assert.throws(() => parseGetArgs(["echo", "x", "--range"]), {
      kind: "bad-input",
      message: /--range needs a value/,
    });
    assert.throws(() => parseGetArgs(["echo", "x", "--verbose=yes"]), {
      kind: "bad-input",
      message: /--verbose takes no value/,
    });
    assert.deepEqual(parseGetArgs(["-o", "a=1", "echo", "--start", "-1h", "-v", "x", "--option=b=2"]), {
      values: { option: ["a=1", "b=2"], start: "-1h", verbose: true },
      positionals: ["echo", "x"],
    });
  });
});
