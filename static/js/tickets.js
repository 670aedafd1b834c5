// Signed proofs the server gives a page, presented if it ever loses its live
// state (docs/protocol.md, "Queue tickets" and "Call tickets"). Kept per tab,
// in sessionStorage, so a reload keeps them and closing the tab drops them.

/** One ticket kept under `name`: keep(value), held() → value or null, drop(). */
export function storedTicket(name) {
  return {
    keep(value) {
      if (!value) return;
      try {
        sessionStorage.setItem(name, value);
      } catch {
        // Storage turned off: the place is then only as safe as the server's state.
      }
    },
    held() {
      try {
        return sessionStorage.getItem(name);
      } catch {
        return null;
      }
    },
    drop() {
      try {
        sessionStorage.removeItem(name);
      } catch {
        // Nothing was kept.
      }
    },
  };
}
