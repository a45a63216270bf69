// Proves the deployment settings wrangler.toml shows commented out for Cloudflare Access (no *.workers.dev
// hostname, no preview URLs, a custom domain) are ones wrangler accepts and reads as meant.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const toml = fs.readFileSync(path.join(REPO_ROOT, "wrangler.toml"), "utf8");
const ACCESS_LINES = /^# (workers_dev|preview_urls|routes) = .*$/gm;

test("wrangler.toml shows the Access settings commented out, so a plain deploy keeps *.workers.dev", () => {
  const lines = toml.match(ACCESS_LINES) ?? [];
  assert.deepEqual(lines.map((l) => l.split(" ")[1]), ["workers_dev", "preview_urls", "routes"], toml);
  assert.doesNotMatch(toml, /^(workers_dev|preview_urls|routes)\s*=/m, "not active by default");
});

test("uncommented, wrangler reads them without a warning: no workers.dev, no previews, one custom domain", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wrangler-access-"));
  try {
    const config = path.join(dir, "wrangler.toml");
    fs.writeFileSync(config, toml.replace(ACCESS_LINES, (line) => line.slice(2)));
    const read = `
      import { unstable_readConfig } from "wrangler";
      const c = unstable_readConfig({ config: ${JSON.stringify(config)} });
      console.log("CONFIG " + JSON.stringify({ workers_dev: c.workers_dev, preview_urls: c.preview_urls, routes: c.routes }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", read], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const output = `${r.stdout}\n${r.stderr}`;
    assert.doesNotMatch(output, /Unexpected fields|Processing .* configuration:|\[WARNING\]/, output);
    const parsed = JSON.parse(r.stdout.match(/^CONFIG (.*)$/m)[1]);
    assert.equal(parsed.workers_dev, false);
    assert.equal(parsed.preview_urls, false);
    assert.equal(parsed.routes.length, 1);
    assert.equal(parsed.routes[0].custom_domain, true);
    assert.ok(parsed.routes[0].pattern && !parsed.routes[0].pattern.includes("workers.dev"), JSON.stringify(parsed.routes));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the README's deploy section says to turn off workers.dev behind Access", () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const deploy = readme.slice(readme.indexOf("## Deploy"), readme.indexOf("## Configuration"));
  assert.match(deploy, /workers_dev = false/);
  assert.match(deploy, /\*\.workers\.dev/);
});
