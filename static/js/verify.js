// The call's verification code, as branch/verification.py derives it: four
// words from the SHA-256 of the two DTLS certificate fingerprints of the
// connection this browser actually established (sorted, so both ends agree).

const DOMAIN = new TextEncoder().encode("branch-verification-v1");
let wordList = null;

function words() {
  wordList ??= fetch("/static/words/es.txt")
    .then((response) => {
      if (!response.ok) throw new Error(`word list: HTTP ${response.status}`);
      return response.text();
    })
    .then((text) => text.split(/\s+/).filter(Boolean));
  return wordList;
}

const normalize = (fingerprint) => fingerprint.replaceAll(":", "").trim().toUpperCase();

function bytesOf(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** [local, remote] fingerprints of the selected DTLS transport, or null before it is up. */
export async function fingerprints(pc) {
  const stats = await pc.getStats();
  let found = null;
  stats.forEach((report) => {
    if (report.type !== "transport" || report.dtlsState !== "connected") return;
    const local = stats.get(report.localCertificateId);
    const remote = stats.get(report.remoteCertificateId);
    if (local?.fingerprint && remote?.fingerprint) found = [local.fingerprint, remote.fingerprint];
  });
  return found;
}

export async function verificationCode(localFingerprint, remoteFingerprint) {
  const [first, second] = [normalize(localFingerprint), normalize(remoteFingerprint)].sort();
  const data = new Uint8Array([...DOMAIN, ...bytesOf(first), ...bytesOf(second)]);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  // The first 40 bits as four 10-bit indices (BigInt: 40 bits exceed 32-bit shifts).
  let bits = 0n;
  for (const byte of digest.slice(0, 5)) bits = (bits << 8n) | BigInt(byte);
  const list = await words();
  const chosen = [];
  for (let position = 3; position >= 0; position -= 1) {
    chosen.push(list[Number((bits >> BigInt(10 * position)) & 1023n)]);
  }
  return chosen.join(" ");
}

/** The code of this call's connection, or null while DTLS is not established. */
export async function codeOf(pc) {
  const pair = await fingerprints(pc);
  return pair ? verificationCode(pair[0], pair[1]) : null;
}
