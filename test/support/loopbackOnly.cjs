// Preloaded (NODE_OPTIONS=--require) into every bot process the tests spawn: only loopback addresses are
// test targets on this machine. A connection to any other address fails at once, before a packet leaves
// (e.g. the Azure Monitor distro's unconditional probe of the Azure VM metadata address 169.254.169.254),
// and is reported on stderr so a test can see what was attempted.
const net = require("node:net");

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/i;
const original = net.Socket.prototype.connect;

net.Socket.prototype.connect = function connect(...args) {
  // net.connect() hands over its normalised arguments as one array: [options, callback].
  const list = Array.isArray(args[0]) ? args[0] : args;
  const first = list[0];
  const options = typeof first === "object" && first !== null ? first : null;
  const host = options ? (options.host ?? "localhost") : typeof list[1] === "string" ? list[1] : "localhost";
  const isPipe = options ? typeof options.path === "string" : typeof first === "string" && Number.isNaN(Number(first));
  if (!isPipe && !LOOPBACK.test(String(host))) {
    process.stderr.write(`loopbackOnly: blocked a connection to ${host}\n`);
    const error = Object.assign(new Error(`connect ECONNREFUSED ${host} (tests reach loopback only)`), {
      code: "ECONNREFUSED",
    });
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return original.apply(this, args);
};
