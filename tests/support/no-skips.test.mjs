// Proves that a test which did not run cannot pass unnoticed: `npm test` fails on a skipped test, and the
// workerd and browser tests fail, naming the fix, when the build or Chromium is missing.

import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumPath } from "./chromium.mjs";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const REPORTER = "./tests/support/no-skips.mjs";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "no-skips-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The node --test command of `npm test`, with its arguments, from package.json. */
function npmTestNodeArgs() {
  const script = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts.test;
  const cmd = script.split("&&").map((s) => s.trim()).find((s) => s.startsWith("node --test"));
  assert.ok(cmd, `npm test runs node --test: ${script}`);
  return cmd.split(/\s+/).slice(1);
}

/** Runs `npm test`'s node --test command, with its reporters, on one test file's text. */
function runNodeTest(name, source) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  const args = npmTestNodeArgs().filter((a) => !a.includes("*")); // the repository's own globs
  // Without the parent runner's marker, or the child would think it runs inside this test and run nothing.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, [...args, file], { cwd: REPO_ROOT, env, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe("npm test's node --test", () => {
  test("uses the no-skips reporter on every test file", () => {
    const args = npmTestNodeArgs();
    assert.ok(args.includes(`--test-reporter=${REPORTER}`), args.join(" "));
    assert.ok(args.includes("tests/*.test.mjs") && args.includes("tests/support/*.test.mjs"), args.join(" "));
  });

  test("fails when a suite or a test is skipped, naming each with its reason", () => {
    const r = runNodeTest("skips.test.mjs", `
import { test, describe } from "node:test";
describe("needs the build", { skip: "build/ is missing" }, () => { test("inner", () => {}); });
test("skips itself", (t) => { t.skip("no chromium"); });
test("runs", () => {});
`);
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /FAILED: 2 test\(s\) did not run/);
    assert.match(r.output, /skips\.test\.mjs: needs the build: build\/ is missing/);
    assert.match(r.output, /skips\.test\.mjs: skips itself: no chromium/);
  });

  test("passes when every test ran", () => {
    const r = runNodeTest("all-ran.test.mjs", `
import { test } from "node:test";
test("runs", () => {});
`);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /✔ runs/);
    assert.match(r.output, /ℹ pass 1\n/);
    assert.doesNotMatch(r.output, /did not run/);
  });
});

describe("missing prerequisites fail, they do not skip", () => {
  test("a workerd test without build/ fails with the reason", () => {
    const r = runNodeTest("needs-build.test.mjs", `
import { test } from "node:test";
import { requireBuiltWorker } from ${JSON.stringify(path.join(REPO_ROOT, "tests/support/worker.mjs"))};
requireBuiltWorker(${JSON.stringify(path.join(dir, "build/index.js"))});
test("uses the worker", () => {});
`);
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /build\/index\.js is missing, so the tests of the built worker cannot run: run `npm run build` first/);
    assert.match(r.output, /ℹ pass 0\n/);
  });

  test("workerBuilt, the older name, throws too rather than returning false", async () => {
    const { workerBuilt } = await import("./worker.mjs");
    assert.throws(() => workerBuilt(path.join(dir, "nothing.js")), /is missing, so the tests of the built worker cannot run/);
  });

  test("Chromium: $CHROMIUM, else chromium on PATH, else an error naming the fix", () => {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const fake = path.join(bin, "chromium-browser");
    fs.writeFileSync(fake, "#!/bin/sh\n", { mode: 0o755 });
    assert.equal(chromiumPath({ PATH: bin }), fake);
    assert.equal(chromiumPath({ CHROMIUM: fake, PATH: "" }), fake);
    assert.throws(() => chromiumPath({ CHROMIUM: path.join(bin, "none"), PATH: bin }), /is not an executable file/);
    assert.throws(() => chromiumPath({ PATH: path.join(dir, "empty") }),
      /Chromium is missing, so the browser tests cannot run: `npm run setup` installs it/);
  });
});
