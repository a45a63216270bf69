// Keeps the README's quick start, package.json and CI in step: the two quick-start commands exist and do
// what the README says, the public npm script names stay, and .ci/run runs the README's test command.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const read = (f) => fs.readFileSync(path.join(REPO_ROOT, f), "utf8");
const readme = read("README.md");
const scripts = JSON.parse(read("package.json")).scripts;
const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("\n## ", readme.indexOf("## Quick start") + 1));
const commands = (quickStart.match(/```sh\n([\s\S]*?)```/)?.[1] ?? "").split("\n")
  .map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);

test("the quick start is two commands: npm run dev and npm test", () => {
  assert.deepEqual(commands, ["npm run dev", "npm test"], quickStart);
});

test("npm run dev sets up for running only, then starts scripts/dev.mjs (its run is tests/dev.test.mjs)", () => {
  assert.equal(scripts.dev, "sh scripts/setup.sh --run && node scripts/dev.mjs");
});

test("npm test sets up, builds before any test of the built worker, and runs every test file", () => {
  const steps = scripts.test.split("&&").map((s) => s.trim());
  assert.equal(steps[0], "sh scripts/setup.sh");
  const build = steps.indexOf("npm run build");
  const nodeTest = steps.findIndex((s) => s.startsWith("node --test"));
  assert.ok(build > 0 && nodeTest > build, scripts.test);
  assert.ok(steps.includes("npm run lint") && steps.includes("cargo test"), scripts.test);
  assert.match(steps[nodeTest], / tests\/\*\.test\.mjs tests\/support\/\*\.test\.mjs$/);
});

test("the public npm script names are all still there", () => {
  for (const name of ["setup", "build", "dev", "start", "lint", "test", "bench", "deploy"]) {
    assert.ok(scripts[name], `npm run ${name} exists`);
  }
});

test(".ci/run runs the README's test command", () => {
  const lines = read(".ci/run").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  assert.equal(lines.at(-1), commands.at(-1));
});
