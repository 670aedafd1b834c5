// The PeerJS signaling server as the benchmarks run it: loopback, the port
// given, no connection cap below the benchmark's own counts.
const { PeerServer } = require("peer");

const port = Number(process.argv[2]);
const limit = Number(process.argv[3] || 20000);
PeerServer({ host: "127.0.0.1", port, path: "/", concurrent_limit: limit }, () => {
  console.log(`peerjs listening on ${port}`);
});
