// Finds the Chromium the browser tests drive, the way scripts/setup.sh looks for it.

import fs from "node:fs";
import path from "node:path";

/**
 * `$CHROMIUM` if set, else `chromium` or `chromium-browser` on PATH. Throws, naming the fix, when there
 * is none: the browser tests then fail instead of being skipped.
 * @param {Record<string, string | undefined>} [env]
 * @returns {string}
 */
export function chromiumPath(env = process.env) {
  const executable = (p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (env.CHROMIUM) {
    if (executable(env.CHROMIUM)) return env.CHROMIUM;
    throw new Error(`CHROMIUM=${env.CHROMIUM} is not an executable file: point it at a Chromium or Chrome binary`);
  }
  for (const name of ["chromium", "chromium-browser"]) {
    for (const dir of (env.PATH ?? "").split(path.delimiter)) {
      if (dir && executable(path.join(dir, name))) return path.join(dir, name);
    }
  }
  throw new Error("Chromium is missing, so the browser tests cannot run: `npm run setup` installs it as root on "
    + "Debian (apt-get install chromium); elsewhere install Chromium and set CHROMIUM=/path/to/it");
}
