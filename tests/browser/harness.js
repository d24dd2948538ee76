// Shared by the browser test pages. The test serves `window.P` (the page's parameters) at
// /params.js; a page calls run(main) and whatever main() resolves to is POSTed as JSON to
// /result, which is what the test waits for. log(), console output and uncaught errors go
// to /log; the test prints them when a check fails.
(function () {
  const post = (path, body) =>
    fetch(path, { method: "POST", body, keepalive: true }).catch(() => {});
  const text = (a) => {
    if (typeof a === "string") return a;
    if (a instanceof Error) return a.stack || String(a);
    try {
      return JSON.stringify(a);
    } catch (_) {
      return String(a);
    }
  };
  window.log = (...args) => post("/log", args.map(text).join(" "));
  for (const level of ["log", "info", "warn", "error"]) {
    const original = console[level].bind(console);
    console[level] = (...args) => {
      original(...args);
      window.log("console." + level + ":", ...args);
    };
  }
  window.addEventListener("error", (e) =>
    window.log("uncaught:", e.message, (e.filename || "") + ":" + (e.lineno || 0)),
  );
  window.addEventListener("unhandledrejection", (e) =>
    window.log("unhandled rejection:", text(e.reason)),
  );

  // Resolves with `promise`, or rejects naming `what` after `ms`.
  window.within = (ms, what, promise) =>
    Promise.race([
      promise,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("timed out after " + ms + " ms: " + what)), ms),
      ),
    ]);

  // The first `name` event of `target` (its error event rejects).
  window.once = (target, name) =>
    new Promise((resolve, reject) => {
      target.addEventListener(name, resolve, { once: true });
      if (name !== "error") {
        target.addEventListener(
          "error",
          () => reject(new Error("error event while waiting for " + name)),
          { once: true },
        );
      }
    });

  // Deterministic bytes: xorshift32 from `seed`, the low byte of each step. The test makes
  // the same bytes in Rust to know the SHA-256 the stored object must have.
  window.seededBytes = (seed, n) => {
    let x = seed >>> 0 || 1;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      out[i] = x & 0xff;
    }
    return out;
  };

  window.sha256hex = async (bytes) => {
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
  };

  window.run = (main) => {
    const done = (result) => post("/result", JSON.stringify(result));
    Promise.resolve()
      .then(main)
      .then(done, (e) => done({ fatal: text(e) }));
  };
})();
