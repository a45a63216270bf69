// A `node --test` reporter that fails the run when a test or suite was skipped, naming each with its
// reason: a test that did not run must not pass for one that did (`npm test` uses it).

/** "name: reason" for each skipped test or suite among the runner's events. */
export function skippedTests(events) {
  return events
    .filter((ev) => (ev.type === "test:pass" || ev.type === "test:fail") && ev.data.skip !== undefined)
    .map((ev) => `${ev.data.file ? `${ev.data.file}: ` : ""}${ev.data.name}: ${ev.data.skip === true ? "skipped" : ev.data.skip}`);
}

export default async function* noSkips(source) {
  const events = [];
  for await (const ev of source) {
    if (ev.type === "test:pass" || ev.type === "test:fail") events.push(ev);
  }
  const skipped = skippedTests(events);
  if (skipped.length) {
    // The runner only ever sets a failing exit code, so this one stands.
    process.exitCode = 1;
    yield `\nFAILED: ${skipped.length} test(s) did not run, and a test that did not run fails the run:\n${skipped.map((s) => `  - ${s}\n`).join("")}`;
  }
}
