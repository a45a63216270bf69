// Proves what scripts/setup.sh installs for `npm run dev` (no Chromium) and `npm test`, that it says so
// before it starts, and what it says when it cannot install: run on a copy of a fresh clone with PATH
// shaped so every tool looks missing, and stub installers that only record how they were called.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Not from support/worker.mjs: this test runs before npm packages are installed.
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const read = (f) => fs.readFileSync(path.join(REPO_ROOT, f), "utf8");
const lockVersion = (name) => read("Cargo.lock").match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`))[1];
const WORKER = lockVersion("worker");
const BINDGEN = lockVersion("wasm-bindgen");
const RUST_MIN = read("Cargo.toml").match(/^rust-version = "([^"]+)"/m)[1];
const SCRIPTS = JSON.parse(read("package.json")).scripts;

/** The arguments an npm script passes to scripts/setup.sh (its first command). */
function setupArgs(script) {
  const first = SCRIPTS[script].split("&&")[0].trim().split(/\s+/);
  assert.deepEqual(first.slice(0, 2), ["sh", "scripts/setup.sh"], `npm run ${script} starts with scripts/setup.sh`);
  return first.slice(2);
}

/** The real binary of a basic tool the script needs (awk, sed, ...), from the caller's PATH. */
function which(name) {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  throw new Error(`${name} is not on PATH`);
}

const roots = [];
after(() => { for (const r of roots) fs.rmSync(r, { recursive: true, force: true }); });

/**
 * A fresh clone's files and a bin directory holding only basic tools and the given stubs.
 * Every stub appends "name args" to calls.log; the installers' stubs (cargo, rustup, npm, apt-get) also
 * print "STUB name args", so the output shows when they ran.
 */
function sandbox({ uid = 0, apt = true, rust = "1.95.0", rustup = true, node = true, installed = false, chromium = false } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "setup-test-"));
  roots.push(root);
  const repo = path.join(root, "repo");
  const bin = path.join(root, "bin");
  const log = path.join(root, "calls.log");
  const sysroot = path.join(root, "sysroot");
  for (const d of [path.join(repo, "scripts"), bin, path.join(root, "home"), sysroot]) fs.mkdirSync(d, { recursive: true });
  for (const f of ["scripts/setup.sh", "Cargo.toml", "Cargo.lock", "package.json", "package-lock.json"]) {
    fs.copyFileSync(path.join(REPO_ROOT, f), path.join(repo, f));
  }
  for (const t of ["awk", "sed", "grep", "dirname", "date", "cat"]) fs.symlinkSync(which(t), path.join(bin, t));
  const stub = (name, body = null) => {
    fs.writeFileSync(path.join(bin, name),
      `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body ?? `echo "STUB ${name} $*"`}\n`, { mode: 0o755 });
  };
  stub("id", `echo ${uid}`);
  stub("uname", "echo Linux");
  stub("cargo");
  if (rust) stub("rustc", `case "$1" in --version) echo "rustc ${rust} (stub)";; --print) echo '${sysroot}';; esac`);
  if (rustup) stub("rustup");
  if (node) {
    fs.symlinkSync(process.execPath, path.join(bin, "node"));
    stub("npm");
  }
  if (apt) stub("apt-get");
  if (installed) {
    fs.mkdirSync(path.join(sysroot, "lib/rustlib/wasm32-unknown-unknown"), { recursive: true });
    stub("worker-build", `echo "worker-build ${WORKER}"`);
    stub("wasm-bindgen", `echo "wasm-bindgen ${BINDGEN}"`);
    stub("pkg-config", "exit 0");
    fs.mkdirSync(path.join(repo, "node_modules/miniflare"), { recursive: true });
    fs.writeFileSync(path.join(repo, "node_modules/.package-lock.json"), "{}");
    const past = new Date(Date.now() - 60_000);
    for (const f of ["package.json", "package-lock.json"]) fs.utimesSync(path.join(repo, f), past, past);
  }
  if (chromium) stub("chromium", "exit 0");
  const run = (args) => {
    const r = spawnSync("/bin/sh", [path.join(repo, "scripts/setup.sh"), ...args], {
      env: { PATH: bin, HOME: path.join(root, "home") },
      encoding: "utf8",
      timeout: 60_000,
    });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, output: `${r.stdout}\n${r.stderr}` };
  };
  return { run, repo };
}

/** The calls that install something (not the version queries). */
const installs = (calls) => calls.filter((c) => / (install|target add|ci)\b/.test(c) && !/^(rustc|worker-build|wasm-bindgen) /.test(c));

describe("npm run dev's setup on a fresh machine (root, Debian)", () => {
  let r;
  before(() => { r = sandbox().run(setupArgs("dev")); });

  test("installs what running needs: the wasm target, both cargo tools at Cargo.lock's versions, OpenSSL headers, npm packages", () => {
    assert.equal(r.status, 0, r.output);
    assert.deepEqual(installs(r.calls), [
      "apt-get install -y -qq pkg-config libssl-dev",
      "rustup target add wasm32-unknown-unknown",
      `cargo install --debug worker-build --version ${WORKER}`,
      `cargo install wasm-bindgen-cli --version ${BINDGEN}`,
      "npm ci --no-audit --no-fund",
    ]);
  });

  test("does not install Chromium, and says it is left to npm test", () => {
    assert.ok(!r.calls.some((c) => /chromium/i.test(c)), r.calls.join("\n"));
    assert.match(r.stdout, /not installing chromium: only the browser tests use it \(`npm test` installs it\)/);
  });

  test("prints what it installs and how long it takes before the first install starts", () => {
    const plan = r.stdout.indexOf("setup: installing what running the worker needs, about ");
    const firstInstall = r.stdout.indexOf("STUB ");
    assert.ok(plan >= 0 && firstInstall > plan, r.stdout);
    const planText = r.stdout.slice(plan, firstInstall);
    for (const what of [`worker-build ${WORKER}`, `wasm-bindgen-cli ${BINDGEN}`, "wasm32-unknown-unknown", "npm ci", "libssl-dev"]) {
      assert.ok(planText.includes(what), `the plan names ${what}:\n${planText}`);
    }
    assert.match(planText, /\(about \d+ min\)/);
  });
});

describe("npm test's setup", () => {
  test("also installs Chromium; a dry run says so and installs nothing", () => {
    const r = sandbox().run([...setupArgs("test"), "--dry-run"]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.stdout, /setup: installing what building and testing needs, about \d+ min/);
    assert.match(r.stdout, /chromium, for the browser tests: apt-get install/);
    assert.match(r.stdout, /dry run, nothing installed/);
    assert.deepEqual(installs(r.calls), []);
  });

  test("with everything installed, installs nothing", () => {
    const r = sandbox({ installed: true, chromium: true }).run(setupArgs("test"));
    assert.equal(r.status, 0, r.output);
    assert.match(r.stdout, /everything building and testing needs is installed/);
    assert.deepEqual(installs(r.calls), []);
  });
});

describe("npm packages", () => {
  test("an edited package.json alone (a script) does not reinstall them; a newer lock file does", () => {
    const box = sandbox({ installed: true });
    const now = new Date(Date.now() + 60_000); // surely after the install's marker file
    fs.utimesSync(path.join(box.repo, "package.json"), now, now);
    assert.deepEqual(installs(box.run(setupArgs("dev")).calls), []);
    fs.utimesSync(path.join(box.repo, "package-lock.json"), now, now);
    assert.deepEqual(installs(box.run(setupArgs("dev")).calls), ["npm ci --no-audit --no-fund"]);
  });
});

describe("when it cannot install system packages", () => {
  test("not root: names pkg-config, libssl-dev and chromium to install by hand, and stops before cargo install", () => {
    const r = sandbox({ uid: 1000 }).run(setupArgs("test"));
    assert.equal(r.status, 1, r.output);
    assert.match(r.stderr, /setup: not root, so no system package is installed\. Install these by hand, then run this again:\n\s+pkg-config libssl-dev chromium\n/);
    assert.match(r.stderr, /sudo apt-get install pkg-config libssl-dev chromium/);
    assert.match(r.stderr, /stopped before cargo install worker-build/);
    assert.deepEqual(installs(r.calls), []);
  });

  test("not Debian (no apt-get), run mode: only the OpenSSL packages, not chromium", () => {
    const r = sandbox({ apt: false }).run(setupArgs("dev"));
    assert.equal(r.status, 1, r.output);
    assert.match(r.stderr, /no apt-get \(not Debian or Ubuntu\), so no system package is installed\. Install these by hand, then run this again:\n\s+pkg-config libssl-dev\n/);
    assert.deepEqual(installs(r.calls), []);
  });

  test("not root, all else installed: npm test's setup fails naming chromium", () => {
    const r = sandbox({ uid: 1000, installed: true }).run(setupArgs("test"));
    assert.equal(r.status, 1, r.output);
    assert.match(r.stderr, /Install these by hand, then run this again:\n\s+chromium\n/);
    assert.match(r.stderr, /chromium is still missing \(see above\): the browser tests fail without it/);
  });
});

describe("Rust and Node are not installed by the script", () => {
  test("a Rust older than rust-version stops it with the fix, before installing anything", () => {
    const r = sandbox({ rust: "1.80.0" }).run(setupArgs("dev"));
    assert.equal(r.status, 1, r.output);
    assert.ok(r.stderr.includes(`Rust 1.80.0 is older than ${RUST_MIN} (rust-version in Cargo.toml): run \`rustup update stable\``), r.stderr);
    assert.deepEqual(installs(r.calls), []);
  });

  test("no Rust and no Node: says how to get them", () => {
    const r = sandbox({ rust: null, node: false }).run(setupArgs("dev"));
    assert.equal(r.status, 1, r.output);
    assert.ok(r.stderr.includes(`Rust ${RUST_MIN} or later is missing: install it with rustup (https://rustup.rs)`), r.stderr);
    assert.match(r.stderr, /Node 20 or later \(with npm\) is missing/);
  });
});

test("rust-version in Cargo.toml is what the dependencies need: the highest of theirs", () => {
  const r = spawnSync("cargo", ["metadata", "--format-version", "1", "--locked"], { cwd: REPO_ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const key = (v) => v.split(".").map(Number).concat(0, 0).slice(0, 3);
  const compare = (a, b) => {
    const [x, y] = [key(a), key(b)];
    const i = x.findIndex((n, j) => n !== y[j]);
    return i === -1 ? 0 : x[i] - y[i];
  };
  const needed = JSON.parse(r.stdout).packages
    .filter((p) => p.rust_version && p.name !== "auth0-license-sync")
    .reduce((max, p) => (compare(p.rust_version, max.v) > 0 ? { v: p.rust_version, by: `${p.name} ${p.version}` } : max), { v: "0", by: "" });
  assert.equal(compare(RUST_MIN, needed.v), 0, `Cargo.toml says ${RUST_MIN}; ${needed.by} needs ${needed.v}`);
});

test("the README states the Rust and Node versions the manifests require", () => {
  const readme = read("README.md");
  const nodeMin = JSON.parse(read("package.json")).engines.node.replace(/[^0-9.]/g, "");
  assert.ok(readme.includes(`Rust ${RUST_MIN} or later`), `README says "Rust ${RUST_MIN} or later"`);
  assert.ok(readme.includes(`Node ${nodeMin} or later`), `README says "Node ${nodeMin} or later"`);
});
